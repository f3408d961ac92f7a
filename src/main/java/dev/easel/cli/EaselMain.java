package dev.easel.cli;

import dev.easel.engine.onnx.OrtEnv;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.util.Set;
import picocli.CommandLine;

/**
 * The jar's entry point: {@code serve} (the default) boots the Quarkus worker; {@code generate}
 * and {@code tokenize} run the engine directly, without starting the HTTP server or messaging.
 */
@QuarkusMain
public final class EaselMain {

    /** The commands that open models. */
    private static final Set<String> RUNS_MODELS = Set.of(ServeCommand.NAME, GenerateCommand.NAME);

    private EaselMain() {
    }

    public static void main(String... args) {
        String[] effective = args.length == 0 ? new String[] {ServeCommand.NAME} : args;
        if (RUNS_MODELS.contains(effective[0])) {
            // ONNX Runtime's native library loads while picocli, Quarkus and the bundle's configs do.
            OrtEnv.preload();
        }
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
