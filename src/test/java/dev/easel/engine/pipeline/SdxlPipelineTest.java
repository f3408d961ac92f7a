package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.noise.PhiloxNoise;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import dev.easel.engine.tokenizer.PromptChunks;
import dev.easel.engine.tokenizer.PromptMode;
import dev.easel.fixtures.OracleSdxlBundle;
import dev.easel.fixtures.SdxlVariants;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SDXL end to end through ONNX Runtime with oracle bundles (base, refiner, Turbo) whose UNet is
 * the ideal denoiser for a target that depends on encoder_hidden_states, text_embeds and
 * time_ids: a wrong wiring of any of them (layer, encoder order, zeros for no negative prompt,
 * time ids) lands on a different picture.
 */
class SdxlPipelineTest {

    private static final String PROMPT = "red circle";
    private static final int SIZE = 64;

    @TempDir
    static Path dir;
    static OracleSdxlBundle base;
    static OracleSdxlBundle refiner;
    static StableDiffusionModel baseModel;
    static StableDiffusionModel refinerModel;
    static DiffusionPipeline pipeline;

    @BeforeAll
    static void load() throws IOException {
        base = OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults());
        refiner = OracleSdxlBundle.create(OracleSdxlBundle.Spec.refiner());
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        baseModel = StableDiffusionModel.load(base.writeTo(dir.resolve("xl-base")), options);
        refinerModel = StableDiffusionModel.load(refiner.writeTo(dir.resolve("xl-refiner")), options);
        pipeline = new DiffusionPipeline(baseModel, GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        baseModel.close();
        refinerModel.close();
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder(PROMPT).size(SIZE, SIZE).steps(12).guidanceScale(1f).seed(7)
                .scheduler("euler");
    }

    private static OracleSdxlBundle.Conditioning conditioning(OracleSdxlBundle oracle, StableDiffusionModel model,
                                                              String prompt) {
        List<dev.easel.engine.tokenizer.ClipTokenizer> tokenizers = model.config().tokenizers();
        int[] last = tokenizers.get(tokenizers.size() - 1).encodePadded(prompt);
        return oracle.conditioning(tokenizers.size() == 2 ? tokenizers.get(0).encodePadded(prompt) : null, last);
    }

    private static float[] target(String prompt) {
        return base.targetLatents(conditioning(base, baseModel, prompt), OracleSdxlBundle.timeIds(SIZE, SIZE));
    }

    @Test
    void readsTheBundleAsSdxl() {
        assertThat(baseModel.xl()).isTrue();
        assertThat(baseModel.kind()).isEqualTo("SDXL");
        assertThat(refinerModel.kind()).isEqualTo("SDXL refiner");
        assertThat(baseModel.config().tokenizers()).hasSize(2);
        assertThat(refinerModel.config().tokenizers()).hasSize(1);
        assertThat(baseModel.geometry().textHidden()).isEqualTo(base.spec().contextDim());
        assertThat(refinerModel.geometry().textHidden()).isEqualTo(refiner.spec().contextDim());
        // sample_size 64 latents × the VAE's 8: the size a job without one gets.
        assertThat(baseModel.defaults()).isEqualTo(new ModelDefaults(512, 512, 30, 7.5f));
    }

    /** Samplers whose schedule ends at sigma 0 land exactly on the ideal denoiser's target. */
    @ParameterizedTest
    @ValueSource(strings = {"euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"})
    void landsOnTheClosedFormImageWithEveryScheduler(String scheduler) {
        int steps = scheduler.equals("lcm") ? 4 : 12;
        GenerationResult result = pipeline.generate(request().scheduler(scheduler).steps(steps).build(),
                ProgressListener.NONE, Cancellation.NONE);
        float[] x0 = target(PROMPT);
        assertLatents(result.finalLatents(), x0, 2e-3f);
        Pixels.assertSolid(result.images().get(0).image(),
                base.expectedColour(conditioning(base, baseModel, PROMPT), OracleSdxlBundle.timeIds(SIZE, SIZE)), 1);
    }

    /** PNDM and DDIM stop at ᾱ₀ = alphas_cumprod[0]: √ᾱ₀·x0 + √(1−ᾱ₀)·ε̂ (see DiffusionPipelineOracleTest). */
    @ParameterizedTest
    @ValueSource(strings = {"pndm", "ddim"})
    void ddimFamilyEndsAtTheFirstTrainingTimestep(String scheduler) {
        GenerationResult result = pipeline.generate(request().scheduler(scheduler).build(), ProgressListener.NONE,
                Cancellation.NONE);
        float[] x0 = target(PROMPT);
        float[] start = new float[result.finalLatents().length];
        new PhiloxNoise(7).fill(start);
        Scheduler reference = Schedulers.create(scheduler, baseModel.config().scheduler(), 0);
        reference.setTimesteps(12);
        double alphaT = base.alphaBar(reference.timesteps()[0]);
        double alpha0 = base.alphaBar(0);
        int plane = start.length / x0.length;
        for (int i = 0; i < start.length; i++) {
            double target = x0[i / plane];
            double eps = (start[i] - Math.sqrt(alphaT) * target) / Math.sqrt(1 - alphaT);
            assertEquals(Math.sqrt(alpha0) * target + Math.sqrt(1 - alpha0) * eps, result.finalLatents()[i], 1e-3,
                    "latent " + i);
        }
    }

    @Test
    void sizeAndCropConditioningReachTheUnet() {
        MicroConditioning micro = MicroConditioning.DEFAULT
                .withOriginalSize(new MicroConditioning.Size(1024, 768))
                .withCropTopLeft(new MicroConditioning.Offset(96, 32))
                .withTargetSize(new MicroConditioning.Size(832, 640));
        GenerationResult result = pipeline.generate(request().micro(micro).build(), ProgressListener.NONE,
                Cancellation.NONE);
        // (original h, original w, crop top, crop left, target h, target w)
        float[] expected = base.targetLatents(conditioning(base, baseModel, PROMPT),
                new float[] {768, 1024, 96, 32, 640, 832});
        assertLatents(result.finalLatents(), expected, 2e-3f);
        assertThat(differs(expected, target(PROMPT))).isTrue();
    }

    /**
     * diffusers' force_zeros_for_empty_prompt: with no negative prompt the negative branch is zeros
     * (hidden states and pooled); an explicit "" is encoded. Guidance extrapolates from either.
     */
    @Test
    void noNegativePromptIsZeroConditioningAndAnEmptyOneIsEncoded() {
        float scale = 3f;
        float[] cond = target(PROMPT);
        float[] zero = base.targetLatents(base.zeroConditioning(), OracleSdxlBundle.timeIds(SIZE, SIZE));
        float[] empty = target("");
        GenerationResult absent = pipeline.generate(request().guidanceScale(scale).build(), ProgressListener.NONE,
                Cancellation.NONE);
        GenerationResult explicit = pipeline.generate(request().guidanceScale(scale).negativePrompt("").build(),
                ProgressListener.NONE, Cancellation.NONE);
        assertLatents(absent.finalLatents(), guided(zero, cond, scale), 5e-3f);
        assertLatents(explicit.finalLatents(), guided(empty, cond, scale), 5e-3f);
        assertThat(differs(guided(zero, cond, scale), guided(empty, cond, scale))).isTrue();
    }

    /**
     * Base then refiner (diffusers' denoising_end / denoising_start): the base takes the steps above
     * the cutoff, the refiner the rest on the same latents; an ideal refiner ends on its own target,
     * conditioned on its one encoder and aesthetic-score time ids.
     */
    @Test
    void theRefinerFinishesTheSchedule() {
        List<int[]> steps = new ArrayList<>();
        GenerationResult result = pipeline.generate(request().steps(10).refiner(new Refiner(refinerModel, 0.5))
                .build(), (step, total) -> steps.add(new int[] {step, total}), Cancellation.NONE);
        float[] expected = refiner.targetLatents(conditioning(refiner, refinerModel, PROMPT),
                OracleSdxlBundle.refinerTimeIds(SIZE, SIZE, 6f));
        assertLatents(result.finalLatents(), expected, 2e-3f);
        assertThat(steps).extracting(s -> s[0]).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        assertThat(steps).extracting(s -> s[1]).containsOnly(10);
        assertThat(differs(expected, target(PROMPT))).isTrue();
    }

    /** Previews go on across the hand-over, counted as progress is, and change nothing. */
    @Test
    void previewsSpanBaseAndRefiner() {
        GenerationRequest handedOver = request().steps(10).refiner(new Refiner(refinerModel, 0.5)).build();
        GenerationResult without = pipeline.generate(handedOver, ProgressListener.NONE, Cancellation.NONE);
        List<Preview> previews = new ArrayList<>();
        ProgressListener listener = new ProgressListener() {
            @Override
            public void onStep(int step, int total) {
            }

            @Override
            public void onPreview(Preview preview) {
                previews.add(preview);
            }
        };
        GenerationResult with = pipeline.generate(handedOver.withPreviews(java.util.Optional.of(
                new PreviewOptions(3, PreviewMode.APPROX, 128))), listener, Cancellation.NONE);
        org.junit.jupiter.api.Assertions.assertArrayEquals(without.finalLatents(), with.finalLatents());
        assertThat(previews).extracting(Preview::step).containsExactly(3, 6, 9);
        assertThat(previews).extracting(Preview::total).containsOnly(10);
    }

    @Test
    void refinerErrorsNameTheField() {
        assertThatThrownBy(() -> pipeline.generate(request().refiner(new Refiner(refinerModel, 1.0)).build(),
                ProgressListener.NONE, Cancellation.NONE)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("refiner.switchAt");
        // 2 steps of the leading-spaced schedule (steps_offset 1) are 501 and 1: a hand-over at
        // 0.01 (timestep 990) leaves the base none.
        assertThatThrownBy(() -> pipeline.generate(request().steps(2).refiner(new Refiner(refinerModel, 0.01)).build(),
                ProgressListener.NONE, Cancellation.NONE)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("refiner.switchAt").hasMessageContaining("base would not denoise");
    }

    /** checkHandover (the intake's) refuses what a run refuses, with the run's words, and passes what it runs. */
    @Test
    void checkHandoverRefusesWhatTheRunRefuses() {
        DiffusionPipeline refiner = new DiffusionPipeline(refinerModel, GenerationLimits.defaults());
        assertSameRefusal(request().refiner(new Refiner(refinerModel, 0.999)).build(), refiner, 0.999,
                java.util.Optional.empty());
        assertSameRefusal(request().steps(2).refiner(new Refiner(refinerModel, 0.01)).build(), refiner, 0.01,
                java.util.Optional.empty());
        // Image-to-image at strength 0.3: of 12 steps the base starts at index 9, past the 6
        // timesteps at or above a hand-over at 0.5 (timestep 500): the base would run none.
        GenerationRequest fromImage = request().image(ImageInput.img2img(Pixels.solid(SIZE, SIZE, 30, 160, 90), 0.3f))
                .refiner(new Refiner(refinerModel, 0.5)).build();
        assertSameRefusal(fromImage, refiner, 0.5, java.util.Optional.of(0.3f));

        pipeline.checkHandover(schedule(request().build(), java.util.Optional.empty()), java.util.Optional.empty(), refiner,
                0.5);
        pipeline.checkHandover(schedule(request().build(), java.util.Optional.of(0.9f)), java.util.Optional.of(0.9f),
                refiner, 0.5);
    }

    private static DiffusionPipeline.Schedule schedule(GenerationRequest request, java.util.Optional<Float> strength) {
        return new DiffusionPipeline.Schedule(request.scheduler(), request.steps(), request.eta(),
                strength.filter(s -> s < 1f).map(s -> "an initImage with strength below 1"));
    }

    private static void assertSameRefusal(GenerationRequest request, DiffusionPipeline refiner, double switchAt,
                                          java.util.Optional<Float> strength) {
        InvalidRequestException run = org.junit.jupiter.api.Assertions.assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE));
        InvalidRequestException checked = org.junit.jupiter.api.Assertions.assertThrows(InvalidRequestException.class,
                () -> pipeline.checkHandover(schedule(request, strength), strength, refiner, switchAt));
        assertThat(checked.field()).isEqualTo(run.field()).isEqualTo("refiner.switchAt");
        assertThat(checked.getMessage()).isEqualTo(run.getMessage());
    }

    /** SDXL-Turbo's config (Euler ancestral, trailing spacing): one unguided step by default, onto the target. */
    @Test
    void turboBundlesRunOneUnguidedStepByDefault(@TempDir Path turboDir) throws IOException {
        OracleSdxlBundle turbo = OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults()
                .withVariants(SdxlVariants.BASE.withTurbo(true)));
        try (StableDiffusionModel model = StableDiffusionModel.load(turbo.writeTo(turboDir.resolve("turbo")),
                EngineOptions.cpu().withIntraOpThreads(1))) {
            ModelDefaults defaults = model.defaults();
            assertThat(defaults.steps()).isEqualTo(1);
            assertThat(defaults.guidanceScale()).isZero();
            assertThat(model.config().defaultScheduler()).isEqualTo("euler_a");
            GenerationResult result = new DiffusionPipeline(model, GenerationLimits.defaults()).generate(
                    GenerationRequest.builder(PROMPT).size(SIZE, SIZE).steps(defaults.steps())
                            .guidanceScale(defaults.guidanceScale()).seed(3).build(),
                    ProgressListener.NONE, Cancellation.NONE);
            assertLatents(result.finalLatents(), turbo.targetLatents(conditioning(turbo, model, PROMPT),
                    OracleSdxlBundle.timeIds(SIZE, SIZE)), 2e-3f);
        }
    }

    /**
     * A hand-assembled SDXL bundle without the VAE's config.json gets SDXL's VAE settings, not
     * SD 1.x's: scaling factor 0.13025 and a float16 VAE upcast (SD 1.x's 0.18215 and float16 give
     * washed-out or black pictures, without an error).
     */
    @Test
    void anSdxlBundleWithoutAVaeConfigGetsSdxlsVaeSettings(@TempDir Path dir) throws IOException {
        OracleSdxlBundle fp16 = OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults()
                .withVariants(SdxlVariants.BASE.withCommon(dev.easel.fixtures.BundleVariants.DEFAULT.withFloat16Io())));
        Path bundle = fp16.writeTo(dir.resolve("fp16"));
        java.nio.file.Files.delete(bundle.resolve("vae_decoder/config.json"));
        java.nio.file.Files.deleteIfExists(bundle.resolve("vae_encoder/config.json"));
        try (StableDiffusionModel model = StableDiffusionModel.load(bundle, EngineOptions.cpu().withIntraOpThreads(1))) {
            assertThat(model.geometry().scalingFactor()).isEqualTo(0.13025f);
            assertThat(model.vaeDecoder().model().inputs().values()).extracting(dev.easel.engine.onnx.TensorSpec::type)
                    .containsOnly(ai.onnxruntime.OnnxJavaType.FLOAT);
        }
    }

    /**
     * An fp16 export: the VAE config's force_upcast has the float16 VAE graphs rewritten to float32
     * in memory (SDXL's VAE overflows in float16), while the UNet stays float16.
     */
    @Test
    void forceUpcastDecodesAnFp16BundlesVaeInFloat32(@TempDir Path fp16Dir) throws IOException {
        OracleSdxlBundle fp16 = OracleSdxlBundle.create(OracleSdxlBundle.Spec.defaults()
                .withVariants(SdxlVariants.BASE.withCommon(dev.easel.fixtures.BundleVariants.DEFAULT.withFloat16Io())));
        try (StableDiffusionModel model = StableDiffusionModel.load(fp16.writeTo(fp16Dir.resolve("fp16")),
                EngineOptions.cpu().withIntraOpThreads(1))) {
            assertThat(model.config().components().forceUpcast()).isTrue();
            assertThat(model.vaeDecoder().model().inputs().values()).extracting(dev.easel.engine.onnx.TensorSpec::type)
                    .containsOnly(ai.onnxruntime.OnnxJavaType.FLOAT);
            assertThat(model.unet().model().inputs().get("sample").type()).isEqualTo(ai.onnxruntime.OnnxJavaType.FLOAT16);
            GenerationResult result = new DiffusionPipeline(model, GenerationLimits.defaults()).generate(
                    request().build(), ProgressListener.NONE, Cancellation.NONE);
            OracleSdxlBundle.Conditioning cond = conditioning(fp16, model, PROMPT);
            assertLatents(result.finalLatents(), fp16.targetLatents(cond, OracleSdxlBundle.timeIds(SIZE, SIZE)), 1e-2f);
            Pixels.assertSolid(result.images().get(0).image(),
                    fp16.expectedColour(cond, OracleSdxlBundle.timeIds(SIZE, SIZE)), 2);
        }
    }

    /** A weighted prompt of several chunks (77 tokens of text states each); pooled and the first token from chunk 1. */
    @Test
    void longWeightedPromptsRunInChunks() {
        String prompt = PROMPT + ", " + "with a thin outline, ".repeat(20);
        GenerationResult result = pipeline.generate(GenerationRequest.builder(prompt).size(SIZE, SIZE).steps(12)
                .guidanceScale(1f).seed(7).scheduler("euler").promptSyntax(PromptMode.WEIGHTED).build(),
                ProgressListener.NONE, Cancellation.NONE);
        List<dev.easel.engine.tokenizer.ClipTokenizer> tokenizers = baseModel.config().tokenizers();
        PromptChunks first = PromptChunks.encode(tokenizers.get(0), prompt, PromptMode.WEIGHTED);
        PromptChunks second = PromptChunks.encode(tokenizers.get(1), prompt,
                PromptMode.WEIGHTED);
        assertThat(first.count()).isBetween(2, GenerationLimits.MAX_PROMPT_CHUNKS);
        float[] expected = base.targetLatents(base.conditioning(first.ids(0), second.ids(0)),
                OracleSdxlBundle.timeIds(SIZE, SIZE));
        assertLatents(result.finalLatents(), expected, 2e-3f);
    }

    /** Inpainting with SDXL's ordinary 4-channel UNet: the kept half blended back every step, the masked half painted. */
    @Test
    void inpaintsWithTheKeptRegionBlendedBack() {
        int[] kept = {200, 60, 40};
        dev.easel.engine.image.RgbImage init = Pixels.solid(SIZE, SIZE, kept[0], kept[1], kept[2]);
        byte[] mask = new byte[SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE / 2; x++) {
                mask[y * SIZE + x] = (byte) 255;
            }
        }
        dev.easel.engine.image.RgbImage image = pipeline.generate(request().steps(10).image(ImageInput.inpaint(init,
                        new dev.easel.engine.image.GrayImage(SIZE, SIZE, mask), 1f)).build(), ProgressListener.NONE,
                Cancellation.NONE).images().get(0).image();
        Pixels.assertRegion(image, 0, 0, SIZE / 2, SIZE,
                base.expectedColour(conditioning(base, baseModel, PROMPT), OracleSdxlBundle.timeIds(SIZE, SIZE)), 1);
        Pixels.assertRegion(image, SIZE / 2, 0, SIZE, SIZE,
                base.decodePixel(base.encodePatch(Pixels.normalized(kept[0], kept[1], kept[2]))), 1);
    }

    /** Image-to-image on SDXL: an ideal denoiser reaches the prompt's target from the noised image too. */
    @Test
    void imageToImageLandsOnTheTarget() {
        dev.easel.engine.image.RgbImage init = Pixels.solid(SIZE, SIZE, 30, 160, 90);
        GenerationResult result = pipeline.generate(request().image(ImageInput.img2img(init, 0.6f)).build(),
                ProgressListener.NONE, Cancellation.NONE);
        assertLatents(result.finalLatents(), target(PROMPT), 2e-3f);
    }

    private static float[] guided(float[] uncond, float[] cond, float scale) {
        float[] out = new float[cond.length];
        for (int c = 0; c < out.length; c++) {
            out[c] = uncond[c] + scale * (cond[c] - uncond[c]);
        }
        return out;
    }

    private static boolean differs(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            if (Math.abs(a[i] - b[i]) > 1e-2) {
                return true;
            }
        }
        return false;
    }

    /** Latents [1, C, h, w] equal to a per-channel target. */
    private static void assertLatents(float[] latents, float[] perChannel, float tolerance) {
        int plane = latents.length / perChannel.length;
        for (int i = 0; i < latents.length; i++) {
            assertEquals(perChannel[i / plane], latents[i], tolerance, "latent " + i);
        }
    }
}
