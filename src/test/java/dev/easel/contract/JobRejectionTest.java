package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** A rejection stays small whatever the job held: its failed event and dead letter must fit the broker. */
class JobRejectionTest {

    @Test
    void longTextsAreShortenedOnceWithAnEllipsis() {
        Violation violation = new Violation("f".repeat(50_000), "p".repeat(5000), "l".repeat(5000));

        assertThat(violation.field()).hasSize(Violation.MAX_FIELD).endsWith("…");
        assertThat(violation.problem()).hasSize(Violation.MAX_TEXT).endsWith("…");
        assertThat(violation.limit()).hasSize(Violation.MAX_TEXT).endsWith("…");
        assertThat(new Violation(violation.field(), violation.problem(), violation.limit())).isEqualTo(violation);
        assertThat(new Violation("width", "must be a multiple of 8, got 100", "multiple of 8").toString())
                .isEqualTo("width: must be a multiple of 8, got 100 (limit: multiple of 8)");
    }

    @Test
    void moreThanFiftyViolationsAreCountedNotListed() {
        List<Violation> many = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            many.add(new Violation("f" + i, "is not allowed", "known fields"));
        }

        JobRejection rejection = new JobRejection(java.util.Optional.empty(), many);

        assertThat(rejection.violations()).hasSize(JobRejection.MAX_VIOLATIONS + 1);
        assertThat(rejection.violations().get(49).field()).isEqualTo("f49");
        assertThat(rejection.violations().get(50))
                .isEqualTo(new Violation("$", "has 70 more violations, not listed", "50 listed"));
    }

    @Test
    void aJobOfHugeUnknownFieldsIsRejectedInAFewKilobytes() throws Exception {
        // 20 unknown members with names of 49 000 characters: about 1 MB, under the broker's record limit.
        String members = IntStream.range(0, 20).mapToObj(i -> "'" + (char) ('a' + i) + "x".repeat(49_000) + "': 1")
                .collect(Collectors.joining(", "));
        JobRejection rejection = JobParserTest.reject(JobParserTest.PARSER, JobParserTest.job(members));

        byte[] json = new ObjectMapper().registerModule(new Jdk8Module()).writeValueAsBytes(rejection);
        assertThat(rejection.violations()).isNotEmpty();
        assertThat(json.length).isLessThan(20 * (Violation.MAX_FIELD + 2 * Violation.MAX_TEXT) + 1024);
        assertThat(rejection.summary().length()).isLessThan(64 * 1024);
    }
}
