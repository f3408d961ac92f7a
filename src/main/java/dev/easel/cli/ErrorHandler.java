package dev.easel.cli;

import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.image.ImageException;
import dev.easel.engine.pipeline.InvalidRequestException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns the engine's expected failures into one clear line and an exit code (2: bad request or
 * input, 3: broken model bundle); anything else keeps its stack trace.
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
        throw e;
    }
}
