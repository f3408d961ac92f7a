package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngLimits;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.contract.JobLimits;
import dev.easel.messaging.AckingMessaging;
import dev.easel.contract.JobEvents;
import dev.easel.notify.WebhookSender;
import dev.easel.notify.WebhookSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLIP job options through the worker: scores in PNGs, the manifest and the completed event; clear rejections. */
class ClipJobTest {

    private static final String BUCKET = "images";

    @TempDir
    static Path dir;
    private static StableDiffusionModel withClip;
    private static StableDiffusionModel withoutClip;

    private InMemoryObjectStore store;
    private Jobs jobs;

    @BeforeAll
    static void loadModels() throws IOException {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        Path random = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ClipFixture.create(ClipFixture.Spec.defaults()).writeTo(random.resolve("clip"));
        withClip = StableDiffusionModel.load("toy", random, options);
        Path oracle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        withoutClip = StableDiffusionModel.load("oracle", oracle, options);
    }

    @AfterAll
    static void closeModels() {
        withClip.close();
        withoutClip.close();
    }

    @BeforeEach
    void setUp() {
        TestWorker worker = new TestWorker(Map.of(
                "toy", new DiffusionPipeline(withClip, GenerationLimits.defaults()),
                "oracle", new DiffusionPipeline(withoutClip, GenerationLimits.defaults())));
        store = worker.store;
        jobs = worker.build();
    }

    private JsonNode submit(String extra) {
        return submit(4, extra);
    }

    private JsonNode submit(int steps, String extra) {
        return jobs.pushed(("{\"version\": 1, \"id\": \"c1\", \"model\": \"toy\", \"prompt\": \"a red circle on a blue background\","
                + " \"width\": 64, \"height\": 64, \"steps\": " + steps + ", \"scheduler\": \"ddim\", \"seed\": 5" + extra + "}")
                .getBytes(StandardCharsets.UTF_8), Optional.empty(), new dev.easel.security.Tenants(false, Map.of(), TestWorker.BUCKET, "easel.jobs",
                Optional.empty()).byId("default").orElseThrow());
    }

    @Test
    void scoresTravelWithEveryImage() throws IOException {
        JsonNode completed = submit(", \"numImages\": 2, \"rerank\": {\"candidates\": 4}");

        assertThat(completed.has("images")).isTrue();
        double first = completed.at("/images/0/clipScore").asDouble();
        double second = completed.at("/images/1/clipScore").asDouble();
        assertThat(first).isGreaterThanOrEqualTo(second).isGreaterThan(0);
        assertThat(completed.at("/images/0/seed").asLong()).isBetween(5L, 8L);
        assertThat(completed.path("timingsMs").has("clip")).isTrue();
        JsonNode manifest = new ObjectMapper().readTree(store.objects.get(TestWorker.PREFIX + "c1/result.json").bytes());
        assertThat(manifest.at("/images/0/clipScore").asDouble()).isEqualTo(first);
        Map<String, String> text = new PngDecoder(PngLimits.DEFAULT).decode(store.objects.get(TestWorker.PREFIX + "c1/0.png")
                .bytes()).text();
        assertThat(text).containsEntry("clip_score", String.format(java.util.Locale.ROOT, "%.2f", first))
                .containsEntry("rerank_candidates", "4");
        assertThat(text.get("parameters")).contains("CLIP score: ");
    }

    @Test
    void plainJobsCarryNoScore() {
        JsonNode completed = submit("");
        assertThat(completed.at("/images/0").has("clipScore")).isFalse();
    }

    @Test
    void clipOptionsOnAModelWithoutClipAreRejected() {
        JsonNode outcome = jobs.pushed(("{\"version\": 1, \"id\": \"c2\", \"model\": \"oracle\","
                + " \"prompt\": \"a red circle\", \"clipScore\": true, \"verifier\": {\"branches\": 2, \"every\": 2}}")
                .getBytes(StandardCharsets.UTF_8), Optional.empty(), new dev.easel.security.Tenants(false, Map.of(), TestWorker.BUCKET, "easel.jobs",
                Optional.empty()).byId("default").orElseThrow());
        assertThat(outcome.path("violations").findValuesAsText("field")).containsExactly("clipScore", "verifier");
        assertThat(outcome.at("/violations/0/problem").asText()).contains("needs a model with CLIP; model \"oracle\" has none");
    }

    @Test
    void verifierAndBudgetErrorsNameTheirFields() {
        JsonNode ok = submit(", \"verifier\": {\"branches\": 2, \"atSteps\": [1, 2]}");
        assertThat(ok.has("images")).isTrue();
        JsonNode bad = submit(40, ", \"verifier\": {\"branches\": 4, \"every\": 1}");
        assertThat(bad.path("violations")).singleElement().satisfies(v -> {
            assertThat(v.path("field").asText()).isEqualTo("verifier");
            assertThat(v.path("problem").asText()).contains("39 branch points × 4 branches = 156");
            assertThat(v.path("limit").asText()).isEqualTo("≤ 64");
        });
    }
}
