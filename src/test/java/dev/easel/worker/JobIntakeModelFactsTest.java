package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.security.Tenants;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job the job's model cannot run (an initImage without a VAE encoder, clipGuidanceScale without
 * the CLIP guidance graph, a weighted prompt of more chunks than the model takes) is refused at
 * intake naming the field, before it is queued or run.
 */
class JobIntakeModelFactsTest {

    @TempDir
    static Path dir;
    private static StableDiffusionModel noEncoder;
    private static StableDiffusionModel noGuidance;

    @BeforeAll
    static void loadModels() throws IOException {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        Path oracle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        try (Stream<Path> files = Files.walk(oracle.resolve("vae_encoder"))) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        noEncoder = StableDiffusionModel.load("no-encoder", oracle, options);
        Path random = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ClipFixture.create(ClipFixture.Spec.defaults()).writeTo(random.resolve("clip"));
        noGuidance = StableDiffusionModel.load("no-guidance", random, options);
    }

    @AfterAll
    static void closeModels() {
        noEncoder.close();
        noGuidance.close();
    }

    private static JsonNode push(String model, String extra) {
        Jobs jobs = new TestWorker(Map.of(
                "no-encoder", new DiffusionPipeline(noEncoder, GenerationLimits.defaults()),
                "no-guidance", new DiffusionPipeline(noGuidance, GenerationLimits.defaults()))).build();
        return jobs.pushed(("{\"version\": 1, \"id\": \"p1\", \"model\": \"" + model + "\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64" + (extra.contains("\"steps\"") ? "" : ", \"steps\": 4") + extra
                + "}").getBytes(StandardCharsets.UTF_8),
                Optional.empty(), new Tenants(false, Map.of(), TestWorker.BUCKET, "easel.jobs", Optional.empty())
                        .byId("default").orElseThrow());
    }

    /** A job on the model with CLIP but no guidance graph, its negative prompt in the weighted syntax. */
    private static JsonNode weightedNegative(String negativePrompt) {
        return push("no-guidance", ", \"promptSyntax\": \"weighted\", \"negativePrompt\": \"" + negativePrompt + "\"");
    }

    private static void assertAccepted(JsonNode outcome) {
        assertThat(outcome.has("violations")).as("%s", outcome).isFalse();
    }

    @Test
    void anInitImageOnAModelWithoutVaeEncoderIsRefusedNamingTheField() {
        assertThat(noEncoder.hasVaeEncoder()).isFalse();
        JsonNode outcome = push("no-encoder", ", \"initImage\": \"s3://" + TestWorker.BUCKET + "/in.png\", \"strength\": 0.5");
        assertThat(outcome.path("violations").findValuesAsText("field")).containsExactly("initImage");
        assertThat(outcome.at("/violations/0/problem").asText()).isEqualTo("needs a VAE encoder; model \"no-encoder\" has none");
        assertThat(outcome.at("/violations/0/limit").asText()).contains("vae_encoder/model.onnx");
    }

    @Test
    void weightedPromptsAreRefusedPastTheChunksTheModelTakes() {
        JsonNode outcome = push("no-guidance", ", \"promptSyntax\": \"weighted\","
                + " \"negativePrompt\": \"blurry BREAK dark BREAK flat BREAK dull BREAK grey\"");
        assertThat(outcome.path("violations").findValuesAsText("field")).containsExactly("negativePrompt");
        assertThat(outcome.at("/violations/0/problem").asText()).isEqualTo("spans 5 chunks (BREAK starts a chunk)");
        // This model's UNet takes exactly 77 text tokens (its export fixed the sequence): one chunk only.
        JsonNode two = weightedNegative("blurry BREAK dark");
        assertThat(two.at("/violations/0/problem").asText()).isEqualTo("spans 2 chunks (BREAK starts a chunk), but model"
                + " \"no-guidance\" takes a fixed text sequence (its UNet's encoder_hidden_states)");
        assertAccepted(weightedNegative("(blurry:1.2), dark"));
    }

    @Test
    void anAttentionWeightTheEngineWouldRefuseIsRefusedAtIntake() {
        JsonNode outcome = weightedNegative("a (red:150) circle");
        assertThat(outcome.path("violations").findValuesAsText("field")).containsExactly("negativePrompt");
        assertThat(outcome.at("/violations/0/problem").asText()).isEqualTo("has an attention weight of 150.0");
        JsonNode infinite = weightedNegative("(dark:" + "9".repeat(400) + ")");
        assertThat(infinite.at("/violations/0/problem").asText()).isEqualTo("has an attention weight that is not a finite number");
        assertAccepted(weightedNegative("a (red:-100) square"));
    }

    @Test
    void aScheduleTheModelsSchedulerCannotRunIsRefusedAtIntake() {
        // LCM takes at most original_inference_steps (50 by default) steps.
        JsonNode lcm = push("no-guidance", ", \"scheduler\": \"lcm\", \"steps\": 60");
        assertThat(lcm.path("violations").findValuesAsText("field")).containsExactly("steps");
        assertThat(lcm.at("/violations/0/problem").asText()).contains("original_inference_steps");
        assertThat(lcm.at("/violations/0/limit").asText()).isEqualTo("a schedule model \"no-guidance\"'s scheduler runs");
        assertAccepted(push("no-guidance", ", \"scheduler\": \"lcm\", \"steps\": 4"));
    }

    @Test
    void anUnguidedJobsNegativePromptIsNotJudgedAsTheEngineDoesNotEncodeIt() {
        assertAccepted(push("no-guidance", ", \"guidanceScale\": 1, \"promptSyntax\": \"weighted\","
                + " \"negativePrompt\": \"(dark:150) BREAK flat\""));
    }

    @Test
    void clipGuidanceOnAModelWithClipButNoGuidanceGraphIsRefusedNamingTheField() {
        assertThat(noGuidance.hasClip()).isTrue();
        assertThat(noGuidance.hasClipGuidance()).isFalse();
        JsonNode outcome = push("no-guidance", ", \"clipScore\": true, \"clipGuidanceScale\": 50");
        assertThat(outcome.path("violations").findValuesAsText("field")).containsExactly("clipGuidanceScale");
        assertThat(outcome.at("/violations/0/limit").asText()).contains("clip_guidance/model.onnx");
    }
}
