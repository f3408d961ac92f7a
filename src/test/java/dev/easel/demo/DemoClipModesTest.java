package dev.easel.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.ClipModel;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.OnnxSessions;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.testing.ClientClipScore;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every CLIP mode runs end to end on the committed demo bundle (its clip/ and clip_guidance/):
 * mechanics only — what is kept, what is reported, that guidance changes the picture. How much the
 * modes help is DemoEval's to measure (--clip-modes), not a test's: the UNet is being retrained.
 */
class DemoClipModesTest {

    private static final String PROMPT = "a big red circle on the left on a blue background";
    /** A scale in the range that steers the demo model rather than overwhelming it (docs/clip.md). */
    private static final double GUIDANCE = 30;

    static StableDiffusionModel model;
    static DiffusionPipeline pipeline;
    /** The bundle's CLIP opened on its own, to score pictures as a client would. */
    static ClipModel clip;

    @BeforeAll
    static void load() {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        model = StableDiffusionModel.load(DemoBundle.DIR, options);
        pipeline = new DiffusionPipeline(model, GenerationLimits.defaults());
        clip = ClipModel.load(ClipLayout.of(DemoBundle.DIR.resolve(ClipLayout.FOLDER),
                Optional.of(DemoBundle.DIR.resolve("tokenizer"))), new OnnxSessions(options));
    }

    @AfterAll
    static void close() {
        model.close();
        clip.close();
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder(PROMPT).size(DemoEvaluator.SIZE, DemoEvaluator.SIZE).steps(12).seed(7);
    }

    private static GenerationResult run(GenerationRequest request) {
        return pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE);
    }

    private static double score(GenerationResult result, int image) {
        return result.images().get(image).clipScore().orElseThrow();
    }

    @Test
    void gradientGuidanceChangesThePictureAndReportsItsScore() {
        assertThat(model.hasClip()).isTrue();
        GenerationResult plain = run(request().clip(ClipOptions.NONE.withScore()).build());
        GenerationResult guided = run(request().clip(ClipOptions.NONE.withGuidance(GUIDANCE)).build());
        GenerationResult again = run(request().clip(ClipOptions.NONE.withGuidance(GUIDANCE)).build());
        assertArrayEquals(guided.images().get(0).image().rgb(), again.images().get(0).image().rgb());
        assertThat(differing(plain.images().get(0).image(), guided.images().get(0).image())).isPositive();
        assertThat(score(guided, 0)).isBetween(0.0, 100.0);
        assertThat(guided.timings().clip()).isPositive();
    }

    @Test
    void gradientGuidanceRejectsSizesTheGraphWasNotBuiltFor() {
        assertThatThrownBy(() -> run(request().size(128, 64).clip(ClipOptions.NONE.withGuidance(GUIDANCE)).build()))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.field()).isEqualTo("clipGuidanceScale");
                    assertThat(e.getMessage()).contains("takes 64x64 pictures only", "128x64");
                });
    }

    @Test
    void rerankKeepsTheBestCandidate() {
        GenerationResult all = run(request().numImages(3).clip(ClipOptions.NONE.withScore()).build());
        GenerationResult best = run(request().clip(ClipOptions.NONE.withRerank(3)).build());
        GeneratedImage kept = best.images().get(0);
        double top = all.images().stream().map(i -> i.clipScore().orElseThrow()).max(Comparator.naturalOrder()).orElseThrow();
        assertThat(kept.clipScore().orElseThrow()).isEqualTo(top);
        assertArrayEquals(all.images().get((int) (kept.seed() - 7)).image().rgb(), kept.image().rgb());
    }

    @Test
    void verifierSearchRunsAndScoresWhatItKept() {
        ClipOptions verifier = ClipOptions.NONE.withVerifier(new ClipOptions.Verifier(3, new ClipOptions.Every(3)));
        GenerationResult searched = run(request().clip(verifier).build());
        GenerationResult again = run(request().clip(verifier).build());
        assertArrayEquals(searched.finalLatents(), again.finalLatents());
        RgbImage image = searched.images().get(0).image();
        assertThat(score(searched, 0)).isCloseTo(ClientClipScore.of(clip, PROMPT, image), within(1e-3));
    }

    private static int differing(RgbImage a, RgbImage b) {
        byte[] x = a.rgb();
        byte[] y = b.rgb();
        return (int) IntStream.range(0, x.length).filter(i -> x[i] != y[i]).count();
    }
}
