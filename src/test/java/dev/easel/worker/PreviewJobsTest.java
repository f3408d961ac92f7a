package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.JobEvents;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import dev.easel.messaging.AckingMessaging;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs' {@code previews}: stored as the job's preview.png and announced by preview events, every N steps, when asked. */
class PreviewJobsTest {

    @TempDir
    static Path dir;
    private static StableDiffusionModel model;
    private Jobs jobs;
    private TestWorker worker;

    @BeforeAll
    static void loadModel() throws Exception {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        model = StableDiffusionModel.load("oracle", bundle, EngineOptions.cpu().withIntraOpThreads(1));
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @AfterEach
    void stop() {
        if (jobs != null) {
            jobs.stop();
        }
    }

    private void start(PreviewCaps caps) {
        worker = new TestWorker(Map.of("oracle", new DiffusionPipeline(model, GenerationLimits.defaults())));
        worker.previews = caps;
        jobs = worker.build();
    }

    @Test
    void previewsComeEveryNStepsWhenAsked() {
        start(PreviewCaps.DEFAULT);
        jobs.pulled(record("p1", job("p1", 7, ", \"previews\": {\"every\": 2}")));

        List<AckingMessaging.SentEvent> events = worker.messaging.events();
        List<AckingMessaging.SentEvent> previews = events.stream().filter(e -> e.type().equals(JobEvents.PREVIEW)).toList();
        // After steps 2, 4 and 6 of 7; the last step's picture is the result.
        assertThat(previews).extracting(e -> e.data().path("step").asInt()).containsExactly(2, 4, 6);
        JsonNode first = previews.get(0).data();
        assertThat(first.path("total").asInt()).isEqualTo(7);
        assertThat(first.path("mode").asText()).isEqualTo("approx");
        assertThat(first.path("objectKey").asText()).isEqualTo("default/p1/preview.png");
        assertThat(first.path("url").asText()).contains("default/p1/preview.png").contains("X-Amz-Signature");
        // 64×64 pictures have 8×8 latents, shown 8× enlarged.
        assertThat(first.path("width").asInt()).isEqualTo(64);
        assertThat(first.path("height").asInt()).isEqualTo(64);
        // Small events: the picture is in the store, not in the event.
        assertThat(previews).allSatisfy(e -> assertThat(e.value().length).isLessThan(1000));
        // In order, and all before the final event, which the stream ends with.
        assertThat(worker.messaging.eventTypes()).endsWith(JobEvents.COMPLETED);
        assertThat(events.indexOf(previews.get(2))).isLessThan(events.size() - 1);

        var stored = worker.store.objects.get(TestWorker.PREFIX + "p1/preview.png");
        assertThat(stored.contentType()).isEqualTo("image/png");
        assertThat(stored.metadata()).containsEntry("step", "6");
        RgbImage picture = new PngDecoder().decode(stored.bytes()).rgb();
        assertThat(picture.width()).isEqualTo(64);
        assertThat(worker.store.objects).containsKey(TestWorker.PREFIX + "p1/0.png");
    }

    @Test
    void noPreviewsUnlessAsked() {
        start(PreviewCaps.DEFAULT);
        jobs.pulled(record("p2", job("p2", 7, "")));

        assertThat(worker.messaging.eventTypes()).doesNotContain(JobEvents.PREVIEW).endsWith(JobEvents.COMPLETED);
        assertThat(worker.store.objects).doesNotContainKey(TestWorker.PREFIX + "p2/preview.png");
    }

    @Test
    void theWorkerCapsHowOftenAndCanTurnThemOff() {
        start(new PreviewCaps(true, 3, 32, 65536));
        jobs.pulled(record("p3", job("p3", 7, ", \"previews\": {\"every\": 1, \"mode\": \"decode\"}")));
        List<JsonNode> previews = worker.messaging.events().stream().filter(e -> e.type().equals(JobEvents.PREVIEW))
                .map(AckingMessaging.SentEvent::data).toList();
        assertThat(previews).extracting(p -> p.path("step").asInt()).containsExactly(3, 6);
        assertThat(previews).allSatisfy(p -> {
            assertThat(p.path("mode").asText()).isEqualTo("decode");
            assertThat(p.path("width").asInt()).isEqualTo(32); // max-side
        });
        jobs.stop();

        start(new PreviewCaps(false, 1, 128, 65536));
        jobs.pulled(record("p4", job("p4", 7, ", \"previews\": {\"every\": 1}")));
        assertThat(worker.messaging.eventTypes()).doesNotContain(JobEvents.PREVIEW).endsWith(JobEvents.COMPLETED);
        jobs.stop();

        start(new PreviewCaps(true, 1, 128, 10)); // no PNG is 10 bytes: all dropped, the job unharmed
        jobs.pulled(record("p5", job("p5", 7, ", \"previews\": {\"every\": 1}")));
        assertThat(worker.messaging.eventTypes()).doesNotContain(JobEvents.PREVIEW).endsWith(JobEvents.COMPLETED);
    }

    private static byte[] job(String id, int steps, String extra) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"oracle\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": " + steps + ", \"scheduler\": \"euler\", \"seed\": 7"
                + extra + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
