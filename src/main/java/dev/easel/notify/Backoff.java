package dev.easel.notify;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter: the wait before retry {@code n} (0 for the first retry) is
 * uniform in {@code [0, min(max, initial·2^n)]}, so many workers retrying against one receiver
 * spread out instead of arriving together.
 */
public final class Backoff {

    private final long initialNanos;
    private final long maxNanos;
    private final RandomGenerator random;

    public Backoff(Duration initial, Duration max, RandomGenerator random) {
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.random = random;
    }

    /** The upper bound of the wait before retry {@code n}: {@code min(max, initial·2^n)}. */
    Duration cap(int retry) {
        // initial·2^n > max exactly when initial > max/2^n (rounded down); testing it this way
        // never computes an overflowing product.
        boolean capped = retry >= 63 || initialNanos > (maxNanos >> retry);
        return Duration.ofNanos(capped ? maxNanos : initialNanos << retry);
    }

    /** A random wait before retry {@code n}, within {@code [0, cap(n)]}. */
    public Duration delay(int retry) {
        return Duration.ofNanos(random.nextLong(cap(retry).toNanos() + 1));
    }
}
