package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.JobEvents;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.LoraFixture;
import dev.easel.fixtures.LoraFixture.Part;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.SafetensorsFiles;
import dev.easel.messaging.AckingMessaging;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs with {@code loras}: adapters from easel.loras.dir, on models from the worker's cache. */
class LoraJobsTest {

    @TempDir
    static Path dir;
    private static StableDiffusionModel model;
    private static Path adapters;
    private Jobs jobs;

    @BeforeAll
    static void loadModel() throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load("sd", bundle, EngineOptions.cpu().withIntraOpThreads(1));
        adapters = Files.createDirectories(dir.resolve("loras"));
        LoraFixture.writeKohya(adapters.resolve("style.safetensors"), LoraFixture.random(Part.UNET,
                bundle.resolve("unet/model.onnx"), List.of("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
                        "down_blocks.0.resnets.0.conv1"), 4, new Random(1), Optional.empty()), "F16");
        Map<String, SafetensorsFiles.Entry> wide = SafetensorsFiles.ordered();
        String key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k";
        wide.put(key + ".lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 48}, new float[96]));
        wide.put(key + ".lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {64, 2}, new float[128]));
        SafetensorsFiles.write(adapters.resolve("wide.safetensors"), wide);
        Files.writeString(dir.resolve("outside.safetensors"), "not in the adapter directory");
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

    private TestWorker worker() {
        TestWorker worker = new TestWorker(Map.of("sd", new DiffusionPipeline(model, GenerationLimits.defaults())));
        worker.loras = new LoraLibrary(Optional.of(adapters));
        jobs = worker.build();
        return worker;
    }

    @Test
    void loraJobsCompleteAndShareAdaptedModelsByNameAndScale() {
        TestWorker worker = worker();

        jobs.pulled(record("l1", job("l1", "[{\"name\": \"style\"}]")));
        jobs.pulled(record("l2", job("l2", "[{\"name\": \"style\", \"scale\": 1}]")));
        jobs.pulled(record("l3", job("l3", "[{\"name\": \"style\", \"scale\": 0.5}]")));

        assertThat(worker.messaging.eventTypes()).filteredOn(JobEvents.COMPLETED::equals).hasSize(3);
        assertThat(worker.messaging.eventTypes()).doesNotContain(JobEvents.FAILED);
        assertThat(worker.registry.rewrites().builds()).isEqualTo(2);
        worker.registry.rewrites().closeAll();
    }

    @Test
    void unknownNamesAreRefusedAtIntakeNamingTheItem() {
        TestWorker worker = worker();

        jobs.pulled(record("u1", job("u1", "[{\"name\": \"style\"}, {\"name\": \"outside\"}]")));

        assertThat(worker.messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last(worker.messaging).data();
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("loras[1].name");
        assertThat(failed.at("/violations/0/problem").asText()).contains("\"outside\"");
        assertThat(failed.at("/violations/0/limit").asText()).isEqualTo("one of style, wide");
        assertThat(worker.registry.rewrites().builds()).isZero();
    }

    @Test
    void theHttpValidationRefusesUnknownNamesToo() {
        TestWorker worker = worker();

        assertThat(httpCheck(worker, "v1", "[{\"name\": \"nope\"}]")).map(dev.easel.contract.Violation::field)
                .contains("loras[0].name");
        assertThat(httpCheck(worker, "v2", "[{\"name\": \"style\"}]")).isEmpty();
    }

    /** An adapter whose shapes do not fit the model is refused at intake, from its header: no model is built. */
    @Test
    void anAdapterThatDoesNotFitIsRefusedAtIntakeNamingTheItemAndTensor() {
        TestWorker worker = worker();

        jobs.pulled(record("w1", job("w1", "[{\"name\": \"style\"}, {\"name\": \"wide\", \"scale\": 0.5}]")));

        assertThat(worker.messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last(worker.messaging).data();
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("loras[1].name");
        assertThat(failed.at("/violations/0/problem").asText()).contains("wide.safetensors")
                .contains("lora_down.weight [2, 48]").doesNotContain(adapters.toString());
        assertThat(failed.at("/violations/0/limit").asText()).isEqualTo("an adapter that fits model \"sd\"");
        assertThat(worker.registry.rewrites().builds()).isZero();
    }

    /** The HTTP API's check (POST /v1/jobs, before queueing) refuses it too where the node has the model. */
    @Test
    void theHttpValidationRefusesAnAdapterThatDoesNotFit() {
        Optional<dev.easel.contract.Violation> violation = httpCheck(worker(), "v3", "[{\"name\": \"wide\"}]");

        assertThat(violation).map(dev.easel.contract.Violation::field).contains("loras[0].name");
        assertThat(violation).map(dev.easel.contract.Violation::problem).hasValueSatisfying(p -> assertThat(p)
                .contains("does not fit"));
    }

    /** What the HTTP API's check (JobIntake.validate) says of a job with these loras: its first violation, if any. */
    private static Optional<dev.easel.contract.Violation> httpCheck(TestWorker worker, String id, String loras) {
        dev.easel.security.Tenant tenant = worker.tenants.byId(dev.easel.security.Tenants.DEFAULT).orElseThrow();
        JobIntake intake = new JobIntake(worker.registry, dev.easel.contract.JobLimits.defaults(),
                java.time.Clock.systemUTC());
        dev.easel.contract.Validated<dev.easel.contract.Job> checked = intake.validate(job(id, loras), tenant);
        return checked instanceof dev.easel.contract.Validated.Invalid<dev.easel.contract.Job> invalid
                ? Optional.of(invalid.rejection().violations().get(0)) : Optional.empty();
    }

    @Test
    void theLibraryKeepsNamesInsideItsDirectory() {
        LoraLibrary library = new LoraLibrary(Optional.of(adapters));
        assertThat(library.file("style")).contains(adapters.resolve("style.safetensors").toAbsolutePath().normalize());
        assertThat(library.file("../outside")).isEmpty();
        assertThat(library.file("..")).isEmpty();
        assertThat(library.file("style/../wide")).isEmpty();
        assertThat(library.file("missing")).isEmpty();
        assertThat(LoraLibrary.none().file("style")).isEmpty();
        assertThat(LoraLibrary.none().known()).contains("easel.loras.dir");
    }

    /** A link in the directory is an adapter only when it leads to a file inside it. */
    @Test
    void aLinkLeadingOutOfTheDirectoryIsNoAdapter() throws Exception {
        Path outside = Files.createTempDirectory("lora-outside").resolve("secret.safetensors");
        Files.write(outside, new byte[] {1, 2, 3});
        Files.createSymbolicLink(adapters.resolve("escape.safetensors"), outside);
        Files.createDirectories(adapters.resolve("..data"));
        Files.copy(adapters.resolve("style.safetensors"), adapters.resolve("..data/mounted.safetensors"));
        Files.createSymbolicLink(adapters.resolve("mounted.safetensors"), Path.of("..data/mounted.safetensors"));
        try {
            LoraLibrary library = new LoraLibrary(Optional.of(adapters));

            assertThat(library.file("escape")).isEmpty();
            assertThat(library.file("mounted")).isPresent();
            assertThat(library.known()).as("what a refusal offers instead").contains("mounted").doesNotContain("escape");
        } finally {
            Files.delete(adapters.resolve("escape.safetensors"));
            Files.delete(adapters.resolve("mounted.safetensors"));
            Files.delete(adapters.resolve("..data/mounted.safetensors"));
            Files.delete(adapters.resolve("..data"));
        }
    }

    private static AckingMessaging.SentEvent last(AckingMessaging messaging) {
        List<AckingMessaging.SentEvent> events = messaging.events();
        return events.get(events.size() - 1);
    }

    private static byte[] job(String id, String loras) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"sd\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 2, \"seed\": 7, \"loras\": " + loras + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
