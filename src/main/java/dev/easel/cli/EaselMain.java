package dev.easel.cli;

import io.quarkus.runtime.annotations.QuarkusMain;
import picocli.CommandLine;

/**
 * The jar's entry point: {@code serve} (the default) boots the Quarkus worker; {@code generate}
 * and {@code tokenize} run the engine directly, without starting the HTTP server or messaging.
 */
@QuarkusMain
public final class EaselMain {

    private EaselMain() {
    }

    public static void main(String... args) {
        String[] effective = args.length == 0 ? new String[] {ServeCommand.NAME} : args;
        int exit = commandLine().execute(effective);
        if (!(effective[0].equals(ServeCommand.NAME) && exit == 0)) {
            System.exit(exit);
        }
    }

    /** The command tree, also used by tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new EaselCommand())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(new ErrorHandler());
    }
}
