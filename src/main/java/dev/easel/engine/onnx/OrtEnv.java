package dev.easel.engine.onnx;

import ai.onnxruntime.OrtEnvironment;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * ONNX Runtime's environment, one per process. Making it loads the native library (about 28 MB,
 * a few hundred milliseconds on a cold JVM: docs/benchmarks.md, "Scale from zero"), so a process
 * that will run models {@link #preload}s it on a thread of its own while it does the rest of its
 * start-up; {@link #get} then waits for that load, and fails with its error if it failed.
 */
public final class OrtEnv {

    private static final System.Logger LOG = System.getLogger(OrtEnv.class.getName());

    /**
     * ONNX Runtime 1.29 crashes the JVM (SIGSEGV, no error file) while it makes its environment when
     * the process's command line is longer than about 3,980 bytes (measured on Linux, JDK 17 and 25;
     * a long -cp or -D does it, an @argfile or CLASSPATH does not). Above this a warning names it first.
     */
    static final int LONG_COMMAND_LINE = 3_900;

    private static final Preload<OrtEnvironment> ENVIRONMENT = new Preload<>(() -> {
        commandLineWarning(commandLineBytes()).ifPresent(warning -> LOG.log(Level.WARNING, warning));
        return OrtEnvironment.getEnvironment();
    }, "easel-onnx-load");

    private OrtEnv() {
    }

    /** Starts loading the environment in the background, unless it is loaded or loading already. */
    public static void preload() {
        ENVIRONMENT.start();
    }

    /** The environment, loaded now unless {@link #preload} started it. */
    public static OrtEnvironment get() {
        return ENVIRONMENT.get();
    }

    /** The warning for a command line of this many bytes, if it is long enough to crash ONNX Runtime. */
    static Optional<String> commandLineWarning(long bytes) {
        return bytes < LONG_COMMAND_LINE ? Optional.empty() : Optional.of("the java command line is " + bytes
                + " bytes long: ONNX Runtime 1.29 crashes the JVM while loading at about 3,980; pass a long class"
                + " path in an @argfile or the CLASSPATH variable instead");
    }

    /** /proc/self/cmdline's length (Linux: /proc reports no size, so it is read); 0 where there is none. */
    private static long commandLineBytes() {
        try {
            return Files.readAllBytes(Path.of("/proc/self/cmdline")).length;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
