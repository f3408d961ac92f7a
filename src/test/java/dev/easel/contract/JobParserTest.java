package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.pipeline.ModelDefaults;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobParserTest {

    static final Instant NOW = Instant.parse("2029-06-01T00:00:00Z");
    static final JobParser PARSER = new JobParser(JobLimits.defaults())
            .withClock(Clock.fixed(NOW, ZoneOffset.UTC))
            .withIdGenerator(() -> "generated-id");

    /** The smallest valid job, with {@code extra} members added (JSON with ' for "). */
    static String job(String extra) {
        String base = "{'version': 1, 'model': 'sd15', 'prompt': 'a cat'" + (extra.isEmpty() ? "" : ", " + extra) + "}";
        return base.replace('\'', '"');
    }

    static Job accept(JobParser parser, String json) {
        Validated<Job> result = parser.parse(json.getBytes(StandardCharsets.UTF_8));
        assertThat(result).as("%s", result).isInstanceOf(Validated.Valid.class);
        return ((Validated.Valid<Job>) result).value();
    }

    static JobRejection reject(JobParser parser, String json) {
        Validated<Job> result = parser.parse(json.getBytes(StandardCharsets.UTF_8));
        assertThat(result).as("%s", result).isInstanceOf(Validated.Invalid.class);
        JobRejection rejection = ((Validated.Invalid<Job>) result).rejection();
        for (Violation v : rejection.violations()) {
            assertThat(v.field()).as("field of %s", v).isNotBlank();
            assertThat(v.problem()).as("problem of %s", v).isNotBlank();
            assertThat(v.limit()).as("limit of %s", v).isNotBlank();
        }
        return rejection;
    }

    @Test
    void previewsAreAskedForAndBecomeTheEnginesOptions() {
        Job job = accept(PARSER, job("'steps': 20, 'previews': {'every': 5}"));
        assertThat(job.previews()).contains(new Job.Previews(5, "approx"));
        assertThat(job.toGenerationRequest(java.util.Optional.empty(), new java.util.SplittableRandom(1),
                JobDefaults.GENERIC, java.util.Optional.empty()).request().previews())
                .contains(new dev.easel.engine.pipeline.PreviewOptions(5, dev.easel.engine.pipeline.PreviewMode.APPROX,
                        dev.easel.engine.pipeline.PreviewOptions.DEFAULT_MAX_SIDE));
        assertThat(accept(PARSER, job("'steps': 20, 'previews': {'every': 20, 'mode': 'decode'}")).previews())
                .contains(new Job.Previews(20, "decode"));
        // Off unless asked.
        Job plain = accept(PARSER, job(""));
        assertThat(plain.previews()).isEmpty();
        assertThat(plain.toGenerationRequest(java.util.Optional.empty(), new java.util.SplittableRandom(1),
                JobDefaults.GENERIC, java.util.Optional.empty()).request().previews()).isEmpty();
    }

    @Test
    void rewriteBecomesTheEnginesEdit() {
        Job job = accept(PARSER, job("'rewrite': {'replace': [{'source': 'circle', 'target': 'square'}],"
                + " 'erase': ['red'], 'preserve': ['triangle'], 'lambda': 0.5}"));
        assertThat(job.rewrite().orElseThrow().toEngine()).isEqualTo(dev.easel.engine.pipeline.Rewrite.none()
                .replace("circle", "square").erase("red").preserve("triangle").withLambda(0.5));
        assertThat(accept(PARSER, job("'rewrite': {'erase': ['red']}")).rewrite().orElseThrow().toEngine().lambda())
                .isEqualTo(0.1);
        assertThat(accept(PARSER, job("")).rewrite()).isEmpty();
        Job inContexts = accept(PARSER, job("'rewrite': {'replace': [{'source': 'red', 'target': 'blue'}],"
                + " 'rows': 'through-eos', 'contexts': ['a big {} circle', '{} sky'], 'preserve': ['green'],"
                + " 'preserveScale': 0.1, 'preserveUnconditional': 1}"));
        assertThat(inContexts.rewrite().orElseThrow().toEngine()).isEqualTo(dev.easel.engine.pipeline.Rewrite.none()
                .replace("red", "blue").withRows(dev.easel.engine.pipeline.Rewrite.Rows.THROUGH_EOS)
                .withContexts(List.of("a big {} circle", "{} sky")).preserve("green").withPreserveScale(0.1)
                .withPreserveUnconditional(1));
        Job valueOnly = accept(PARSER, job("'rewrite': {'replace': [{'source': 'circle', 'target': 'square'}],"
                + " 'projections': ['value']}"));
        assertThat(valueOnly.rewrite().orElseThrow().toEngine()).isEqualTo(dev.easel.engine.pipeline.Rewrite.none()
                .replace("circle", "square").withProjections(java.util.EnumSet.of(
                        dev.easel.engine.onnx.CrossAttentionProjections.Kind.VALUE)));
        assertThat(accept(PARSER, job("'rewrite': {'erase': ['red'], 'projections': ['value', 'key']}")).rewrite()
                .orElseThrow().toEngine().projections()).isEqualTo(dev.easel.engine.pipeline.Rewrite.none().projections());
    }

    /** Each list is bounded by the schema; their product (every concept in every context) by JobRules. */
    @Test
    void aRewriteOfTooManyConceptsInContextIsRefusedNamingTheProduct() {
        String eight = "['a','b','c','d','e','f','g','h']";
        String contexts = String.join(",", java.util.Collections.nCopies(8, "'{} .'"));
        // 8 contexts × 8 concepts = 64: the most.
        accept(PARSER, job("'rewrite': {'erase': " + eight + ", 'contexts': [" + contexts + "]}"));

        JobRejection rejection = reject(PARSER, job("'rewrite': {'erase': " + eight + ", 'preserve': ['p'],"
                + " 'contexts': [" + contexts + "]}"));

        assertThat(rejection.violations()).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("rewrite");
            assertThat(v.problem()).isEqualTo("8 contexts × 9 concepts (replace, erase and preserve) = 72 concepts"
                    + " in context, each encoded and edited");
            assertThat(v.limit()).isEqualTo("≤ " + JobRules.MAX_REWRITE_ENCODINGS + " concepts in context per job");
        });
    }

    /** The schema sees only that {} is there; the engine's rule (once, as a word of its own) is checked at intake too. */
    @Test
    void aContextTheEngineCannotUseIsRefusedAtIntakeNamingRewriteContexts() {
        for (String context : List.of("{} and {}", "re{}", "a {}dish")) {
            JobRejection rejection = reject(PARSER, job("'rewrite': {'erase': ['red'], 'contexts': ['" + context + "']}"));
            assertThat(rejection.violations()).as(context).singleElement().satisfies(v -> {
                assertThat(v.field()).isEqualTo("rewrite.contexts");
                assertThat(v.problem()).contains("'{}' exactly once, as a word of its own").contains(context);
            });
        }
    }

    @Test
    void lorasAreNamesWithScales() {
        Job job = accept(PARSER, job("'loras': [{'name': 'film-grain_v2.1', 'scale': -0.5}, {'name': 'anime'}]"));
        assertThat(job.loras().orElseThrow()).containsExactly(new Job.Lora("film-grain_v2.1", java.util.Optional.of(-0.5)),
                new Job.Lora("anime", java.util.Optional.empty()));
        assertThat(job.loras().orElseThrow().get(1).effectiveScale()).isEqualTo(1.0);
        assertThat(accept(PARSER, job("")).loras()).isEmpty();
    }

    @Test
    void acceptsFullJob() {
        String json = job("'id': 'order-1234.variant_a', 'negativePrompt': 'blurry', 'width': 768, 'height': 512,"
                + " 'steps': 25, 'guidanceScale': 7.0, 'scheduler': 'dpmpp_2m_karras', 'eta': 0.5, 'seed': 42,"
                + " 'numImages': 2, 'initImage': 's3://uploads/a/b.png', 'mask': 's3://uploads/a/m.png', 'strength': 0.6,"
                + " 'output': {'bucket': 'easel-out', 'keyPrefix': 'acme/', 'format': 'png'},"
                + " 'webhook': {'url': 'https://hooks.example.com/x', 'events': ['started', 'progress', 'completed', 'failed']},"
                + " 'metadata': {'customer': 'acme', 'n': [1, 2]}, 'deadline': '2030-01-01T13:00:00+01:00'");
        Job job = accept(PARSER, json);
        assertThat(job.id()).isEqualTo("order-1234.variant_a");
        assertThat(job.model()).isEqualTo("sd15");
        assertThat(job.prompt()).isEqualTo("a cat");
        assertThat(job.negativePrompt()).contains("blurry");
        assertThat(job.width()).contains(768);
        assertThat(job.height()).contains(512);
        assertThat(job.steps()).contains(25);
        assertThat(job.guidanceScale()).contains(7.0);
        assertThat(job.scheduler()).contains("dpmpp_2m_karras");
        assertThat(job.eta()).isEqualTo(0.5);
        assertThat(job.seed()).contains(42L);
        assertThat(job.numImages()).isEqualTo(2);
        assertThat(job.initImage()).contains(new ImageReference.S3("uploads", "a/b.png"));
        assertThat(job.mask()).contains(new ImageReference.S3("uploads", "a/m.png"));
        assertThat(job.strength()).contains(0.6);
        assertThat(job.output()).contains(new JobOutput("easel-out", "acme/", "png"));
        assertThat(job.webhook()).contains(new JobWebhook(URI.create("https://hooks.example.com/x"),
                List.of(EventKind.STARTED, EventKind.PROGRESS, EventKind.COMPLETED,
                        EventKind.FAILED)));
        assertThat(job.metadata().orElseThrow().toString()).isEqualTo("{\"customer\":\"acme\",\"n\":[1,2]}");
        assertThat(job.deadline()).contains(Instant.parse("2030-01-01T12:00:00Z"));
    }

    @Test
    void fillsDefaultsAndGeneratesId() {
        Job job = accept(PARSER, job("'output': {'bucket': 'easel-out'}, 'webhook': {'url': 'http://localhost:8080/h'}"));
        assertThat(job.id()).isEqualTo("generated-id");
        // Absent, not "": SDXL tells no negative prompt from an empty one. Size, steps and guidance
        // come from the job's model when the job runs (JobDefaults), not from the schema.
        assertThat(job.negativePrompt()).isEmpty();
        assertThat(List.of(job.width(), job.height(), job.steps(), job.guidanceScale(), job.promptSyntax()))
                .allSatisfy(value -> assertThat(value).isEmpty());
        assertThat(job.numImages()).isEqualTo(1);
        assertThat(job.eta()).isZero();
        assertThat(job.scheduler()).isEmpty();
        assertThat(job.seed()).isEmpty();
        assertThat(job.output()).contains(new JobOutput("easel-out", "", "png"));
        assertThat(job.webhook().orElseThrow().events())
                .containsExactly(EventKind.COMPLETED, EventKind.FAILED, EventKind.CANCELLED);
        assertThat(new JobParser(JobLimits.defaults()).parse(job("").getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(Validated.Valid.class, v -> assertThat(((Job) v.value()).id())
                        .matches("[0-9a-f-]{36}"));
    }

    @Test
    void acceptsIntegralNumberWrittenWithFraction() {
        assertThat(accept(PARSER, job("'steps': 20.0")).steps()).contains(20);
    }

    static Stream<Arguments> badFields() {
        return Stream.of(
                // field, extra members, problem fragment, limit fragment
                Arguments.of("version", "'version': 2", "must be 1, got 2", "= 1"),
                Arguments.of("version", "'version': '1'", "must be 1, got \"1\"", "= 1"),
                Arguments.of("id", "'id': 'has space'", "must be 1-128 characters of", "A-Z a-z 0-9 . _ -"),
                Arguments.of("id", "'id': 'ümlaut'", "got \"ümlaut\"", "1-128 characters"),
                Arguments.of("id", "'id': '" + "x".repeat(129) + "'", "at most 128 characters, got 129", "≤ 128 characters"),
                Arguments.of("id", "'id': ''", "at least 1 characters, got 0", "≥ 1 characters"),
                Arguments.of("id", "'id': 7", "must be of type string, got integer 7", "type string"),
                Arguments.of("model", "'model': '../etc'", "must be 1-128 characters", "starting with a letter or digit"),
                Arguments.of("prompt", "'prompt': ['a']", "must be of type string, got array", "type string"),
                Arguments.of("negativePrompt", "'negativePrompt': null", "must be of type string, got null", "type string"),
                Arguments.of("width", "'width': '512'", "must be of type integer, got string \"512\"", "type integer"),
                Arguments.of("width", "'width': 500", "must be a multiple of 8, got 500", "multiple of 8"),
                Arguments.of("width", "'width': 0", "must be at least 8, got 0", "≥ 8"),
                Arguments.of("width", "'width': 4096", "must be at most 2048, got 4096", "≤ 2048"),
                Arguments.of("width", "'width': 1e30", "must be at most 2048", "≤ 2048"),
                Arguments.of("height", "'height': 513.5", "got number 513.5", "type integer"),
                Arguments.of("height", "'height': 2056", "must be at most 2048, got 2056", "≤ 2048"),
                Arguments.of("width", "'width': 2048, 'height': 1024", "2048 × 1024 = 2097152 pixels is too many",
                        "≤ 1048576 pixels"),
                Arguments.of("steps", "'steps': 0", "must be at least 1, got 0", "≥ 1"),
                Arguments.of("steps", "'steps': 151", "must be at most 150, got 151", "≤ 150"),
                Arguments.of("steps", "'steps': 2.5", "must be of type integer, got number 2.5", "type integer"),
                Arguments.of("guidanceScale", "'guidanceScale': -1", "must be at least 0, got -1", "≥ 0"),
                Arguments.of("guidanceScale", "'guidanceScale': 30.5", "must be at most 30, got 30.5", "≤ 30"),
                Arguments.of("guidanceScale", "'guidanceScale': 'high'", "got string \"high\"", "type number"),
                Arguments.of("scheduler", "'scheduler': 'k_lms'", "must be one of pndm, ddim, euler, euler_a, dpmpp_2m,"
                        + " dpmpp_2m_karras, lcm, got \"k_lms\"", "one of pndm"),
                Arguments.of("eta", "'eta': 1.5", "must be at most 1, got 1.5", "≤ 1"),
                Arguments.of("seed", "'seed': -1", "must be at least 0, got -1", "≥ 0"),
                Arguments.of("seed", "'seed': 9007199254740992", "must be at most 9007199254740991", "≤ 9007199254740991"),
                Arguments.of("seed", "'seed': 'lucky'", "got string", "type integer"),
                Arguments.of("numImages", "'numImages': 9", "must be at most 8, got 9", "≤ 8"),
                Arguments.of("numImages", "'numImages': 0", "must be at least 1, got 0", "≥ 1"),
                Arguments.of("initImage", "'initImage': 'http://example.com/a.png'", "must be an s3://bucket/key reference"
                        + " or a data:image/png;base64,... URI, got \"http://example.com/a.png\"", "s3://bucket/key"),
                Arguments.of("initImage", "'initImage': 'data:image/jpeg;base64,/9j/'", "got \"data:image/jpeg",
                        "data:image/png;base64"),
                Arguments.of("mask", "'initImage': 's3://b-1/k', 'mask': 's3://B/k'", "must be an s3://bucket/key",
                        "s3://bucket/key"),
                Arguments.of("strength", "'initImage': 's3://b-1/k', 'strength': 0", "must be greater than 0, got 0", "> 0"),
                Arguments.of("strength", "'initImage': 's3://b-1/k', 'strength': 1.01", "must be at most 1", "≤ 1"),
                Arguments.of("strength", "'initImage': 's3://b-1/k', 'strength': 0.01, 'steps': 50",
                        "strength 0.01 × 50 steps leaves no denoising step", "strength × steps ≥ 1"),
                Arguments.of("strength", "'strength': 0.5", "is set but there is no initImage", "only with initImage"),
                Arguments.of("mask", "'mask': 's3://b-1/k'", "is set but there is no initImage", "only with initImage"),
                Arguments.of("output", "'output': 's3://b/k'", "must be of type object", "type object"),
                Arguments.of("output.bucket", "'output': {}", "is required", "required field"),
                Arguments.of("output.bucket", "'output': {'bucket': 'Bad_Bucket'}", "must be an S3 bucket name",
                        "3-63 characters"),
                Arguments.of("output.format", "'output': {'bucket': 'abc', 'format': 'jpeg'}",
                        "must be one of png, got \"jpeg\"", "one of png"),
                Arguments.of("output.keyPrefix", "'output': {'bucket': 'abc', 'keyPrefix': '" + "k".repeat(513) + "'}",
                        "at most 512 characters, got 513", "≤ 512 characters"),
                Arguments.of("output.acl", "'output': {'bucket': 'abc', 'acl': 'public-read'}",
                        "is not a field of job version 1", "known fields: bucket, keyPrefix, format"),
                Arguments.of("webhook.url", "'webhook': {}", "is required", "required field"),
                Arguments.of("webhook.url", "'webhook': {'url': 'ftp://files.example.com/x'}",
                        "must be an absolute http:// or https:// URL with a host, got \"ftp://files.example.com/x\"",
                        "http:// or https://"),
                Arguments.of("webhook.url", "'webhook': {'url': 'javascript:alert(1)'}", "got \"javascript:alert(1)\"",
                        "http:// or https://"),
                Arguments.of("webhook.url", "'webhook': {'url': 'https://exa mple.com/'}", "must be an absolute URI",
                        "absolute URI"),
                Arguments.of("webhook.events[1]", "'webhook': {'url': 'https://h.example', 'events': ['started', 'done']}",
                        "must be one of started, progress, completed, failed, cancelled, got \"done\"",
                        "one of started, progress, completed, failed, cancelled"),
                Arguments.of("webhook.events", "'webhook': {'url': 'https://h.example', 'events': []}",
                        "must have at least 1 items, got 0", "≥ 1 items"),
                Arguments.of("webhook.events", "'webhook': {'url': 'https://h.example', 'events': ['failed', 'failed']}",
                        "must not list an item twice", "unique items"),
                Arguments.of("metadata", "'metadata': [1, 2]", "must be of type object, got array", "type object"),
                Arguments.of("metadata", "'metadata': {'blob': '" + "m".repeat(16_400) + "'}",
                        "is 16411 bytes as compact JSON", "≤ 16384 bytes"),
                Arguments.of("deadline", "'deadline': '2029-05-31T23:59:59Z'",
                        "is 2029-05-31T23:59:59Z, not after the time of submission 2029-06-01T00:00:00Z", "in the future"),
                Arguments.of("deadline", "'deadline': 'tomorrow'", "must be an RFC 3339 date-time", "RFC 3339"),
                Arguments.of("deadline", "'deadline': '2030-01-01 12:00'", "got \"2030-01-01 12:00\"", "RFC 3339"),
                Arguments.of("cfg_scale", "'cfg_scale': 7", "is not a field of job version 1",
                        "known fields: version, id, model, prompt, negativePrompt, promptSyntax, width"),
                Arguments.of("model", "'model': null", "must be of type string, got null", "type string"),
                Arguments.of("promptSyntax", "'promptSyntax': 'fancy'", "fancy", "plain"),
                Arguments.of("refiner.switchAt", "'refiner': {'model': 'xl-refiner', 'switchAt': 1}", "exclusive maximum",
                        "exclusiveMaximum 1"),
                Arguments.of("refiner.model", "'refiner': {'switchAt': 0.5}", "is required", "required field"),
                Arguments.of("refiner", "'refiner': {'model': 'xl-refiner'}, 'initImage': 's3://inputs/a.png', 'mask':"
                        + " 's3://inputs/m.png'", "is set with a mask", "not for inpainting"),
                Arguments.of("refiner", "'refiner': {'model': 'xl-refiner'}, 'verifier': {'branches': 2, 'every': 4}",
                        "is set with verifier", "without verifier and clipGuidanceScale"),
                Arguments.of("refiner", "'refiner': {'model': 'xl-refiner'}, 'clipGuidanceScale': 50",
                        "is set with clipGuidanceScale", "without verifier and clipGuidanceScale"),
                Arguments.of("originalSize.width", "'originalSize': {'width': 0, 'height': 512}", "0", "≥ 1"),
                Arguments.of("cropTopLeft.left", "'cropTopLeft': {'top': 0, 'left': -8}", "-8", "≥ 0"),
                Arguments.of("aestheticScore", "'aestheticScore': 11", "11", "≤ 10"),
                Arguments.of("rewrite.erase[0]", "'rewrite': {'erase': ['']}", "at least 1 characters", "≥ 1 characters"),
                Arguments.of("rewrite.replace[0].target", "'rewrite': {'replace': [{'source': 'circle'}]}",
                        "is required", "required field"),
                Arguments.of("rewrite.lambda", "'rewrite': {'erase': ['red'], 'lambda': 0}", "must be at least", "≥ "),
                // Past 0 but so small that the edit's matrix is singular in float64: refused too.
                Arguments.of("rewrite.lambda", "'rewrite': {'erase': ['red'], 'lambda': 1e-300}", "must be at least",
                        "≥ "),
                Arguments.of("rewrite.preserveUnconditional", "'rewrite': {'erase': ['red'], 'preserveUnconditional': -1}",
                        "must be at least 0", "≥ 0"),
                Arguments.of("rewrite.preserveScale", "'rewrite': {'erase': ['red'], 'preserveScale': 0}",
                        "greater than 0", "> 0"),
                Arguments.of("rewrite.rows", "'rewrite': {'erase': ['red'], 'rows': 'all'}", "must be one of",
                        "through-padding"),
                Arguments.of("rewrite.projections[0]", "'rewrite': {'erase': ['red'], 'projections': ['query']}",
                        "must be one of", "key"),
                Arguments.of("rewrite.projections", "'rewrite': {'erase': ['red'], 'projections': []}",
                        "at least 1 items", "≥ 1 items"),
                Arguments.of("rewrite.projections", "'rewrite': {'erase': ['red'], 'projections': ['key', 'key']}",
                        "must not list an item twice", "unique items"),
                Arguments.of("rewrite.contexts[0]", "'rewrite': {'erase': ['red'], 'contexts': ['a photo']}",
                        "a prompt template holding {}", "a prompt template holding {}"),
                Arguments.of("rewrite.erase", "'rewrite': {'erase': ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']}",
                        "at most 8 items", "maxItems 8"),
                Arguments.of("rewrite", "'rewrite': {'preserve': ['triangle']}", "has neither replace nor erase",
                        "at least one of replace, erase"),
                Arguments.of("previews.every", "'previews': {'every': 0}", "0", "≥ 1"),
                Arguments.of("previews.every", "'previews': {'every': 1001}", "1001", "≤ 1000"),
                Arguments.of("previews.every", "'steps': 20, 'previews': {'every': 25}",
                        "is 25 but the run takes 20 steps", "≤ steps (20)"),
                Arguments.of("previews.every", "'previews': {'mode': 'decode'}", "is required", "required field"),
                Arguments.of("previews.mode", "'previews': {'every': 5, 'mode': 'full'}", "full", "approx"),
                Arguments.of("previews.size", "'previews': {'every': 5, 'size': 512}", "is not a field", "every, mode"),
                Arguments.of("loras[0].name", "'loras': [{'name': '../x'}]", "../x", "1-64 characters"),
                Arguments.of("loras[0].name", "'loras': [{'name': '/etc/passwd'}]", "/etc/passwd", "1-64 characters"),
                Arguments.of("loras[0].name", "'loras': [{'name': 's3://b/x'}]", "s3://b/x", "1-64 characters"),
                Arguments.of("loras[0].name", "'loras': [{'scale': 1}]", "is required", "required field"),
                Arguments.of("loras[0].scale", "'loras': [{'name': 'a', 'scale': 5}]", "5", "≤ 4"),
                Arguments.of("loras", "'loras': [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}, {'name': 'd'},"
                        + " {'name': 'e'}]", "at most 4 items", "maxItems 4"),
                Arguments.of("loras[1].name", "'loras': [{'name': 'a'}, {'name': 'a', 'scale': 0.5}]",
                        "repeats loras[0].name \"a\"", "each adapter once"),
                Arguments.of("loras", "'loras': [{'name': 'a'}], 'rewrite': {'erase': ['red']}",
                        "cannot be combined with rewrite", "either rewrite or loras"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("badFields")
    void rejectsBadField(String field, String extra, String problem, String limit) {
        String json = job(extra);
        // Replace the base job's model/version rather than duplicating the key.
        if (extra.startsWith("'version'")) {
            json = json.replaceFirst("\"version\": 1, ", "");
        } else if (extra.startsWith("'model'")) {
            json = json.replaceFirst("\"model\": \"sd15\", ", "");
        } else if (extra.startsWith("'prompt'")) {
            json = json.replaceFirst("\"prompt\": \"a cat\", ", "");
        }
        JobRejection rejection = reject(PARSER, json);
        assertThat(rejection.violations()).as(rejection.summary())
                .anySatisfy(v -> {
                    assertThat(v.field()).isEqualTo(field);
                    assertThat(v.problem()).contains(problem);
                    assertThat(v.limit()).contains(limit);
                });
    }

    @Test
    void reportsMissingRequiredFieldsAll() {
        JobRejection rejection = reject(PARSER, "{}");
        assertThat(rejection.violations()).extracting(Violation::field)
                .containsExactlyInAnyOrder("version", "model", "prompt");
        assertThat(rejection.violations()).allSatisfy(v -> assertThat(v.problem()).isEqualTo("is required"));
        assertThat(rejection.id()).isEmpty();
    }

    @Test
    void reportsEveryViolationAndKeepsTheId() {
        JobRejection rejection = reject(PARSER, job("'id': 'job-7', 'width': 500, 'steps': 1000, 'foo': 1"));
        assertThat(rejection.id()).contains("job-7");
        assertThat(rejection.violations()).extracting(Violation::field).containsExactly("width", "foo", "steps");
        assertThat(rejection.summary()).startsWith("width: must be a multiple of 8, got 500 (limit: multiple of 8); ");
    }

    @Test
    void doesNotRepeatWhatTheSchemaRejected() {
        // 4100 breaks the schema (multiple of 8), so the configured maximum is not reported on top.
        assertThat(reject(PARSER, job("'width': 4100")).violations()).extracting(Violation::limit)
                .containsExactly("multiple of 8");
        assertThat(reject(PARSER, job("'width': 'big'")).violations()).hasSize(1);
    }

    @Test
    void rejectsDocumentsThatAreNotOneJsonObject() {
        assertThat(reject(PARSER, "{\"version\": 1,").violations()).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("$");
            assertThat(v.problem()).startsWith("is not valid JSON: ").contains("line 1");
        });
        assertThat(reject(PARSER, "").violations()).singleElement()
                .satisfies(v -> assertThat(v.problem()).isEqualTo("is empty"));
        assertThat(reject(PARSER, "[1]").violations()).singleElement()
                .satisfies(v -> assertThat(v.problem()).isEqualTo("must be of type object, got array [1]"));
        assertThat(reject(PARSER, job("'width': 512, 'width': 640")).violations()).singleElement()
                .satisfies(v -> assertThat(v.problem()).contains("Duplicate field 'width'"));
        assertThat(reject(PARSER, job("") + " {}").violations()).singleElement()
                .satisfies(v -> assertThat(v.problem()).contains("Trailing token"));
        assertThat(PARSER.parse(new byte[] {(byte) 0xC3, (byte) 0x28})).isInstanceOf(Validated.Invalid.class);
    }

    @Test
    void acceptsLowerCaseRfc3339AndRejectsLeapSecond() {
        assertThat(accept(PARSER, job("'deadline': '2030-01-01t12:00:00z'")).deadline())
                .contains(Instant.parse("2030-01-01T12:00:00Z"));
        assertThat(reject(PARSER, job("'deadline': '2016-12-31T23:59:60Z'")).violations()).singleElement()
                .satisfies(v -> assertThat(v.problem()).contains("leap second"));
    }

    @Test
    void countsPromptTokensWhenGivenATokenizer() {
        JobParser counting = PARSER.withTokenCounter(text -> text.split(" ").length);
        String prompt = "word ".repeat(76).trim();
        JobRejection rejection = reject(counting, job("'negativePrompt': '" + prompt + "'"));
        assertThat(rejection.violations()).singleElement().isEqualTo(new Violation("negativePrompt",
                "is 76 tokens; the model reads only the first 75 (promptSyntax \"weighted\" encodes longer prompts in"
                        + " chunks)", "≤ 75 tokens"));
        accept(counting, job("'negativePrompt': '" + "word ".repeat(75).trim() + "'"));
        accept(PARSER, job("'negativePrompt': '" + prompt + "'"));
    }

    /** A text over the character bound is refused by the schema, before the tokenizer sees it. */
    @Test
    void anOversizedPromptIsRefusedBeforeAnyTokenizing() {
        java.util.concurrent.atomic.AtomicInteger tokenized = new java.util.concurrent.atomic.AtomicInteger();
        JobParser counting = PARSER.withTokenCounter(text -> {
            tokenized.incrementAndGet();
            return 1;
        });
        String word = "a".repeat(8001);
        JobRejection rejection = reject(counting, withPrompt(word, "'negativePrompt': '" + word
                + "', 'promptSyntax': 'weighted'"));
        assertThat(rejection.violations()).extracting(Violation::field, Violation::problem, Violation::limit)
                .containsExactlyInAnyOrder(tuple("prompt", "must be at most 8000 characters, got 8001", "≤ 8000 characters"),
                        tuple("negativePrompt", "must be at most 8000 characters, got 8001", "≤ 8000 characters"));
        assertThat(tokenized).hasValue(0);
        accept(counting, withPrompt("a".repeat(8000), "'promptSyntax': 'weighted'"));
        assertThat(tokenized).hasValue(1);
    }

    private static String withPrompt(String prompt, String extra) {
        return job(extra).replaceFirst("\"prompt\": \"a cat\"", "\"prompt\": \"" + prompt + "\"");
    }

    @Test
    void weightedPromptsMayRunToFourChunks() {
        JobParser counting = PARSER.withTokenCounter(text -> text.split(" ").length);
        String long300 = "word ".repeat(300).trim();
        accept(counting, job("'promptSyntax': 'weighted', 'negativePrompt': '" + long300 + "'"));
        JobRejection rejection = reject(counting, job("'promptSyntax': 'weighted', 'negativePrompt': '" + long300 + " more'"));
        assertThat(rejection.violations()).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("negativePrompt");
            assertThat(v.limit()).isEqualTo("≤ 300 tokens");
        });
        // A model configured for weighted prompts counts so for jobs that do not say.
        accept(counting.withPromptSyntax(dev.easel.engine.tokenizer.PromptMode.WEIGHTED),
                job("'negativePrompt': '" + long300 + "'"));
        reject(counting.withPromptSyntax(dev.easel.engine.tokenizer.PromptMode.WEIGHTED),
                job("'promptSyntax': 'plain', 'negativePrompt': '" + long300 + "'"));
    }

    /** A model's chunking where each chunk holds one token and every weight is 1: {@code count} alone. */
    private static PromptChunking chunkingBy(java.util.function.ToIntFunction<String> count,
                                             java.util.function.IntPredicate fits) {
        return new PromptChunking(text -> new PromptChunking.Chunked(count.applyAsInt(text), count.applyAsInt(text), 1f),
                fits);
    }

    /** A rewrite's concept must be words the tokenizer sees, as the engine encodes it. */
    @Test
    void aRewriteConceptWithoutTokensIsRefusedWhereTheTokenizerIsKnown() {
        JobParser counting = PARSER.withTokenCounter(text -> text.isBlank() ? 0 : text.trim().split("\\s+").length);
        assertThat(reject(counting, job("'rewrite': {'replace': [{'source': ' ', 'target': 'square'}], 'erase': ['red'],"
                + " 'preserve': ['  ']}")).violations()).extracting(Violation::field, Violation::problem).containsExactly(
                        tuple("rewrite.replace[0].source", "\" \" has no tokens"), tuple("rewrite.preserve[0]", "\"  \" has no tokens"));
        accept(counting, job("'rewrite': {'replace': [{'source': 'circle', 'target': ' '}]}"));
    }

    /** BREAK starts a chunk whatever the tokens: the intake counts chunks as the engine does. */
    @Test
    void weightedPromptsAreRefusedPastFourChunksOrWhereTheUnetTakesOne() {
        JobParser chunking = PARSER.withTokenCounter(text -> text.split(" ").length)
                .withChunking(chunkingBy(text -> text.split("BREAK", -1).length, n -> true));
        accept(chunking, withPrompt("a BREAK b BREAK c BREAK d", "'promptSyntax': 'weighted'"));
        assertThat(reject(chunking, job("'promptSyntax': 'weighted', 'negativePrompt': 'a BREAK b BREAK c BREAK d"
                + " BREAK e'")).violations()).singleElement().isEqualTo(new Violation("negativePrompt",
                "spans 5 chunks (BREAK starts a chunk)", "≤ 4 chunks"));
        // In plain syntax BREAK is a word like any other.
        accept(chunking, job("'negativePrompt': 'a BREAK b BREAK c BREAK d BREAK e'"));
        // The chunks bound a weighted prompt, not its raw tokens: 320 words as written, but the engine's
        // chunks (here: one) are what it runs.
        accept(chunking.withPromptSyntax(dev.easel.engine.tokenizer.PromptMode.WEIGHTED),
                job("'negativePrompt': '" + "(word:1.2) ".repeat(320).trim() + "'"));

        JobParser fixed = PARSER.withChunking(chunkingBy(text -> text.split("BREAK", -1).length, n -> n == 1));
        assertThat(reject(fixed, withPrompt("a BREAK b", "'promptSyntax': 'weighted'")).violations()).singleElement()
                .satisfies(v -> {
                    assertThat(v.field()).isEqualTo("prompt");
                    assertThat(v.problem()).isEqualTo("spans 2 chunks (BREAK starts a chunk), but model \"sd15\" takes a"
                            + " fixed text sequence (its UNet's encoder_hidden_states)");
                    assertThat(v.limit()).isEqualTo("1 chunk");
                });
        accept(fixed, withPrompt("(a cat:1.2)", "'promptSyntax': 'weighted'"));
        // The UNet is judged on the longer of prompt and negative prompt, which the engine pads both to.
        JobParser threeChunks = PARSER.withChunking(chunkingBy(text -> text.split("BREAK", -1).length,
                n -> n == 3));
        accept(threeChunks, withPrompt("a BREAK b", "'promptSyntax': 'weighted', 'negativePrompt': 'x BREAK y BREAK z'"));
        // Unguided, the negative prompt is not encoded: not judged.
        accept(chunking, job("'promptSyntax': 'weighted', 'guidanceScale': 1, 'negativePrompt': 'a BREAK b BREAK c"
                + " BREAK d BREAK e'"));
    }

    /** A configured token limit holds for weighted prompts too, on the tokens the engine reads. */
    @Test
    void weightedPromptsAreHeldToTheConfiguredTokensAsTheEngineCountsThem() {
        JobLimits d = JobLimits.defaults();
        JobParser thirty = new JobParser(new JobLimits(d.maxWidth(), d.maxHeight(), d.maxPixels(), d.maxSteps(),
                d.maxImages(), d.maxGuidance(), 30, d.maxInputImageBytes(), 2048, 2048, d.maxPixels(),
                d.maxMetadataBytes(), d.maxIdLength())).withChunking(new PromptChunking(
                        text -> new PromptChunking.Chunked(1, text.split(" ").length, 1f), n -> true));
        assertThat(reject(thirty, withPrompt("w ".repeat(121).trim(), "'promptSyntax': 'weighted'")).violations())
                .singleElement().satisfies(v -> assertThat(v.limit()).isEqualTo("≤ 120 tokens"));
        accept(thirty, withPrompt("w ".repeat(120).trim(), "'promptSyntax': 'weighted'"));
    }

    /** The engine's schedule checks, handed to the parser by the worker, judge the run's scheduler and steps. */
    @Test
    void theModelsScheduleRuleJudgesTheRunsSchedulerAndSteps() {
        java.util.List<String> seen = new java.util.ArrayList<>();
        JobParser parser = PARSER.withDefaults(new ModelDefaults(512, 512, 30, 7.5f)).withSchedule((s, steps, eta, late) -> {
            seen.add(s.orElse("-") + "/" + steps + "/" + late.orElse("-"));
            return steps > 50 ? Optional.of(new Violation("steps", "is past 50", "≤ 50")) : Optional.empty();
        });
        accept(parser, job(""));
        accept(parser, job("'scheduler': 'lcm', 'steps': 4, 'initImage': 's3://inputs/a.png', 'strength': 0.5"));
        accept(parser, job("'initImage': 's3://inputs/a.png', 'strength': 1"));
        assertThat(reject(parser, job("'steps': 60")).violations()).extracting(Violation::field).containsExactly("steps");
        assertThat(seen).containsExactly("-/30/-", "lcm/4/an initImage with strength below 1", "-/30/-", "-/60/-");
    }

    /** A job that leaves steps to its model is judged by the model's steps, not let through unjudged. */
    @Test
    void rulesOnTheRunsLengthUseTheModelsStepsWhenTheJobGivesNone() {
        JobParser turbo = PARSER.withDefaults(new ModelDefaults(512, 512, 1, 0f));
        JobParser thirty = PARSER.withDefaults(new ModelDefaults(512, 512, 30, 7.5f));

        assertThat(reject(thirty, job("'previews': {'every': 50}")).violations()).singleElement()
                .satisfies(v -> assertThat(v.field()).isEqualTo("previews.every"));
        accept(thirty, job("'previews': {'every': 10}"));
        assertThat(reject(turbo, job("'initImage': 's3://images/in.png', 'strength': 0.5")).violations())
                .singleElement().satisfies(v -> assertThat(v.problem()).contains("leaves no denoising step"));
        assertThat(reject(thirty, job("'clipScore': true, 'verifier': {'branches': 8, 'every': 1}")).violations())
                .extracting(Violation::field).contains("verifier");
        // Without a model (POST /v1/jobs before the worker), the job's own steps only, as before.
        accept(PARSER, job("'previews': {'every': 50}"));
    }

    /** The pixel limit holds for the picture the job gets: a side it leaves out is its model's. */
    @Test
    void thePixelLimitCountsTheModelsSideWhereTheJobGivesOne() {
        JobParser xl = PARSER.withDefaults(new ModelDefaults(1024, 1024, 30, 5f));
        assertThat(reject(xl, job("'width': 1216")).violations()).singleElement().isEqualTo(new Violation("width",
                "width × height = 1216 × 1024 = 1245184 pixels is too many (the side left out is the model's default)",
                "≤ 1048576 pixels"));
        assertThat(reject(xl, job("'height': 1216")).violations()).singleElement()
                .satisfies(v -> assertThat(v.field()).isEqualTo("height"));
        accept(xl, job("'width': 1024"));
        accept(xl, job("'width': 1216, 'height': 832"));
        // Without the model, a job's single side is not judged.
        accept(PARSER, job("'width': 1216"));
    }

    @Test
    void appliesConfiguredLimits() {
        JobLimits d = JobLimits.defaults();
        JobParser strict = new JobParser(new JobLimits(1024, 768, 512 * 512, 50, 2, 12, 75, d.maxInputImageBytes(),
                1024, 768, 512 * 512, 64, 16)).withClock(Clock.fixed(NOW, ZoneOffset.UTC));
        JobRejection rejection = reject(strict, job("'id': '" + "a".repeat(17) + "', 'width': 512, 'height': 776,"
                + " 'numImages': 3,"
                + " 'steps': 51, 'guidanceScale': 12.5, 'metadata': {'k': '" + "v".repeat(60) + "'}"));
        assertThat(rejection.violations()).extracting(Violation::field, Violation::limit).containsExactly(
                tuple("id", "≤ 16 characters"),
                tuple("height", "≤ 768"),
                tuple("width", "≤ 262144 pixels"),
                tuple("steps", "≤ 50"),
                tuple("numImages", "≤ 2"),
                tuple("guidanceScale", "≤ 12"),
                tuple("metadata", "≤ 64 bytes"));
        assertThat(rejection.id()).contains("a".repeat(17));
        assertThatThrownBy(() -> new JobLimits(2048, 2048, 1 << 20, 150, 8, 30, 75, 1 << 20, 2048, 2048, 1 << 20,
                1024, 129)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("128");
    }

    /** A limit out of range fails start-up naming its setting and the value given (not a record of zeros). */
    @Test
    void aLimitOutOfRangeIsNamedByItsSetting() {
        assertThatThrownBy(() -> new JobLimits(2048, 2048, 1 << 20, 0, 8, 30, 75, 1 << 20, 2048, 2048, 1 << 20,
                1024, 64)).hasMessage("easel.limits.max-steps must be at least 1, got 0");
        // Echoed in every event: a bound that keeps a completed event within a broker's record size.
        assertThatThrownBy(() -> new JobLimits(2048, 2048, 1 << 20, 150, 8, 30, 75, 1 << 20, 2048, 2048, 1 << 20,
                1 << 20, 64)).hasMessageStartingWith("easel.limits.max-metadata-bytes must be at most 262144");
    }

    @Test
    void rejectsOversizedDataUriFromItsLengthAlone() {
        JobLimits d = JobLimits.defaults();
        JobParser small = new JobParser(new JobLimits(d.maxWidth(), d.maxHeight(), d.maxPixels(), d.maxSteps(),
                d.maxImages(), d.maxGuidance(), d.maxPromptTokens(), 3000, 2048, 2048, d.maxPixels(),
                d.maxMetadataBytes(), d.maxIdLength()));
        // 4004 base64 characters of junk: refused for size, never decoded.
        String uri = ImageReference.DATA_URI_PREFIX + "!".repeat(4004);
        JobRejection rejection = reject(small, job("'initImage': '" + uri + "'"));
        assertThat(rejection.violations()).singleElement()
                .isEqualTo(new Violation("initImage", "is a 3003-byte PNG", "≤ 3000 bytes"));
    }

    @Test
    void acceptsAnInlineImageOfTheLargestAllowedSize() {
        // 8 MiB as base64 is 11.2 M characters: the JSON reader must allow such a string. A PNG's
        // header first (the intake reads it), then zeros.
        byte[] png = java.util.Arrays.copyOf(Pngs.rgb(8, 8, 1, 2, 3), (int) ((8L << 20) / 3 * 3));
        String uri = Pngs.dataUri(png);
        Job job = accept(PARSER, job("'initImage': '" + uri + "'"));
        assertThat(job.initImage()).containsInstanceOf(ImageReference.DataUri.class);
        assertThat(job.initImage().orElseThrow().toString()).isEqualTo("DataUri[11184808 base64 characters]");
    }

    /** An inline image's size is in its header: the rules it would meet when the job runs, at intake. */
    @Test
    void anInlineImagesHeaderIsHeldToTheSizeRulesAtIntake() {
        String init16x8 = "'initImage': '" + Pngs.dataUri(Pngs.rgb(16, 8, 1, 2, 3)) + "'";
        accept(PARSER, job("'width': 16, 'height': 8, " + init16x8));
        accept(PARSER, job(init16x8));
        assertThat(reject(PARSER, job("'width': 24, " + init16x8)).violations()).singleElement().isEqualTo(new Violation(
                "initImage", "is 16×8 but the job asks for 24×(any) (images are not resized)", "width × height = 24×(any)"));
        assertThat(reject(PARSER, job("'initImage': '" + Pngs.dataUri(Pngs.rgb(100, 100, 0, 0, 0)) + "'")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("initImage", "sides multiples of 8"));
        assertThat(reject(PARSER, job(init16x8 + ", 'mask': '" + Pngs.dataUri(Pngs.grayHalves(8, 8)) + "'")).violations())
                .singleElement().isEqualTo(new Violation("mask", "is 8×8 but initImage is 16×8", "the size of initImage"));
        assertThat(reject(PARSER, job("'initImage': '" + Pngs.dataUri(Pngs.hugeHeader(60_000, 60_000)) + "'"))
                .violations()).extracting(Violation::field, Violation::problem).containsExactly(tuple("initImage",
                        "is not a usable PNG: its header says 60000×60000"));
        // A payload whose first 32 characters end in padding (22 bytes): too short to tell, left to the run.
        accept(PARSER, job("'initImage': 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAgAAAA=='"));
        // A header naming a side of 0, or past 2^31, or past the PNG limits: refused as the decoder would.
        for (int[] size : new int[][] {{0, 512}, {Integer.MIN_VALUE, 8}, {4096, 8}}) {
            byte[] head = Pngs.rgb(8, 8, 0, 0, 0);
            java.nio.ByteBuffer.wrap(head, 16, 8).putInt(size[0]).putInt(size[1]);
            assertThat(reject(PARSER, job("'initImage': '" + Pngs.dataUri(head) + "'")).violations())
                    .extracting(Violation::field, Violation::problem).containsExactly(tuple("initImage",
                            "is not a usable PNG: its header says " + Integer.toUnsignedLong(size[0]) + "×" + size[1]));
        }
        byte[] jpeg = java.util.Arrays.copyOf(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0}, 64);
        assertThat(reject(PARSER, job("'initImage': '" + Pngs.dataUri(jpeg) + "'")).violations()).singleElement()
                .isEqualTo(new Violation("initImage", "is not a PNG (its first bytes are not a PNG signature and header)",
                        "a PNG image"));
    }

    @Test
    void serialisesBackToJsonThatParsesToTheSameJob() throws Exception {
        Job job = accept(PARSER, job("'id': 'x1', 'seed': 7, 'initImage': '" + Pngs.dataUri(Pngs.rgb(8, 8, 1, 2, 3))
                + "', 'webhook': {'url': 'https://h.example/p?q=1'}, 'metadata': {'a': {'b': null}},"
                + " 'deadline': '2030-01-01T00:00:00.5+02:00', 'output': {'bucket': 'out'}"));
        byte[] json = PARSER.toJson(job);
        assertThat(JobSchema.get().validate(new ObjectMapper().readTree(json))).isEmpty();
        assertThat(accept(PARSER, new String(json, StandardCharsets.UTF_8))).isEqualTo(job);
        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"deadline\":\"2029-12-31T22:00:00.500Z\"")
                .contains("\"initImage\":\"data:image/png;base64,").doesNotContain("Optional");
        assertThat(accept(PARSER, job("")).strength()).isEqualTo(Optional.empty());
    }
}
