package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.JobStatus;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a redelivered failure is answered again: dead-lettered again or not, as its status object says. */
class JobAnswersTest {

    private static JobStatus failed(String reason) {
        return new JobStatus(JobStatus.FAILED, reason, null, false, "2026-12-07T00:00:00Z", null);
    }

    @Test
    void theStatusObjectsFlagDecides() {
        assertThat(JobAnswers.deadLettered(Map.of(JobAnswers.DEAD_LETTERED, "false"), failed("storage refused the job")))
                .isFalse();
        assertThat(JobAnswers.deadLettered(Map.of(JobAnswers.DEAD_LETTERED, "true"),
                failed(JobRunner.DEADLINE_PASSED + "2026-12-07T00:00:00Z came before the job could start"))).isTrue();
    }

    /** Written by a version before the flag: every failure but a passed deadline was dead-lettered. */
    @Test
    void withoutTheFlagAPassedDeadlineIsTheOnlyFailureNotDeadLettered() {
        assertThat(JobAnswers.deadLettered(Map.of(), failed("storage refused the job"))).isTrue();
        assertThat(JobAnswers.deadLettered(Map.of(), failed(null))).isTrue();
        assertThat(JobAnswers.deadLettered(Map.of(),
                failed(JobRunner.DEADLINE_PASSED + "2026-12-07T00:00:00Z came before the job could start"))).isFalse();
    }
}
