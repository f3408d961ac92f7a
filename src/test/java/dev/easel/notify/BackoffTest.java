package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private static final Duration INITIAL = Duration.ofMillis(250);
    private static final Duration MAX = Duration.ofSeconds(30);

    @Test
    void capIsInitialTimesTwoToTheNUpToTheMax() {
        Backoff backoff = new Backoff(INITIAL, MAX, new Random(1));

        assertThat(backoff.cap(0)).isEqualTo(Duration.ofMillis(250));
        assertThat(backoff.cap(1)).isEqualTo(Duration.ofMillis(500));
        assertThat(backoff.cap(6)).isEqualTo(Duration.ofMillis(16_000));
        assertThat(backoff.cap(7)).isEqualTo(MAX);
        for (int n = 0; n < 200; n++) {
            BigInteger exponential = BigInteger.valueOf(INITIAL.toNanos()).shiftLeft(n);
            long expected = exponential.min(BigInteger.valueOf(MAX.toNanos())).longValueExact();
            assertThat(backoff.cap(n).toNanos()).as("retry %d", n).isEqualTo(expected);
        }
    }

    @Test
    void fullJitterStaysWithinZeroAndTheCap() {
        Backoff backoff = new Backoff(INITIAL, MAX, new Random(42));
        for (int n = 0; n < 70; n++) {
            long cap = backoff.cap(n).toNanos();
            long smallest = Long.MAX_VALUE;
            long largest = 0;
            for (int sample = 0; sample < 500; sample++) {
                long delay = backoff.delay(n).toNanos();
                assertThat(delay).as("retry %d", n).isBetween(0L, cap);
                smallest = Math.min(smallest, delay);
                largest = Math.max(largest, delay);
            }
            // Full jitter spreads over the whole range, not just near the cap.
            assertThat(smallest).as("retry %d", n).isLessThan(cap / 10);
            assertThat(largest).as("retry %d", n).isGreaterThan(cap - cap / 10);
        }
    }

    @Test
    void equalInitialAndMaxGiveAConstantCap() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), new Random(3));

        assertThat(backoff.cap(0)).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.cap(100)).isEqualTo(Duration.ofSeconds(1));
    }
}
