package dev.easel.cli;

import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.image.ImageException;
import dev.easel.engine.pipeline.InvalidRequestException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns the engine's expected failures into one clear line and an exit code (2: bad request or
 * input, a file that cannot be read or written among them; 3: broken model bundle); anything
 * else keeps its stack trace.
 */
final class ErrorHandler implements IExecutionExceptionHandler {

    static final int BAD_INPUT = 2;
    static final int BAD_BUNDLE = 3;

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) throws Exception {
        if (e instanceof InvalidRequestException || e instanceof ImageException) {
            cmd.getErr().println("error: " + e.getMessage());
            return BAD_INPUT;
        }
        if (e instanceof BundleException) {
            cmd.getErr().println("error: broken model bundle: " + e.getMessage());
            return BAD_BUNDLE;
        }
        if (e instanceof java.io.IOException io) {
            // A file the user named (--latents-in, --out, …) that cannot be read or written.
            cmd.getErr().println("error: " + describe(io));
            return BAD_INPUT;
        }
        throw e;
    }

    /** NIO's file exceptions carry only the path as their message: say what happened to it. */
    static String describe(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file: " + e.getMessage();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied: " + e.getMessage();
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getFile() + ": " + fs.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
