package dev.easel.worker;

import dev.easel.config.WorkerConfig;
import dev.easel.engine.pipeline.PreviewOptions;
import java.util.Optional;

/**
 * What the worker grants a job's {@code previews} ({@code easel.worker.previews.*}): none when off,
 * no more often than every {@code minEvery} steps, no bigger than {@code maxSide}; a PNG over
 * {@code maxBytes} is dropped.
 */
record PreviewCaps(boolean enabled, int minEvery, int maxSide, int maxBytes) {

    static final PreviewCaps DEFAULT = new PreviewCaps(true, 2, PreviewOptions.DEFAULT_MAX_SIDE, 65536);

    PreviewCaps {
        if (minEvery < 1) {
            throw new IllegalArgumentException("easel.worker.previews.min-every must be at least 1, got " + minEvery);
        }
        if (maxSide < 8 || maxSide > PreviewOptions.MAX_SIDE) {
            throw new IllegalArgumentException("easel.worker.previews.max-side must be 8.." + PreviewOptions.MAX_SIDE
                    + ", got " + maxSide);
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("easel.worker.previews.max-bytes must be at least 1, got " + maxBytes);
        }
    }

    static PreviewCaps of(WorkerConfig.Previews config) {
        return new PreviewCaps(config.enabled(), config.minEvery(), config.maxSide(), config.maxBytes());
    }

    /** The previews a job gets for the ones it asked for. */
    Optional<PreviewOptions> apply(Optional<PreviewOptions> asked) {
        if (!enabled || asked.isEmpty()) {
            return Optional.empty();
        }
        PreviewOptions p = asked.get();
        return Optional.of(new PreviewOptions(Math.max(p.every(), minEvery), p.mode(), maxSide));
    }
}
