package dev.easel.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.Job;
import dev.easel.contract.JobLimits;
import dev.easel.contract.JobParser;
import dev.easel.contract.Validated;
import org.junit.jupiter.api.Test;

/** The chaos jobs are valid job-v1 documents, the rewritten specs' extras included. */
class JobSpecTest {

    @Test
    void everyConcurrencySpecIsAValidJobAndTheRewrittenOnesCarryTheirExtras() {
        JobParser parser = new JobParser(JobLimits.defaults());
        int rewritten = 0;
        for (JobSpec spec : ConcurrencyScenario.specs(Settings.full(null, null, Settings.ALL, 1, java.util.Map.of()))) {
            Validated<Job> parsed = parser.parse(spec.bytes("chaos-1"));
            assertThat(parsed).as(spec.toString()).isInstanceOf(Validated.Valid.class);
            Job job = ((Validated.Valid<Job>) parsed).value();
            if (!spec.extra().isEmpty()) {
                rewritten++;
                assertThat(job.rewrite()).as(spec.toString()).isPresent();
                assertThat(job.previews()).as(spec.toString()).isPresent();
            }
        }
        assertThat(rewritten).isEqualTo(2);
    }
}
