package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.UnetConditioning;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.engine.tokenizer.PromptChunks;
import dev.easel.engine.tokenizer.PromptMode;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.OracleSdxlBundle;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text conditioning of weighted prompts against a direct computation from the oracle
 * encoders' closed form: per chunk, each token's state times its weight, the chunk rescaled to its
 * original mean (AUTOMATIC1111's rule, computed here in double), chunks one after another along the
 * sequence, and for SDXL both encoders' penultimate states side by side.
 */
class TextConditionerTest {

    private static final String WEIGHTED = "a (red:1.4) circle, [small] (blue square) BREAK on grey";

    @TempDir
    static Path dir;
    static OracleModels sd;
    static OracleSdxlBundle xlOracle;
    static StableDiffusionModel xl;

    @BeforeAll
    static void load() throws IOException {
        sd = OracleModels.write(dir.resolve("sd"), BundleVariants.DEFAULT);
        xlOracle = OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults());
        xl = StableDiffusionModel.load(xlOracle.writeTo(dir.resolve("xl")), EngineOptions.cpu().withIntraOpThreads(1));
    }

    @AfterAll
    static void close() {
        sd.close();
        xl.close();
    }

    private static UnetConditioning condition(StableDiffusionModel model, GenerationRequest request) {
        DiffusionPipeline.JobShape shape = new DiffusionPipeline.JobShape(1, 4, 8, 8, request.guided() ? 2 : 1);
        return new TextConditioner(model).condition(request, shape, new StageTimings.Clock());
    }

    /** A1111's emphasis, written out: z·w per token, then z·(mean before / mean after). */
    private static double[] emphasized(float[] states, float[] weights, int width) {
        double before = 0;
        for (float v : states) {
            before += v;
        }
        before /= states.length;
        double[] out = new double[states.length];
        double after = 0;
        for (int i = 0; i < states.length; i++) {
            out[i] = states[i] * (double) weights[i / width];
            after += out[i];
        }
        after /= states.length;
        for (int i = 0; i < out.length; i++) {
            out[i] *= before / after;
        }
        return out;
    }

    @Test
    void weightedSdPromptIsTheEmphasizedStates() {
        String prompt = "a (red:1.4) circle, [small] ((blue square))";
        PromptChunks chunks = PromptChunks.encode(sd.tokenizer(), prompt, PromptMode.WEIGHTED);
        UnetConditioning got = condition(sd.model(), GenerationRequest.builder(prompt).guidanceScale(1f)
                .promptSyntax(PromptMode.WEIGHTED).build());
        int width = sd.oracle().spec().hiddenSize();
        assertThat(got.sequence()).isEqualTo(77);
        assertThat(got.width()).isEqualTo(width);
        assertThat(got.textEmbeds()).isEmpty();
        double[] expected = emphasized(sd.oracle().embed(chunks.ids(0)), chunks.weights(0), width);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got.hidden()[i], 1e-5, "value " + i);
        }
    }

    /** This oracle's UNet fixes encoder_hidden_states at 77 tokens (as some exports do): a second chunk cannot fit. */
    @Test
    void chunksBeyondAFixedTextSequenceAreARequestError() {
        assertThat(PromptChunks.encode(sd.tokenizer(), WEIGHTED, PromptMode.WEIGHTED).count()).isEqualTo(2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> condition(sd.model(),
                        GenerationRequest.builder(WEIGHTED).guidanceScale(1f).promptSyntax(PromptMode.WEIGHTED).build()))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith("prompt: needs 2 chunks of 75 tokens")
                .hasMessageContaining("takes exactly 77 text tokens");
    }

    /** The error names the field that spans the chunks: here the negative prompt, not the one-chunk prompt. */
    @Test
    void tooManyChunksNameTheNegativePromptWhenItIsTheLongOne() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> condition(sd.model(), GenerationRequest.builder("cat")
                        .negativePrompt("a BREAK b BREAK c BREAK d BREAK e").promptSyntax(PromptMode.WEIGHTED).build()))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith("negativePrompt: spans 5 chunks");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> condition(sd.model(), GenerationRequest.builder(
                        "a BREAK b BREAK c BREAK d BREAK e").negativePrompt("cat").promptSyntax(PromptMode.WEIGHTED).build()))
                .hasMessageStartingWith("prompt: spans 5 chunks");
    }

    @Test
    void plainPromptsReadBracketsAsText() {
        UnetConditioning got = condition(sd.model(), GenerationRequest.builder(WEIGHTED).guidanceScale(1f).build());
        assertThat(got.sequence()).isEqualTo(77);
        float[] expected = sd.oracle().embed(sd.tokenizer().encodePadded(WEIGHTED));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got.hidden()[i], 1e-6, "value " + i);
        }
    }

    /** SDXL: per encoder its penultimate states weighted, then side by side; pooled from chunk 1; negative first. */
    @Test
    void weightedSdxlPromptWeighsEachEncoderThenConcatenates() {
        ClipTokenizer first = xl.config().tokenizers().get(0);
        ClipTokenizer second = xl.config().tokenizers().get(1);
        PromptChunks a = PromptChunks.encode(first, WEIGHTED, PromptMode.WEIGHTED);
        PromptChunks b = PromptChunks.encode(second, WEIGHTED, PromptMode.WEIGHTED);
        UnetConditioning got = condition(xl, GenerationRequest.builder(WEIGHTED).guidanceScale(5f).negativePrompt("ugly")
                .promptSyntax(PromptMode.WEIGHTED).build());
        int w1 = xlOracle.spec().textHidden();
        int w2 = xlOracle.spec().text2Hidden();
        int width = w1 + w2;
        assertThat(got.width()).isEqualTo(width);
        assertThat(got.sequence()).isEqualTo(2 * 77);
        int branch = got.sequence() * width;
        for (int c = 0; c < 2; c++) {
            double[] e1 = emphasized(xlOracle.encodeText(a.ids(c)).penultimate(), a.weights(c), w1);
            double[] e2 = emphasized(xlOracle.encodeText2(b.ids(c)).penultimate(), b.weights(c), w2);
            for (int s = 0; s < 77; s++) {
                int row = branch + (c * 77 + s) * width;
                for (int k = 0; k < w1; k++) {
                    assertEquals(e1[s * w1 + k], got.hidden()[row + k], 1e-5, "chunk " + c + " token " + s);
                }
                for (int k = 0; k < w2; k++) {
                    assertEquals(e2[s * w2 + k], got.hidden()[row + w1 + k], 1e-5, "chunk " + c + " token " + s);
                }
            }
        }
        // The negative "ugly" pads to two chunks: chunk 2 is the empty prompt's states, unweighted.
        PromptChunks negative = PromptChunks.encode(first, "ugly", PromptMode.WEIGHTED).padTo(2);
        float[] empty = xlOracle.encodeText(negative.ids(1)).penultimate();
        for (int k = 0; k < w1; k++) {
            assertEquals(empty[k], got.hidden()[77 * width + k], 1e-5);
        }
        // Pooled text_embeds: the prompt's first chunk, from the second encoder.
        float[] pooled = xlOracle.encodeText2(b.ids(0)).pooled();
        float[] gotPooled = got.textEmbeds().orElseThrow();
        for (int k = 0; k < pooled.length; k++) {
            assertEquals(pooled[k], gotPooled[pooled.length + k], 1e-5);
        }
        assertThat(got.timeIds().orElseThrow()).containsExactly(512, 512, 0, 0, 512, 512, 512, 512, 0, 0, 512, 512);
    }
}
