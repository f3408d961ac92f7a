package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.ClipFixture.Flaw;
import dev.easel.fixtures.ClipFixture.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Loading both CLIP export layouts, embedding as the fixture's Java mirror says, and refusing broken exports. */
class ClipModelTest {

    @TempDir
    Path dir;

    private final OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu().withIntraOpThreads(1));

    private ClipModel load(ClipFixture fixture) throws IOException {
        Path clip = fixture.writeTo(dir.resolve("clip"));
        fixture.tokenizer().writeTo(dir.resolve("tokenizer"));
        return ClipModel.load(ClipLayout.of(clip, Optional.of(dir.resolve("tokenizer"))), sessions);
    }

    private static float[] normalised(float[] v) {
        float[] out = v.clone();
        ClipModel.normalise(out, out.length);
        return out;
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void embedsAsTheFixtureComputes(Layout layout) throws IOException {
        ClipFixture fixture = ClipFixture.create(ClipFixture.Spec.defaults().withLayout(layout));
        try (ClipModel clip = load(fixture)) {
            assertThat(clip.dim()).isEqualTo(16);
            assertThat(clip.sequenceLength()).isEqualTo(77);
            assertThat(clip.layout().models()).isInstanceOf(layout == Layout.SPLIT
                    ? ClipLayout.Split.class : ClipLayout.Combined.class);
            float[] text = clip.embedTexts(List.of("a red circle", "blue"));
            float[] expected = normalised(fixture.textEmbedding(fixture.tokenizer().paddedIds("a red circle")));
            float[] first = java.util.Arrays.copyOf(text, 16);
            assertArrayEquals(expected, first, 1e-5f);

            // A flat colour stays flat through bicubic resizing, so the embedding is the colour's.
            int w = 48;
            int h = 40;
            float[] image = new float[3 * w * h];
            float[] rgb = {0.9f, 0.1f, 0.2f};
            for (int c = 0; c < 3; c++) {
                java.util.Arrays.fill(image, c * w * h, (c + 1) * w * h, rgb[c]);
            }
            float[] embedded = clip.embedImages(image, 1, w, h);
            assertArrayEquals(normalised(fixture.imageEmbeddingOfColour(rgb)), embedded, 1e-4f);
        }
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void coloursMatchTheirWords(Layout layout) throws IOException {
        ClipFixture fixture = ClipFixture.create(ClipFixture.Spec.defaults().withLayout(layout).withoutAttentionMask());
        try (ClipModel clip = load(fixture)) {
            float[] text = clip.embedTexts(List.of("a red circle", "a blue circle"));
            float[] red = flat(new float[] {1, 0, 0});
            float[] image = clip.embedImages(red, 1, 8, 8);
            assertThat(dot(image, text, 0)).isGreaterThan(dot(image, text, 16)).isGreaterThan(0.5);
        }
    }

    private static float[] flat(float[] rgb) {
        float[] out = new float[3 * 64];
        for (int c = 0; c < 3; c++) {
            java.util.Arrays.fill(out, c * 64, (c + 1) * 64, rgb[c]);
        }
        return out;
    }

    private static double dot(float[] a, float[] rows, int offset) {
        double sum = 0;
        for (int k = 0; k < a.length; k++) {
            sum += a[k] * rows[offset + k];
        }
        return sum;
    }

    @ParameterizedTest
    @EnumSource(value = Flaw.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void brokenExportsFailAtLoadNamingFileAndTensor(Flaw flaw) {
        ClipFixture fixture = ClipFixture.create(ClipFixture.Spec.defaults().withFlaw(flaw));
        String expected = switch (flaw) {
            case WRONG_INPUT_NAME -> "vision_model.onnx: expected input 'pixel_values' but the model's inputs are 'pixels'";
            case WRONG_DTYPE -> "text_model.onnx: input 'input_ids' float32[-1, -1] has element type float32; expected int32 or int64";
            case WRONG_RANK -> "vision_model.onnx: input 'pixel_values' float32[-1, 3, 1024] has rank 3; expected rank 4";
            case NO_PREPROCESSOR_CONFIG -> "preprocessor_config.json: file is missing";
            case MISMATCHED_DIMS -> "has 16 dimensions but";
            case WRONG_IMAGE_SIZE -> "takes 64x64 images but";
            case NONE -> throw new AssertionError();
        };
        assertThatThrownBy(() -> load(fixture).close()).isInstanceOf(BundleException.class).hasMessageContaining(expected);
    }

    @org.junit.jupiter.api.Test
    void layoutErrorsNameWhatIsMissing() throws IOException {
        Path clip = Files.createDirectories(dir.resolve("empty"));
        assertThatThrownBy(() -> ClipLayout.of(clip, Optional.empty())).isInstanceOf(BundleException.class)
                .hasMessageContaining("expected a CLIP model as text_model.onnx + vision_model.onnx");
        Files.writeString(clip.resolve("text_model.onnx"), "x");
        assertThatThrownBy(() -> ClipLayout.of(clip, Optional.empty()))
                .hasMessageContaining("found text_model.onnx but no vision_model.onnx");
        Files.writeString(clip.resolve("vision_model.onnx"), "x");
        Files.writeString(clip.resolve("preprocessor_config.json"), "{}");
        assertThatThrownBy(() -> ClipLayout.of(clip, Optional.empty())).hasMessageContaining("no CLIP tokenizer");
    }
}
