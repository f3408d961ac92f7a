package dev.easel.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of {@link JobParser} with Jazzer (docs/security.md "Fuzzing"): whatever
 * the bytes, {@code parse} returns {@link Validated.Valid} or {@link Validated.Invalid} with at
 * least one fully described violation, and never throws. An accepted job survives the trip through
 * {@link JobParser#toJson} (what the HTTP API forwards to Kafka) unchanged.
 *
 * <p>Two parsers: the plain {@code new JobParser(JobLimits.defaults())} (with a fixed clock and id,
 * so that findings replay), and one that also counts tokens and knows the model has CLIP, which
 * turns on the rules that depend on the model.
 *
 * <p>Regression inputs (run by every {@code mvn test}): src/test/resources/dev/easel/contract/
 * JobParserFuzzTestInputs/parse/.
 */
class JobParserFuzzTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2029-06-01T00:00:00Z"), ZoneOffset.UTC);
    private static final JobParser PLAIN = new JobParser(JobLimits.defaults())
            .withClock(CLOCK).withIdGenerator(() -> "generated-id");
    private static final JobParser WITH_MODEL = PLAIN
            .withTokenCounter(prompt -> (prompt.length() + 3) / 4)
            .withParts(new ModelParts(true, true, true))
            // Chunks as BREAKs make them; a weight past the bound, or NaN, for some texts.
            .withChunking(new PromptChunking(text -> new PromptChunking.Chunked(text.split("BREAK", -1).length,
                    text.length() / 4, text.length() % 7 == 0 ? Float.NaN : text.length() % 5 == 0 ? 150f : 1f),
                    n -> n <= 2))
            .withDefaults(new dev.easel.engine.pipeline.ModelDefaults(1024, 1024, 30, 7.5f));
    /** A model that lacks every optional graph: the refusals of fields that need them. */
    private static final JobParser BARE_MODEL = PLAIN.withParts(new ModelParts(false, false, false));

    @FuzzTest(maxDuration = "5m")
    @Timeout(10) // per input: Jazzer passes it to libFuzzer (-timeout); the fuzz-* runs turn off JUnit's own
    @DictionaryEntries({"\"version\"", "\"id\"", "\"model\"", "\"prompt\"", "\"negativePrompt\"", "\"width\"",
        "\"height\"", "\"steps\"", "\"guidanceScale\"", "\"scheduler\"", "\"eta\"", "\"seed\"", "\"numImages\"",
        "\"initImage\"", "\"mask\"", "\"strength\"", "\"clipScore\"", "\"rerank\"", "\"candidates\"",
        "\"verifier\"", "\"branches\"", "\"every\"", "\"atSteps\"", "\"clipGuidanceScale\"", "\"edit\"",
        "\"source\"", "\"target\"", "\"output\"", "\"bucket\"", "\"keyPrefix\"", "\"format\"", "\"webhook\"",
        "\"url\"", "\"events\"", "\"metadata\"", "\"deadline\"", "\"s3://", "\"data:image/png;base64,",
        "\"https://", "\"dpmpp_2m_karras\"", "\"euler_a\"", "\"lcm\"", "\"png\"", "\"progress\"",
        "\"2030-01-01T13:00:00+01:00\"", "true", "null", "1e999", "-0.0", "\\u0000", "\\ud800"})
    void parse(byte[] json) {
        check(PLAIN, json);
        check(WITH_MODEL, json);
        check(BARE_MODEL, json);
    }

    private static void check(JobParser parser, byte[] json) {
        Validated<Job> result = parser.parse(json);
        assertNotNull(result);
        if (result instanceof Validated.Invalid<Job> invalid) {
            assertFalse(invalid.rejection().violations().isEmpty(), "a rejection without violations");
            for (Violation v : invalid.rejection().violations()) {
                // Not isBlank for the field: an unknown member named " " is still reported as " "; one
                // named "" is $[""] (finding-empty-field-name.json; docs/security.md "Fuzzing").
                assertTrue(!v.field().isEmpty() && !v.problem().isBlank() && !v.limit().isBlank(),
                        () -> "violation not fully described: " + v);
            }
        } else {
            Job job = ((Validated.Valid<Job>) result).value();
            Validated<Job> again = parser.parse(parser.toJson(job));
            assertEquals(result, again, "the job does not survive toJson and parse");
        }
    }
}
