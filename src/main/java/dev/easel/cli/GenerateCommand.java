package dev.easel.cli;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.image.PngImage;
import dev.easel.engine.image.PngLimits;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.ExecutionProvider;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationMetadata;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.ImageInput;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Lora;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.engine.pipeline.MicroConditioning;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.pipeline.Refiner;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.engine.tensor.Npy;
import dev.easel.engine.tokenizer.PromptMode;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Generates images from a bundle on this machine and writes them as PNGs. */
@Command(name = GenerateCommand.NAME, sortOptions = false,
        description = "Generate images from a model bundle (text-to-image, image-to-image, inpainting).")
@RegisterForReflection
public final class GenerateCommand implements Callable<Integer> {

    static final String NAME = "generate";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model bundle directory (diffusers/Optimum ONNX layout).")
    Path model;

    @Option(names = "--prompt", required = true, description = "What to draw.")
    String prompt;

    @Option(names = "--negative-prompt", description = "What to avoid (default: none; SDXL then uses zero negative"
            + " conditioning, while --negative-prompt \"\" is encoded).")
    String negativePrompt;

    @Option(names = "--prompt-syntax", defaultValue = "plain", description = "plain, or weighted: AUTOMATIC1111's"
            + " (word:1.3) / [word] / BREAK syntax and prompts over 75 tokens in chunks (default: ${DEFAULT-VALUE}).")
    String promptSyntax;

    @Option(names = "--steps", description = "Denoising steps (default: the model's: 30, 4 for LCM, 1 for Turbo).")
    Integer steps;

    @Option(names = "--guidance", description = "Classifier-free guidance scale; <= 1 disables it (default: the"
            + " model's: 7.5, off for LCM and Turbo).")
    Float guidance;

    @Option(names = "--scheduler", description = "pndm, ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras or lcm "
            + "(default: the bundle's).")
    String scheduler;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta (default: ${DEFAULT-VALUE}).")
    float eta;

    @Option(names = "--seed", description = "Seed of the first image; image i uses seed + i (default: random).")
    Long seed;

    @Option(names = "--width", description = "Width in pixels (default: --init-image's, else the model's: its"
            + " UNet's sample_size x 8, 512 for SD 1.5, 1024 for SDXL).")
    Integer width;

    @Option(names = "--height", description = "Height in pixels (default: --init-image's, else the model's).")
    Integer height;

    @Option(names = "--refiner", description = "SDXL refiner bundle directory: finishes the schedule on the base's latents.")
    Path refiner;

    @Option(names = "--refiner-switch-at", defaultValue = "0.8", description = "Fraction of the schedule after which"
            + " the refiner takes over, in (0, 1) (default: ${DEFAULT-VALUE}).")
    double refinerSwitchAt;

    @Option(names = "--original-size", description = "SDXL micro-conditioning WIDTHxHEIGHT (default: the output size).")
    String originalSize;

    @Option(names = "--target-size", description = "SDXL micro-conditioning WIDTHxHEIGHT (default: the output size).")
    String targetSize;

    @Option(names = "--crop-top-left", description = "SDXL micro-conditioning TOP,LEFT (default: 0,0).")
    String cropTopLeft;

    @Option(names = "--aesthetic-score", defaultValue = "6.0", description = "SDXL refiner: aesthetic score of the"
            + " prompt branch (default: ${DEFAULT-VALUE}).")
    double aestheticScore;

    @Option(names = "--negative-aesthetic-score", defaultValue = "2.5", description = "SDXL refiner: aesthetic score"
            + " of the negative branch (default: ${DEFAULT-VALUE}).")
    double negativeAestheticScore;

    @Option(names = "--num-images", defaultValue = "1", description = "Images to generate (default: ${DEFAULT-VALUE}).")
    int numImages;

    @Option(names = "--init-image", description = "PNG to start from (image-to-image; inpainting with --mask).")
    Path initImage;

    @Option(names = "--strength", description = "How much to change the init image, (0, 1] "
            + "(default: 0.8 image-to-image, 1.0 inpainting).")
    Float strength;

    @Option(names = "--mask", description = "Inpainting mask PNG, same size as --init-image: white is repainted.")
    Path mask;

    @Option(names = "--latents-in", description = "Initial noise as float32 .npy [n, C, h, w] (before the "
            + "scheduler's initial sigma), instead of the seeded noise.")
    Path latentsIn;

    @Option(names = "--latents-out", description = "Write the final latents (before VAE scaling) as .npy.")
    Path latentsOut;

    @Option(names = "--clip", description = "CLIP model directory (split or combined ONNX export; default: the "
            + "bundle's clip/ folder, if any).")
    Path clip;

    @Option(names = "--clip-score", description = "Report each image's CLIP score (also in its PNG metadata).")
    boolean clipScore;

    @Option(names = "--rerank", description = "Best-of-N: generate N candidates, keep the --num-images best by CLIP score.")
    Integer rerank;

    @Option(names = "--verifier-branches", description = "Verifier-guided sampling: candidates per branch point.")
    Integer verifierBranches;

    @Option(names = "--verifier-every", description = "Branch after every N-th step (with --verifier-branches).")
    Integer verifierEvery;

    @Option(names = "--verifier-at", split = ",", description = "Branch after these steps, e.g. 2,4,6 (with --verifier-branches).")
    List<Integer> verifierAt;

    @Option(names = "--clip-guidance", description = "Gradient CLIP guidance scale (needs the bundle's clip_guidance/model.onnx).")
    Double clipGuidance;

    @Option(names = "--edit-source", description = "Directional edit: text describing the --init-image (with --edit-target).")
    String editSource;

    @Option(names = "--edit-target", description = "Directional edit: text describing the wanted result.")
    String editTarget;

    @Option(names = "--rewrite", paramLabel = "SOURCE=TARGET", description = "Concept rewriting (TIME): edit the"
            + " UNet's cross-attention so SOURCE acts as TARGET, e.g. \"roses=blue roses\" (repeatable).")
    List<String> rewrite;

    @Option(names = "--erase", paramLabel = "CONCEPT", description = "Concept erasure (UCE): edit the UNet's"
            + " cross-attention so CONCEPT acts as the empty prompt (repeatable).")
    List<String> erase;

    @Option(names = "--preserve", paramLabel = "CONCEPT", description = "A concept --rewrite/--erase must leave"
            + " as it is (repeatable).")
    List<String> preserve;

    @Option(names = "--rewrite-lambda", description = "How strongly --rewrite/--erase keep the original weights,"
            + " > 0 (default: 0.1, as TIME and UCE).")
    Double rewriteLambda;

    @Option(names = "--rewrite-rows", paramLabel = "ROWS", description = "Which token rows of each concept the edit"
            + " maps: through-padding (the last word, EOS and the padding, as TIME's and UCE's code; default) or"
            + " through-eos (the last word and EOS; kinder to unrelated prompts on small text encoders, docs/rewriting.md).")
    String rewriteRows;

    @Option(names = "--preserve-scale", description = "The weight of --preserve's concepts against the edited ones,"
            + " > 0 (UCE's preserve_scale; default 1).")
    Double preserveScale;

    @Option(names = "--preserve-unconditional", paramLabel = "X", description = "Also keep the empty prompt's"
            + " projections (the unconditional branch of every guided generation, and the BOS row every prompt"
            + " starts with), at weight X per context, ≥ 0 (default 0: not held; docs/rewriting.md).")
    Double preserveUnconditional;

    @Option(names = "--rewrite-projections", paramLabel = "KINDS", split = ",", description = "Which"
            + " cross-attention projections --rewrite/--erase edit: key,value (default, as TIME and UCE), key or value"
            + " (value only keeps where the UNet looks and changes what it draws there).")
    List<String> rewriteProjections;

    @Option(names = "--rewrite-context", paramLabel = "TEMPLATE", description = "A prompt template with {} where"
            + " each concept goes, e.g. \"a photo of {} in a garden\": --rewrite/--erase/--preserve edit the"
            + " concept inside every template given (TIME's augmentation; repeatable, at most "
            + Rewrite.MAX_CONTEXTS + "; default: the concept alone).")
    List<String> rewriteContext;

    @Option(names = "--lora", paramLabel = "NAME_OR_PATH[:SCALE]", description = "A LoRA adapter merged into the"
            + " UNet and text encoder: a .safetensors file, or a name in --lora-dir; scale 1 unless given, e.g."
            + " film-grain:0.8 (repeatable; docs/rewriting.md).")
    List<String> lora;

    @Option(names = "--lora-dir", defaultValue = ".", description = "Where --lora names are found, as"
            + " <name>.safetensors (default: the current directory).")
    Path loraDir;

    @Option(names = "--out", required = true, description = "Output directory for the PNGs.")
    Path out;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
    ExecutionProvider provider;

    @Option(names = "--device-id", defaultValue = "0", description = "CUDA device (default: ${DEFAULT-VALUE}).")
    int deviceId;

    @Option(names = "--threads", defaultValue = "0",
            description = "ONNX Runtime intra-op threads; 0 = one per core (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--graph-optimization", defaultValue = "ALL_OPT",
            description = "ONNX Runtime graph optimisation: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OptLevel graphOptimization;

    @Option(names = "--optimized-cache", description = "Directory where ONNX Runtime's optimized graphs are kept, so"
            + " the next run skips graph optimization (default: none).")
    Path optimizedCache;

    @Override
    public Integer call() throws IOException {
        PromptMode syntax = parse("prompt-syntax", () -> PromptMode.of(promptSyntax));
        MicroConditioning micro = micro();
        EngineOptions options = new EngineOptions(provider, deviceId, true, threads, 0, graphOptimization,
                EngineOptions.DEFAULT_SPINNING, Optional.ofNullable(optimizedCache));
        PrintWriter err = spec.commandLine().getErr();
        long started = System.nanoTime();
        String name = model.getFileName() == null ? model.toString() : model.getFileName().toString();
        Optional<Path> clipDir = Optional.ofNullable(clip).or(() -> ClipLayout.inBundle(model));
        Optional<StableDiffusionModel> refinerModel = Optional.empty();
        // Optional graphs (VAE encoder, CLIP) open only if this one request uses them.
        Optional<Rewrite> edits = rewrite();
        List<Lora> adapters = loras();
        if (!adapters.isEmpty() && edits.isPresent()) {
            throw new InvalidRequestException("lora", "cannot be combined with --rewrite/--erase (both patch the"
                    + " UNet from its file)");
        }
        StableDiffusionModel base = StableDiffusionModel.loadOnFirstUse(name, model, clipDir, options);
        // The model the adapted one borrows from, closed after it.
        Optional<StableDiffusionModel> unadapted = Optional.empty();
        if (!adapters.isEmpty()) {
            long t0 = System.nanoTime();
            try {
                StableDiffusionModel adapted = base.withLoras(adapters);
                unadapted = Optional.of(base);
                base = adapted;
            } catch (InvalidRequestException e) {
                base.close();
                throw loraError(e);
            } catch (RuntimeException e) {
                base.close();
                throw e;
            }
            spec.commandLine().getOut().printf(Locale.ROOT, "merged %d LoRA adapter(s) in %.2f s%n", adapters.size(),
                    (System.nanoTime() - t0) / 1e9);
        }
        if (edits.isPresent()) {
            long t0 = System.nanoTime();
            // The edited model takes the base's parts: the UNet's weights are not held twice.
            try {
                base = base.intoRewritten(edits.get());
            } catch (RuntimeException e) {
                base.close(); // a no-op once the parts were handed on
                throw e;
            }
            spec.commandLine().getOut().printf(Locale.ROOT, "rewrote the UNet's cross-attention in %.2f s%n",
                    (System.nanoTime() - t0) / 1e9);
        }
        try (StableDiffusionModel loaded = base) {
            GenerationRequest.Builder builder = request(loaded.defaults()).promptSyntax(syntax).micro(micro);
            if (refiner != null) {
                refinerModel = Optional.of(loadRefiner(options));
                builder.refiner(new Refiner(refinerModel.get(), refinerSwitchAt));
            }
            GenerationRequest request = builder.build();
            DiffusionPipeline pipeline = new DiffusionPipeline(loaded, GenerationLimits.defaults());
            GenerationResult result = pipeline.generate(request, ProgressBar.forTerminal(err), () -> { });
            List<Path> written = write(result, request, loaded.name(), pipeline.schedulerName(request));
            if (latentsOut != null) {
                int c = loaded.geometry().latentChannels();
                int f = loaded.geometry().vaeScaleFactor();
                Npy.write(latentsOut, new long[] {numImages, c, request.height() / f, request.width() / f},
                        result.finalLatents());
            }
            spec.commandLine().getOut().printf(Locale.ROOT, "generated %d image(s) in %.2f s (generation %.2f s), "
                            + "seed %d: %s%n", written.size(), (System.nanoTime() - started) / 1e9,
                    result.timings().total() / 1e9, request.seed(), String.join(", ",
                            written.stream().map(Path::toString).toList()));
            for (GeneratedImage image : result.images()) {
                image.clipScore().ifPresent(score -> spec.commandLine().getOut().printf(Locale.ROOT,
                        "seed %d: CLIP score %.2f%n", image.seed(), score));
            }
        } finally {
            refinerModel.ifPresent(StableDiffusionModel::close);
            unadapted.ifPresent(StableDiffusionModel::close);
        }
        return 0;
    }

    /** --lora values as adapters: NAME_OR_PATH with an optional :SCALE (a path may hold colons itself). */
    private List<Lora> loras() {
        List<Lora> out = new ArrayList<>();
        for (String value : lora == null ? List.<String>of() : lora) {
            String ref = value;
            double scale = 1;
            int colon = value.lastIndexOf(':');
            if (colon > 0) {
                try {
                    scale = Double.parseDouble(value.substring(colon + 1));
                    ref = value.substring(0, colon);
                } catch (NumberFormatException e) {
                    ref = value; // not a scale: part of the path
                }
            }
            // The job contract's bound (loras[i].scale): beyond it an adapter only breaks the picture.
            if (!(scale >= -4 && scale <= 4)) {
                throw new InvalidRequestException("lora", "the scale must be between -4 and 4, got '" + value + "'");
            }
            boolean path = ref.endsWith(".safetensors") || ref.contains("/") || ref.contains(java.io.File.separator);
            Path file = path ? Path.of(ref) : loraDir.resolve(ref + ".safetensors");
            if (!Files.isRegularFile(file)) {
                throw new InvalidRequestException("lora", "no adapter file " + file + " for '" + value
                        + "' (give a .safetensors file, or a name in --lora-dir)");
            }
            String fileName = String.valueOf(file.getFileName());
            out.add(new Lora(fileName.endsWith(".safetensors")
                    ? fileName.substring(0, fileName.length() - ".safetensors".length()) : fileName, file, scale));
        }
        return out;
    }

    /** The engine's loras[i].name as the --lora value it came from. */
    private InvalidRequestException loraError(InvalidRequestException e) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("loras\\[(\\d+)\\]\\.name").matcher(e.field());
        return m.matches() ? new InvalidRequestException("lora", "'" + lora.get(Integer.parseInt(m.group(1))) + "': "
                + e.problem()) : e;
    }

    /** --rewrite/--erase and the options that shape them as one edit; empty when none is asked for. */
    private Optional<Rewrite> rewrite() {
        List<String> replacements = rewrite == null ? List.of() : rewrite;
        List<String> erasures = erase == null ? List.of() : erase;
        List<String> kept = preserve == null ? List.of() : preserve;
        if (replacements.isEmpty() && erasures.isEmpty()) {
            Optional<String> alone = !kept.isEmpty() ? Optional.of("preserve")
                    : rewriteLambda != null ? Optional.of("rewrite-lambda")
                    : rewriteRows != null ? Optional.of("rewrite-rows")
                    : rewriteContext != null ? Optional.of("rewrite-context")
                    : preserveScale != null ? Optional.of("preserve-scale")
                    : preserveUnconditional != null ? Optional.of("preserve-unconditional")
                    : rewriteProjections != null ? Optional.of("rewrite-projections") : Optional.empty();
            if (alone.isPresent()) {
                throw new InvalidRequestException(alone.get(), "only applies with --rewrite or --erase");
            }
            return Optional.empty();
        }
        Rewrite edit = Rewrite.none();
        for (String pair : replacements) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new InvalidRequestException("rewrite", "must be SOURCE=TARGET, got '" + pair + "'");
            }
            edit = edit.replace(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        for (String concept : erasures) {
            edit = edit.erase(concept);
        }
        for (String concept : kept) {
            edit = edit.preserve(concept);
        }
        if (rewriteRows != null) {
            edit = edit.withRows(Rewrite.Rows.of(rewriteRows));
        }
        if (rewriteContext != null) {
            edit = edit.withContexts(rewriteContext);
        }
        if (preserveScale != null) {
            edit = edit.withPreserveScale(preserveScale);
        }
        if (preserveUnconditional != null) {
            edit = edit.withPreserveUnconditional(preserveUnconditional);
        }
        if (rewriteProjections != null) {
            edit = edit.withProjections(Rewrite.projectionsOf(rewriteProjections));
        }
        return Optional.of(rewriteLambda == null ? edit : edit.withLambda(rewriteLambda));
    }

    private StableDiffusionModel loadRefiner(EngineOptions options) {
        String name = refiner.getFileName() == null ? refiner.toString() : refiner.getFileName().toString();
        return StableDiffusionModel.loadOnFirstUse(name, refiner, Optional.empty(), options);
    }

    /** SDXL's size/crop/aesthetic options; malformed ones are errors naming the option. */
    private MicroConditioning micro() {
        MicroConditioning micro = MicroConditioning.DEFAULT.withAestheticScores(aestheticScore, negativeAestheticScore);
        if (originalSize != null) {
            micro = micro.withOriginalSize(size("original-size", originalSize));
        }
        if (targetSize != null) {
            micro = micro.withTargetSize(size("target-size", targetSize));
        }
        if (cropTopLeft != null) {
            String[] parts = cropTopLeft.split(",", -1);
            if (parts.length != 2) {
                throw new InvalidRequestException("crop-top-left", "must be TOP,LEFT in pixels, got " + cropTopLeft);
            }
            int[] values = parse("crop-top-left", () -> new int[] {Integer.parseInt(parts[0].trim()),
                Integer.parseInt(parts[1].trim())});
            if (values[0] < 0 || values[1] < 0) {
                throw new InvalidRequestException("crop-top-left", "must be TOP,LEFT in pixels, got " + cropTopLeft);
            }
            micro = micro.withCropTopLeft(new MicroConditioning.Offset(values[0], values[1]));
        }
        return micro;
    }

    private static MicroConditioning.Size size(String option, String text) {
        String[] parts = text.toLowerCase(Locale.ROOT).split("x", -1);
        // Checked before parsing: "12" would otherwise surface as an index-out-of-bounds message.
        if (parts.length != 2) {
            throw new InvalidRequestException(option, "must be WIDTHxHEIGHT in pixels, got " + text);
        }
        int[] values = parse(option, () -> new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())});
        if (values[0] < 1 || values[1] < 1) {
            throw new InvalidRequestException(option, "must be WIDTHxHEIGHT in pixels, got " + text);
        }
        return new MicroConditioning.Size(values[0], values[1]);
    }

    private static <T> T parse(String option, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (RuntimeException e) {
            throw new InvalidRequestException(option, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** The request from the options, the model's defaults filling what they leave out. */
    private GenerationRequest.Builder request(ModelDefaults defaults) throws IOException {
        RgbImage init = initImage == null ? null : readPng(initImage, "initImage").rgb();
        int w = width != null ? width : init != null ? init.width() : defaults.width();
        int h = height != null ? height : init != null ? init.height() : defaults.height();
        GenerationRequest.Builder builder = GenerationRequest.builder(prompt)
                .negativePrompt(Optional.ofNullable(negativePrompt))
                .size(w, h)
                .steps(steps != null ? steps : defaults.steps())
                .guidanceScale(guidance != null ? guidance : defaults.guidanceScale())
                .eta(eta)
                .seed(seed != null ? seed : ThreadLocalRandom.current().nextLong(0, 1L << 32))
                .numImages(numImages);
        if (scheduler != null) {
            builder.scheduler(scheduler);
        }
        if (mask != null && initImage == null) {
            throw new InvalidRequestException("mask", "--mask needs --init-image");
        }
        if (init != null) {
            builder.image(mask == null
                    ? ImageInput.img2img(init, strength != null ? strength : 0.8f)
                    : ImageInput.inpaint(init, readPng(mask, "mask").gray(), strength != null ? strength : 1f));
        }
        if (latentsIn != null) {
            builder.initialNoise(Npy.read(latentsIn).data());
        }
        return builder.clip(clipOptions());
    }

    private ClipOptions clipOptions() {
        ClipOptions options = clipScore ? ClipOptions.NONE.withScore() : ClipOptions.NONE;
        if (rerank != null) {
            options = options.withRerank(rerank);
        }
        if (verifierBranches != null) {
            if ((verifierEvery == null) == (verifierAt == null)) {
                throw new InvalidRequestException("verifier", "--verifier-branches needs exactly one of --verifier-every"
                        + " and --verifier-at");
            }
            options = options.withVerifier(new ClipOptions.Verifier(verifierBranches, verifierEvery != null
                    ? new ClipOptions.Every(verifierEvery) : new ClipOptions.At(verifierAt)));
        } else if (verifierEvery != null || verifierAt != null) {
            throw new InvalidRequestException("verifier", "--verifier-every and --verifier-at need --verifier-branches");
        }
        if (clipGuidance != null) {
            options = options.withGuidance(clipGuidance);
        }
        if ((editSource == null) != (editTarget == null)) {
            throw new InvalidRequestException("edit", "--edit-source and --edit-target go together");
        }
        if (editSource != null) {
            options = options.withEdit(new ClipOptions.Edit(editSource, editTarget));
        }
        return options;
    }

    private static PngImage readPng(Path file, String field) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException(field, file + " does not exist");
        }
        return new PngDecoder(PngLimits.DEFAULT).decode(Files.readAllBytes(file));
    }

    private List<Path> write(GenerationResult result, GenerationRequest request, String modelName, String schedulerName)
            throws IOException {
        Files.createDirectories(out);
        PngEncoder encoder = new PngEncoder();
        List<Path> written = new ArrayList<>();
        for (GeneratedImage image : result.images()) {
            Path file = out.resolve("easel-" + image.seed() + ".png");
            byte[] png = encoder.encode(image.image(),
                    GenerationMetadata.pngText(request, modelName, schedulerName, image));
            try {
                Files.write(file, png);
            } catch (IOException e) {
                throw new UncheckedIOException("could not write " + file, e);
            }
            written.add(file);
        }
        return written;
    }
}
