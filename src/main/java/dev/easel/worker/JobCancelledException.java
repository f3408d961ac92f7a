package dev.easel.worker;

import dev.easel.engine.pipeline.GenerationCancelledException;

/** A running job was cancelled by its submitter; thrown between denoising steps. */
final class JobCancelledException extends GenerationCancelledException {

    JobCancelledException(String reason) {
        super(reason);
    }
}
