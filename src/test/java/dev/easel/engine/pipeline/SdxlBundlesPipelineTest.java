package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.tokenizer.PromptMode;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.RandomSdxlBundle;
import dev.easel.fixtures.SdxlVariants;
import dev.easel.testing.ClientClipScore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random SDXL-shaped bundles (real SDXL graph anatomy, seeded random weights) through the whole
 * pipeline: every export variant, the refiner after the base, image-to-image, weighted prompts and
 * the CLIP modes run and give pictures of the right size; bad requests and broken bundles name what
 * is wrong. {@link SdxlPipelineTest} checks the numbers on oracle bundles; this checks the wiring on
 * graphs shaped like the real exports.
 */
class SdxlBundlesPipelineTest {

    private static final String PROMPT = "a big red circle on a blue background";
    private static final int SIZE = 64;
    /** 64 px / the VAE's 8 = 8 latents a side. */
    private static final int LATENT = SIZE / 8;

    @TempDir
    static Path dir;
    /** Optimum-ordered random SDXL base with a toy CLIP in its clip/ folder. */
    static StableDiffusionModel base;
    static StableDiffusionModel refiner;
    /** A random SD 1.x bundle: same channels and VAE factor, another latent scaling (0.18215 vs 0.13025). */
    static StableDiffusionModel sd;
    static DiffusionPipeline pipeline;

    @BeforeAll
    static void load() throws IOException {
        EngineOptions options = EngineOptions.cpu();
        Path baseDir = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(dir.resolve("xl-base"));
        ClipFixture.create(ClipFixture.Spec.defaults()).writeTo(baseDir.resolve("clip"));
        base = StableDiffusionModel.load(baseDir, options);
        refiner = StableDiffusionModel.load(RandomSdxlBundle.create(RandomSdxlBundle.Spec.refiner())
                .writeTo(dir.resolve("xl-refiner")), options);
        sd = StableDiffusionModel.load(RandomSdBundle.create(RandomSdBundle.Spec.defaults())
                .writeTo(dir.resolve("sd")), options);
        pipeline = new DiffusionPipeline(base, GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        base.close();
        refiner.close();
        sd.close();
    }

    /** Guided (two UNet branches), so the negative branch's conditioning is exercised too. */
    private static GenerationRequest.Builder request() {
        return request(PROMPT);
    }

    private static GenerationRequest.Builder request(String prompt) {
        return GenerationRequest.builder(prompt).size(SIZE, SIZE).steps(3).guidanceScale(5f).seed(21);
    }

    private static GenerationResult run(DiffusionPipeline p, GenerationRequest request) {
        return p.generate(request, ProgressListener.NONE, Cancellation.NONE);
    }

    static Stream<Arguments> variants() {
        SdxlVariants b = SdxlVariants.BASE;
        return Stream.of(
                Arguments.of("Optimum output order", b),
                Arguments.of("Olive output order", b.withOutputOrder(SdxlVariants.OutputOrder.OLIVE)),
                Arguments.of("int64 input_ids", b.withCommon(BundleVariants.DEFAULT.withInt64Ids())),
                Arguments.of("float16 IO", b.withCommon(BundleVariants.DEFAULT.withFloat16Io())),
                Arguments.of("int64 timestep", b.withCommon(BundleVariants.DEFAULT
                        .withTimestep(BundleVariants.TimestepKind.INT64_BATCH))),
                Arguments.of("scalar float timestep", b.withCommon(BundleVariants.DEFAULT
                        .withTimestep(BundleVariants.TimestepKind.FLOAT32_SCALAR))));
    }

    /**
     * Every export variant loads as SDXL and generates a picture of the asked size with detail in
     * it; the text encoders' outputs are picked by name, so the Optimum and Olive orders of the
     * same weights give the same latents.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyExportVariantGenerates(String name, SdxlVariants variants, @TempDir Path other) throws IOException {
        Path bundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults().withVariants(variants)).writeTo(other);
        try (StableDiffusionModel model = StableDiffusionModel.load(bundle, EngineOptions.cpu())) {
            assertThat(model.kind()).isEqualTo("SDXL");
            GenerationResult result = run(new DiffusionPipeline(model, GenerationLimits.defaults()), request().build());
            assertPicture(result, 1);
            if (!variants.common().float16Io()) {
                // Same seeds, same weights: only the graph's output order (or an input dtype) differs.
                assertThat(result.finalLatents()).containsExactly(run(pipeline, request().build()).finalLatents(),
                        within(1e-4f));
            }
        }
    }

    @Test
    void readsTheRandomBundlesAsSdxl() {
        assertThat(base.kind()).isEqualTo("SDXL");
        assertThat(refiner.kind()).isEqualTo("SDXL refiner");
        assertThat(sd.kind()).isEqualTo("SD");
        // encoder_hidden_states = H1 ‖ H2 (32 + 64); the refiner's H2 only.
        assertThat(base.geometry().textHidden()).isEqualTo(96);
        assertThat(refiner.geometry().textHidden()).isEqualTo(64);
        assertThat(base.geometry().scalingFactor()).isEqualTo(0.13025f);
        // sample_size 64 latents × 8.
        assertThat(base.defaults()).isEqualTo(new ModelDefaults(512, 512, 30, 7.5f));
        assertThat(base.hasClip()).isTrue();
    }

    @Test
    void theRefinerFinishesAfterTheBase() {
        java.util.List<int[]> steps = new java.util.ArrayList<>();
        GenerationRequest.Builder request = request().steps(4);
        GenerationResult refined = pipeline.generate(request.refiner(new Refiner(refiner, 0.5)).build(),
                (step, total) -> steps.add(new int[] {step, total}), Cancellation.NONE);
        assertPicture(refined, 1);
        // Leading spacing, 4 steps: 751, 501 (base, ≥ cutoff 500), 251, 1 (refiner); progress counts all four.
        assertThat(steps).extracting(s -> s[0]).containsExactly(1, 2, 3, 4);
        assertThat(steps).extracting(s -> s[1]).containsOnly(4);
        GenerationResult alone = run(pipeline, request().steps(4).build());
        assertThat(Arrays.equals(refined.finalLatents(), alone.finalLatents())).isFalse();
    }

    /**
     * force_zeros_for_empty_prompt: no negative prompt is zero conditioning, an explicit "" is the
     * encoded empty prompt; both run, and they are different pictures.
     */
    @Test
    void anEmptyNegativePromptIsNotNone() {
        GenerationResult none = run(pipeline, request().build());
        GenerationResult empty = run(pipeline, request().negativePrompt("").build());
        assertPicture(none, 1);
        assertPicture(empty, 1);
        assertThat(Arrays.equals(none.finalLatents(), empty.finalLatents())).isFalse();
        assertThat(base.config().modelIndex().forceZerosForEmptyPrompt()).isTrue();
    }

    @Test
    void imageToImageRuns() {
        RgbImage init = run(pipeline, request().build()).images().get(0).image();
        GenerationResult result = run(pipeline, request().steps(4).image(ImageInput.img2img(init, 0.5f)).build());
        assertPicture(result, 1);
        GenerationResult stronger = run(pipeline, request().steps(4).image(ImageInput.img2img(init, 1f)).build());
        assertThat(Arrays.equals(result.finalLatents(), stronger.finalLatents())).isFalse();
    }

    /** An attention weight reaches both encoders' states: same tokens, other weights, another picture. */
    @Test
    void weightedPromptsRun() {
        GenerationResult plain = run(pipeline, request("a big red circle").promptSyntax(PromptMode.WEIGHTED).build());
        GenerationResult weighted = run(pipeline, request("a big (red:1.4) circle").promptSyntax(PromptMode.WEIGHTED).build());
        assertPicture(weighted, 1);
        assertThat(Arrays.equals(plain.finalLatents(), weighted.finalLatents())).isFalse();
        // Two chunks of 75 tokens run on this UNet, whose text sequence is dynamic.
        GenerationResult chunked = run(pipeline, request(PROMPT + " BREAK (thin outline:1.2)")
                .promptSyntax(PromptMode.WEIGHTED).build());
        assertPicture(chunked, 1);
    }

    @Test
    void clipScoresAndRerankingWork() {
        GenerationResult scored = run(pipeline, request().numImages(2).clip(ClipOptions.NONE.withScore()).build());
        assertPicture(scored, 2);
        for (GeneratedImage image : scored.images()) {
            assertThat(image.clipScore()).isPresent();
            assertThat(image.clipScore().getAsDouble())
                    .isCloseTo(ClientClipScore.of(base.clip("test"), PROMPT, image.image()), within(1e-3));
        }
        GenerationResult all = run(pipeline, request().numImages(3).clip(ClipOptions.NONE.withScore()).build());
        GenerationResult best = run(pipeline, request().clip(ClipOptions.NONE.withRerank(3)).build());
        double top = all.images().stream().mapToDouble(i -> i.clipScore().orElseThrow()).max().orElseThrow();
        assertThat(best.images()).hasSize(1);
        assertThat(best.images().get(0).clipScore().orElseThrow()).isEqualTo(top);
        assertThat(best.finalLatents()).hasSize(4 * LATENT * LATENT);
    }

    @Test
    void badRequestsNameTheField() {
        // SD's VAE latents (scaling 0.18215) are not SDXL's (0.13025): same shape, another space.
        assertField(() -> run(pipeline, request().refiner(new Refiner(sd, 0.5)).build()), "refiner.model",
                "latent space");
        RgbImage init = Pixels.solid(SIZE, SIZE, 90, 90, 200);
        GrayImage mask = new GrayImage(SIZE, SIZE, new byte[SIZE * SIZE]);
        assertField(() -> run(pipeline, request().image(ImageInput.inpaint(init, mask, 1f))
                .refiner(new Refiner(refiner, 0.5)).build()), "refiner", "inpainting");
        assertField(() -> run(pipeline, request("a BREAK b BREAK c BREAK d BREAK e")
                .promptSyntax(PromptMode.WEIGHTED).build()), "prompt", "5 chunks");
        // A1111's weight syntax has no exponent: "(a:1e999)" is the text "a:1e999" at weight 1.1, not an error.
        assertPicture(run(pipeline, request("(a:1e999) circle").promptSyntax(PromptMode.WEIGHTED).build()), 1);
        // A weight of 400 nines overflows a double: scaling the states by it would give NaN pictures.
        String infinite = "(a:" + "9".repeat(400) + ") circle";
        assertField(() -> run(pipeline, request(infinite).promptSyntax(PromptMode.WEIGHTED).build()), "prompt",
                "not a finite number");
        assertField(() -> run(pipeline, request().negativePrompt(infinite).promptSyntax(PromptMode.WEIGHTED)
                .build()), "negativePrompt", "not a finite number");
        // 3e38 is a finite float, but the states times it overflow: refused past ±100.
        String huge = "(a:3" + "0".repeat(38) + ") circle";
        assertField(() -> run(pipeline, request(huge).promptSyntax(PromptMode.WEIGHTED).build()), "prompt",
                "weights must be finite and within ±100");
        assertPicture(run(pipeline, request("(a:100) circle").promptSyntax(PromptMode.WEIGHTED).build()), 1);
    }

    /** Exports with a static text sequence of 77 (some fp16 TensorRT-minded ones) cannot take a second chunk. */
    @Test
    void aUnetWithAFixedTextSequenceRefusesLongWeightedPrompts(@TempDir Path other) throws IOException {
        Path bundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(other.resolve("fixed"));
        rewrite(bundle.resolve("unet/model.onnx"), graph -> fixDim(graph, "encoder_hidden_states", 1, 77));
        try (StableDiffusionModel model = StableDiffusionModel.load(bundle, EngineOptions.cpu())) {
            DiffusionPipeline fixed = new DiffusionPipeline(model, GenerationLimits.defaults());
            assertPicture(run(fixed, request().promptSyntax(PromptMode.WEIGHTED).build()), 1);
            assertField(() -> run(fixed, request(PROMPT + " BREAK thin outline")
                    .promptSyntax(PromptMode.WEIGHTED).build()), "prompt", "takes exactly 77 text tokens");
        }
    }

    /**
     * A refiner whose UNet takes 77 text tokens, behind a base that takes longer prompts: the prompt
     * is refused before the base takes a step, not after its share of the schedule.
     */
    @Test
    void aLongPromptTheRefinerCannotTakeIsRefusedBeforeTheBaseRuns(@TempDir Path other) throws IOException {
        Path bundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.refiner()).writeTo(other.resolve("refiner77"));
        rewrite(bundle.resolve("unet/model.onnx"), graph -> fixDim(graph, "encoder_hidden_states", 1, 77));
        try (StableDiffusionModel refiner = StableDiffusionModel.load(bundle, EngineOptions.cpu())) {
            java.util.concurrent.atomic.AtomicInteger steps = new java.util.concurrent.atomic.AtomicInteger();
            GenerationRequest handedOver = request(PROMPT + " BREAK thin outline").promptSyntax(PromptMode.WEIGHTED)
                    .steps(4).refiner(new Refiner(refiner, 0.5)).build();
            assertField(() -> pipeline.generate(handedOver, (step, total) -> steps.incrementAndGet(), Cancellation.NONE),
                    "prompt", "takes exactly 77 text tokens");
            assertThat(steps).as("no base step ran").hasValue(0);
        }
    }

    @Test
    void aSecondEncoderWithoutTextEmbedsIsNamed(@TempDir Path other) throws IOException {
        Path bundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(other.resolve("no-pooled"));
        Path encoder = bundle.resolve("text_encoder_2/model.onnx");
        // The projection is still computed, just no longer an output (a dangling node output is valid ONNX).
        rewrite(encoder, graph -> {
            GraphProto.Builder b = graph.toBuilder().clearOutput();
            graph.getOutputList().stream().filter(o -> !o.getName().equals("text_embeds")).forEach(b::addOutput);
            return b.build();
        });
        assertThatThrownBy(() -> StableDiffusionModel.load(bundle, EngineOptions.cpu()).close())
                .isInstanceOf(BundleException.class)
                .hasMessageContaining(encoder.toString())
                .hasMessageContaining("text_embeds")
                .hasMessageContaining(bundle.resolve("unet/model.onnx").toString());
    }

    /** n images of SIZE² with detail in each (not one flat colour), finite latents [n, 4, 8, 8]. */
    private static void assertPicture(GenerationResult result, int images) {
        assertThat(result.images()).hasSize(images);
        assertThat(result.finalLatents()).hasSize(images * 4 * LATENT * LATENT);
        for (float v : result.finalLatents()) {
            assertThat(v).isFinite();
        }
        for (GeneratedImage image : result.images()) {
            assertThat(image.image().width()).isEqualTo(SIZE);
            assertThat(image.image().height()).isEqualTo(SIZE);
            assertThat(distinctValues(image.image().rgb())).isGreaterThan(10);
        }
    }

    private static long distinctValues(byte[] data) {
        boolean[] seen = new boolean[256];
        long count = 0;
        for (byte b : data) {
            if (!seen[b & 0xFF]) {
                seen[b & 0xFF] = true;
                count++;
            }
        }
        return count;
    }

    private static void assertField(ThrowingCallable call, String field, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(InvalidRequestException.class,
                e -> assertThat(e.field()).isEqualTo(field)).hasMessageContaining(message);
    }

    private static void rewrite(Path model, UnaryOperator<GraphProto> change) throws IOException {
        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(model));
        Files.write(model, proto.toBuilder().setGraph(change.apply(proto.getGraph())).build().toByteArray());
    }

    /** Graph input {@code name}'s dimension {@code axis} becomes the fixed {@code size}. */
    private static GraphProto fixDim(GraphProto graph, String name, int axis, long size) {
        GraphProto.Builder b = graph.toBuilder();
        for (int i = 0; i < b.getInputCount(); i++) {
            ValueInfoProto.Builder input = b.getInput(i).toBuilder();
            if (input.getName().equals(name)) {
                TensorShapeProto.Builder shape = input.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
                shape.setDim(axis, TensorShapeProto.Dimension.newBuilder().setDimValue(size));
                b.setInput(i, input);
            }
        }
        return b.build();
    }
}
