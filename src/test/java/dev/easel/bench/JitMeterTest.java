package dev.easel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JitMeterTest {

    @Test
    void readsUserAndSystemTicksAfterTheCommandName() {
        // A thread name with a space and a parenthesis, as the kernel writes it (proc(5) fields 1–17).
        String stat = "4242 (C2 CompilerThre) S 4200 4200 4200 0 -1 1077936192 120 0 0 0 1234 56 0 0 20";

        assertThat(JitMeter.cpuTicks(stat)).isEqualTo(1234 + 56);
        assertThat(JitMeter.cpuTicks("7 (odd) name)) R 1 1 1 0 -1 0 0 0 0 0 3 4 0 0 20")).isEqualTo(7);
    }

    @Test
    void seesThisJvmsCompilersWhereProcIsThere() {
        Optional<JitMeter> meter = JitMeter.of(ProcessHandle.current().pid());
        assumeTrue(meter.isPresent(), "no /proc: not Linux");

        // HotSpot keeps at least one compiler thread alive, whatever the tiered settings.
        assertThat(meter.get().snapshot()).isNotEmpty().allSatisfy((tid, ticks) -> assertThat(ticks).isNotNegative());
    }

    @Test
    void countsThreadsByIdSoOneThatEndsDoesNotCancelAnother() {
        Map<String, Long> before = Map.of("11", 500L, "12", 40L);
        Map<String, Long> after = Map.of("12", 70L, "13", 5L); // 11 ended, 13 started

        assertThat(JitMeter.cpuNanosBetween(before, after)).isEqualTo((30 + 5) * 10_000_000L);
    }
}
