package dev.easel.cli;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** Boots the Quarkus application (HTTP and messaging) and runs until stopped. */
@Command(name = ServeCommand.NAME, description = "Run the worker (the default command).")
@RegisterForReflection
public final class ServeCommand implements Callable<Integer> {

    static final String NAME = "serve";

    /** Passed through to Quarkus (for example -Dquarkus.http.port=9000 style arguments). */
    @Unmatched
    List<String> quarkusArgs = new ArrayList<>();

    @Override
    public Integer call() {
        Quarkus.run(quarkusArgs.toArray(String[]::new));
        return 0;
    }
}
