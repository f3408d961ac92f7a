package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.JobEvents;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleSdxlBundle;
import dev.easel.messaging.AckingMessaging;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SDXL jobs through intake, run and answer: the model's default size, a refiner named by the job. */
class SdxlJobsTest {

    @TempDir
    static Path dir;
    private static StableDiffusionModel base;
    private static StableDiffusionModel refiner;

    private TestWorker worker;
    private Jobs jobs;

    @BeforeAll
    static void loadModels() throws Exception {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        base = StableDiffusionModel.load("xl", OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults())
                .writeTo(dir.resolve("xl")), options);
        refiner = StableDiffusionModel.load("xl-refiner", OracleSdxlBundle.create(OracleSdxlBundle.Spec.refiner())
                .writeTo(dir.resolve("xl-refiner")), options);
    }

    @AfterAll
    static void closeModels() {
        base.close();
        refiner.close();
    }

    @BeforeEach
    void setUp() {
        worker = new TestWorker(Map.of("xl", new DiffusionPipeline(base, GenerationLimits.defaults()),
                "xl-refiner", new DiffusionPipeline(refiner, GenerationLimits.defaults())));
        jobs = worker.build();
    }

    @AfterEach
    void stop() {
        jobs.stop();
    }

    @Test
    void aJobWithoutASizeGetsTheModelsAndItsRefinerRuns() {
        jobs.pulled(record("x1", "{\"version\": 1, \"id\": \"x1\", \"model\": \"xl\", \"prompt\": \"red circle\","
                + " \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7, \"guidanceScale\": 1,"
                + " \"refiner\": {\"model\": \"xl-refiner\", \"switchAt\": 0.5}}"));

        assertThat(worker.messaging.eventTypes()).startsWith(JobEvents.STARTED).endsWith(JobEvents.COMPLETED);
        // Progress counts the base's and the refiner's steps together.
        List<AckingMessaging.SentEvent> events = worker.messaging.events();
        // Euler, 4 leading-spaced steps (751, 501, 251, 1), hand-over at 500: two each.
        assertThat(events).filteredOn(e -> e.type().equals(JobEvents.PROGRESS)).isNotEmpty()
                .allSatisfy(e -> assertThat(e.data().path("total").asInt()).isEqualTo(4));
        PngImage png = new PngDecoder().decode(worker.store.objects.get(TestWorker.PREFIX + "x1/0.png").bytes());
        // sample_size 64 latents × the VAE's 8.
        assertThat(png.width()).isEqualTo(512);
        assertThat(png.height()).isEqualTo(512);
        assertThat(png.text()).containsEntry("refiner", "xl-refiner from 0.5").containsEntry("size", "512x512");
        assertThat(png.text()).doesNotContainKey("negative_prompt");
    }

    /** A hand-over that leaves the base no step is refused at intake (and by the HTTP check), before any work. */
    @Test
    void aHandOverThatLeavesTheBaseNoStepIsRefusedAtIntake() {
        String job = "{\"version\": 1, \"id\": \"x2\", \"model\": \"xl\", \"prompt\": \"red circle\","
                + " \"steps\": 2, \"scheduler\": \"euler\", \"seed\": 7, \"guidanceScale\": 1,"
                + " \"refiner\": {\"model\": \"xl-refiner\", \"switchAt\": 0.01}}";

        jobs.pulled(record("x2", job));

        assertThat(worker.messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        com.fasterxml.jackson.databind.JsonNode failed = worker.messaging.events().get(0).data();
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("refiner.switchAt");
        assertThat(failed.at("/violations/0/problem").asText()).contains("base would not denoise at all");

        dev.easel.security.Tenant tenant = worker.tenants.byId(dev.easel.security.Tenants.DEFAULT).orElseThrow();
        dev.easel.contract.Validated<dev.easel.contract.Job> checked = new JobIntake(worker.registry,
                dev.easel.contract.JobLimits.defaults(), java.time.Clock.systemUTC())
                .validate(job.getBytes(StandardCharsets.UTF_8), tenant);
        assertThat(checked).isInstanceOfSatisfying(dev.easel.contract.Validated.Invalid.class, invalid -> assertThat(
                ((dev.easel.contract.Validated.Invalid<?>) invalid).rejection().violations().get(0).field())
                .isEqualTo("refiner.switchAt"));
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, String value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8));
    }
}
