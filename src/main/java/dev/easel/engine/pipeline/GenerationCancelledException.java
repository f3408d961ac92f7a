package dev.easel.engine.pipeline;

/** Generation stopped between two steps because its job was cancelled or ran past its deadline. */
public class GenerationCancelledException extends RuntimeException {

    public GenerationCancelledException(String reason) {
        super(reason);
    }
}
