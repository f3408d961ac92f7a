package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProgressThrottleTest {

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @Test
    void atMostTheRatePerJob() {
        ProgressThrottle throttle = new ProgressThrottle(2, clock);

        assertThat(throttle.admit("a", 1, 30)).isTrue();
        clock.advance(Duration.ofMillis(200));
        assertThat(throttle.admit("a", 2, 30)).isFalse();
        assertThat(throttle.admit("b", 1, 30)).as("other jobs have their own budget").isTrue();
        clock.advance(Duration.ofMillis(300)); // 500 ms after the last one sent
        assertThat(throttle.admit("a", 3, 30)).isTrue();
        clock.advance(Duration.ofMillis(499));
        assertThat(throttle.admit("a", 4, 30)).isFalse();
    }

    @Test
    void finalStepAlwaysPassesAndEndsTheJobsState() {
        ProgressThrottle throttle = new ProgressThrottle(1, clock);

        assertThat(throttle.admit("a", 29, 30)).isTrue();
        assertThat(throttle.admit("a", 30, 30)).isTrue();
        assertThat(throttle.tracked()).isZero();
    }

    @Test
    void forgetDropsState() {
        ProgressThrottle throttle = new ProgressThrottle(1, clock);
        throttle.admit("a", 1, 30);

        throttle.forget("a");

        assertThat(throttle.tracked()).isZero();
        assertThat(throttle.admit("a", 2, 30)).isTrue();
    }

    @Test
    void rateMustBePositive() {
        assertThatThrownBy(() -> new ProgressThrottle(0, clock))
                .hasMessageContaining("easel.events.progress-per-second");
    }
}
