package dev.easel.engine.bundle;

import java.nio.file.Path;

/**
 * A model bundle (or one of its files) is missing, malformed or does not match the contract Easel
 * expects. The message always names the file and, for tensors, the tensor and what was expected.
 */
public class BundleException extends RuntimeException {

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A problem in one file: the message starts with the file's path. */
    public static BundleException inFile(Path file, String problem) {
        return new BundleException(file + ": " + problem);
    }

    public static BundleException inFile(Path file, String problem, Throwable cause) {
        return new BundleException(file + ": " + problem, cause);
    }
}
