package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.JobEvents;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.RandomSdBundle;
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

/** Jobs with {@code rewrite}: run on a rewritten model from the worker's cache. */
class RewriteJobsTest {

    @TempDir
    static Path dir;
    private static StableDiffusionModel model;
    private Jobs jobs;

    @BeforeAll
    static void loadModel() throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load("sd", bundle, EngineOptions.cpu().withIntraOpThreads(1));
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

    private TestWorker worker(int maxRewrites) {
        TestWorker worker = new TestWorker(Map.of("sd", new DiffusionPipeline(model, GenerationLimits.defaults())));
        worker.maxRewrites = maxRewrites;
        jobs = worker.build();
        return worker;
    }

    @Test
    void aRewriteJobCompletesAndAnIdenticalOneReusesTheRewrittenModel() {
        TestWorker worker = worker(4);
        String rewrite = "{\"replace\": [{\"source\": \"circle\", \"target\": \"square\"}], \"preserve\": [\"triangle\"]}";

        jobs.pulled(record("r1", job("r1", rewrite)));
        jobs.pulled(record("r2", job("r2", rewrite)));
        jobs.pulled(record("r3", job("r3", "{\"erase\": [\"red\"]}")));

        assertThat(worker.messaging.eventTypes()).filteredOn(JobEvents.COMPLETED::equals).hasSize(3);
        assertThat(worker.messaging.eventTypes()).doesNotContain(JobEvents.FAILED);
        RewrittenModels cache = worker.registry.rewrites();
        assertThat(cache.builds()).isEqualTo(2);
        assertThat(cache.cached()).isEqualTo(2);
        cache.closeAll();
        assertThat(cache.cached()).isZero();
    }

    @Test
    void withoutACacheEachJobBuildsItsOwn() {
        TestWorker worker = worker(0);
        String rewrite = "{\"erase\": [\"red\"]}";

        jobs.pulled(record("n1", job("n1", rewrite)));
        jobs.pulled(record("n2", job("n2", rewrite)));

        assertThat(worker.messaging.eventTypes()).filteredOn(JobEvents.COMPLETED::equals).hasSize(2);
        assertThat(worker.registry.rewrites().builds()).isEqualTo(2);
        assertThat(worker.registry.rewrites().cached()).isZero();
    }

    @Test
    void aConceptWithNoTokensFailsTheJobNamingTheFieldAtIntake() {
        TestWorker worker = worker(4);

        jobs.pulled(record("e1", job("e1", "{\"erase\": [\"   \"]}")));

        assertThat(worker.messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last(worker.messaging).data();
        // The intake counts the concept's tokens with the model's tokenizer: refused before any build.
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("rewrite.erase[0]");
        assertThat(failed.at("/violations/0/problem").asText()).contains("no tokens");
        assertThat(worker.registry.rewrites().cached()).isZero();
        assertThat(worker.registry.rewrites().builds()).isZero();
    }

    private static AckingMessaging.SentEvent last(AckingMessaging messaging) {
        List<AckingMessaging.SentEvent> events = messaging.events();
        return events.get(events.size() - 1);
    }

    private static byte[] job(String id, String rewrite) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"sd\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 2, \"seed\": 7, \"rewrite\": " + rewrite + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
