package dev.easel.cli;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/** Entry point placeholder; replaced by the command dispatcher. */
@QuarkusMain
public final class EaselMain {
    public static void main(String... args) {
        Quarkus.run(args);
    }
}
