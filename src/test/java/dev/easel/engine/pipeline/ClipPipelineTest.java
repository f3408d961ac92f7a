package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.ClipGuidanceFixture;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.testing.ClientClipScore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every CLIP mode end to end on generated bundles with a toy CLIP: scores, reranking, verifier, guidance, edits. */
class ClipPipelineTest {

    private static final String PROMPT = "a red circle on a blue background";

    @TempDir
    static Path dir;
    /** Random SD anatomy (seed-dependent pictures) with clip/. */
    static StableDiffusionModel random;
    static DiffusionPipeline randomPipeline;
    /** Oracle bundle with clip/ and clip_guidance/. */
    static StableDiffusionModel oracle;
    static DiffusionPipeline oraclePipeline;
    /** Oracle bundle without CLIP. */
    static StableDiffusionModel plain;

    @BeforeAll
    static void load() throws IOException {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        ClipFixture clip = ClipFixture.create(ClipFixture.Spec.defaults());
        Path randomDir = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        clip.writeTo(randomDir.resolve("clip"));
        random = StableDiffusionModel.load(randomDir, options);
        randomPipeline = new DiffusionPipeline(random, GenerationLimits.defaults());

        OracleBundle bundle = OracleBundle.create(OracleBundle.Spec.defaults());
        Path oracleDir = bundle.writeTo(dir.resolve("oracle"));
        plain = StableDiffusionModel.load(oracleDir, options);
        clip.writeTo(oracleDir.resolve("clip"));
        new ClipGuidanceFixture(bundle, clip, 64).writeTo(oracleDir);
        oracle = StableDiffusionModel.load(oracleDir, options);
        oraclePipeline = new DiffusionPipeline(oracle, GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        random.close();
        oracle.close();
        plain.close();
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder(PROMPT).size(64, 64).steps(6).seed(11).scheduler("ddim");
    }

    private static GenerationResult run(DiffusionPipeline pipeline, GenerationRequest request) {
        return pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE);
    }

    private static double score(GenerationResult result, int image) {
        return result.images().get(image).clipScore().orElseThrow();
    }

    @Test
    void scoresEveryImageOnlyWhenAsked() {
        GenerationResult unscored = run(randomPipeline, request().numImages(2).build());
        assertThat(unscored.images()).allSatisfy(i -> assertThat(i.clipScore()).isEmpty());
        GenerationResult scored = run(randomPipeline, request().numImages(2).clip(ClipOptions.NONE.withScore()).build());
        for (int j = 0; j < 2; j++) {
            assertArrayEquals(unscored.images().get(j).image().rgb(), scored.images().get(j).image().rgb());
            assertThat(score(scored, j))
                    .isCloseTo(ClientClipScore.of(random.clip("test"), PROMPT, scored.images().get(j).image()), within(1e-3));
        }
        assertThat(scored.timings().clip()).isPositive();
    }

    @Test
    void rerankKeepsTheBestCandidatesBestFirst() {
        GenerationResult all = run(randomPipeline, request().numImages(4).clip(ClipOptions.NONE.withScore()).build());
        GenerationResult best = run(randomPipeline, request().numImages(2).clip(ClipOptions.NONE.withRerank(4)).build());
        List<Double> scores = all.images().stream().map(i -> i.clipScore().orElseThrow())
                .sorted(java.util.Comparator.reverseOrder()).toList();
        assertThat(best.images()).hasSize(2);
        assertThat(score(best, 0)).isEqualTo(scores.get(0));
        assertThat(score(best, 1)).isEqualTo(scores.get(1));
        for (GeneratedImage kept : best.images()) {
            GeneratedImage same = all.images().get((int) (kept.seed() - 11));
            assertArrayEquals(same.image().rgb(), kept.image().rgb());
        }
        assertThat(best.finalLatents()).hasSize(all.finalLatents().length / 2);
    }

    /** Where the verifier takes a step itself, a preview shows the estimate at the step it landed on; the result is unchanged. */
    @Test
    void previewsLeaveAVerifierSearchAlone() {
        GenerationRequest searched = request().numImages(2).clip(ClipOptions.NONE.withVerifier(
                new ClipOptions.Verifier(3, new ClipOptions.Every(2)))).build();
        GenerationResult without = run(randomPipeline, searched);
        List<Preview> previews = new java.util.ArrayList<>();
        ProgressListener listener = new ProgressListener() {
            @Override
            public void onStep(int step, int total) {
            }

            @Override
            public void onPreview(Preview preview) {
                previews.add(preview);
            }
        };
        GenerationResult with = randomPipeline.generate(searched.withPreviews(java.util.Optional.of(
                new PreviewOptions(1, PreviewMode.DECODE, 64))), listener, Cancellation.NONE);
        assertArrayEquals(without.finalLatents(), with.finalLatents());
        assertThat(with.images().get(1).image()).isEqualTo(without.images().get(1).image());
        assertThat(previews).extracting(Preview::step).containsExactly(
                java.util.stream.IntStream.range(1, searched.steps()).boxed().toArray(Integer[]::new));
    }

    @Test
    void verifierSearchesAndReportsWhatItKept() {
        ClipOptions.Verifier verifier = new ClipOptions.Verifier(3, new ClipOptions.Every(2));
        GenerationResult plainRun = run(randomPipeline, request().numImages(2).clip(ClipOptions.NONE.withScore()).build());
        GenerationResult searched = run(randomPipeline, request().numImages(2).clip(ClipOptions.NONE.withVerifier(verifier))
                .build());
        GenerationResult again = run(randomPipeline, request().numImages(2).clip(ClipOptions.NONE.withVerifier(verifier))
                .build());
        assertArrayEquals(searched.finalLatents(), again.finalLatents());
        assertThat(searched.finalLatents()).isNotEqualTo(plainRun.finalLatents());
        for (int j = 0; j < 2; j++) {
            assertThat(score(searched, j))
                    .isCloseTo(ClientClipScore.of(random.clip("test"), PROMPT, searched.images().get(j).image()), within(1e-3));
        }
        // Every scheduler family: restarts after a re-noised candidate must keep the run valid.
        for (String scheduler : List.of("pndm", "euler", "euler_a", "dpmpp_2m", "lcm")) {
            GenerationResult r = run(randomPipeline, request().scheduler(scheduler).clip(ClipOptions.NONE.withVerifier(
                    new ClipOptions.Verifier(2, new ClipOptions.At(List.of(1, 3))))).build());
            assertThat(score(r, 0)).as(scheduler).isBetween(0.0, 100.0);
            for (float v : r.finalLatents()) {
                assertThat(Float.isFinite(v)).as(scheduler).isTrue();
            }
        }
    }

    @Test
    void gradientGuidanceRaisesTheClipScore() {
        GenerationResult base = run(oraclePipeline, request().scheduler("euler").clip(ClipOptions.NONE.withScore()).build());
        // The oracle UNet pulls every step back to its fixed target, so only the late steps' moves
        // survive: the effect is small but must point the right way and grow with the scale.
        double previous = score(base, 0);
        for (double scale : new double[] {200, 800}) {
            GenerationResult guided = run(oraclePipeline, request().scheduler("euler")
                    .clip(ClipOptions.NONE.withGuidance(scale)).build());
            assertThat(score(guided, 0)).as("scale %s", scale).isGreaterThan(previous);
            previous = score(guided, 0);
        }
    }

    @Test
    void directionalEditSelectsAlongTheTextDirection() {
        RgbImage init = run(randomPipeline, request().build()).images().get(0).image();
        ClipOptions edit = ClipOptions.NONE.withEdit(new ClipOptions.Edit("red", "blue")).withRerank(4);
        GenerationResult edited = run(randomPipeline, request().numImages(2).image(ImageInput.img2img(init, 0.6f))
                .clip(edit).build());
        assertThat(edited.objective()).hasSize(2);
        assertThat(edited.objective()[0]).isGreaterThanOrEqualTo(edited.objective()[1]);
        GenerationResult searched = run(randomPipeline, request().image(ImageInput.img2img(init, 0.6f))
                .clip(ClipOptions.NONE.withEdit(new ClipOptions.Edit("red", "blue"))
                        .withVerifier(new ClipOptions.Verifier(3, new ClipOptions.Every(1)))).build());
        assertThat(searched.images().get(0).clipScore()).isPresent();
    }

    @Test
    void badRequestsNameFieldAndLimit() {
        DiffusionPipeline noClip = new DiffusionPipeline(plain, GenerationLimits.defaults());
        assertField(() -> run(noClip, request().clip(ClipOptions.NONE.withScore()).build()), "clip", "has no CLIP model");
        assertField(() -> run(randomPipeline, request().clip(ClipOptions.NONE.withGuidance(10)).build()),
                "clipGuidanceScale", "clip_guidance/model.onnx");
        assertField(() -> run(oraclePipeline, request().clip(ClipOptions.NONE.withGuidance(5000)).build()),
                "clipGuidanceScale", "must be in (0, 1000.0]");
        assertField(() -> run(randomPipeline, request().clip(ClipOptions.NONE.withRerank(17)).build()),
                "rerank.candidates", "must be between 2 and 16, got 17");
        assertField(() -> run(randomPipeline, request().numImages(3).clip(ClipOptions.NONE.withRerank(2)).build()),
                "rerank.candidates", "must be between 3 and 16, got 2");
        assertField(() -> run(randomPipeline, request().clip(ClipOptions.NONE.withVerifier(
                new ClipOptions.Verifier(2, new ClipOptions.At(List.of(6))))).build()), "verifier.atSteps",
                "step 6 is outside this run's 1 … 5");
        assertField(() -> run(randomPipeline, request().steps(60).clip(ClipOptions.NONE.withVerifier(
                new ClipOptions.Verifier(8, new ClipOptions.Every(1)))).build()), "verifier",
                "59 branch points × 8 branches = 472 candidate evaluations per image exceeds the limit of 64");
        // PNDM's schedule holds one timestep more than its steps: the verifier still counts the caller's
        // steps, as the job's intake does (JobRules), so the same request is refused the same way.
        assertField(() -> run(randomPipeline, request().scheduler("pndm").clip(ClipOptions.NONE.withVerifier(
                new ClipOptions.Verifier(2, new ClipOptions.At(List.of(6))))).build()), "verifier.atSteps",
                "step 6 is outside this run's 1 … 5");
        assertField(() -> run(randomPipeline, request().scheduler("pndm").steps(60).clip(ClipOptions.NONE
                .withVerifier(new ClipOptions.Verifier(8, new ClipOptions.Every(1)))).build()), "verifier",
                "59 branch points × 8 branches = 472 candidate evaluations per image exceeds the limit of 64");
        assertField(() -> run(randomPipeline, request().clip(ClipOptions.NONE.withEdit(new ClipOptions.Edit("red", "blue"))
                .withRerank(2)).build()), "edit", "needs an initImage");
        RgbImage init = new RgbImage(64, 64, new byte[64 * 64 * 3]);
        assertField(() -> run(randomPipeline, request().image(ImageInput.img2img(init, 0.5f))
                .clip(ClipOptions.NONE.withEdit(new ClipOptions.Edit("red", "blue"))).build()), "edit", "needs rerank or verifier");
        assertField(() -> run(randomPipeline, request().image(ImageInput.inpaint(init, new GrayImage(64, 64,
                new byte[64 * 64]), 1f)).clip(ClipOptions.NONE.withVerifier(new ClipOptions.Verifier(2,
                new ClipOptions.Every(2)))).build()), "verifier", "inpainting");
    }

    private static void assertField(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String field,
                                    String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(InvalidRequestException.class,
                e -> assertThat(e.field()).isEqualTo(field)).hasMessageContaining(message);
    }
}
