package dev.easel.engine.pipeline;

import dev.easel.engine.bundle.BundleConfig;
import dev.easel.engine.bundle.BundleLayout;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.onnx.ClipGuidanceModel;
import dev.easel.engine.onnx.ClipModel;
import dev.easel.engine.bundle.ComponentConfigs;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.OnnxModel;
import dev.easel.engine.onnx.OnnxSessions;
import dev.easel.engine.onnx.TextEncoder;
import dev.easel.engine.onnx.Unet;
import dev.easel.engine.onnx.VaeDecoder;
import dev.easel.engine.onnx.VaeEncoder;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A loaded Stable Diffusion bundle: its configs, tokenizer and one ONNX Runtime session per
 * model, created once and shared by every job (sessions are thread-safe for {@code run}).
 */
public final class StableDiffusionModel implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(StableDiffusionModel.class.getName());
    /** SD 1.x's VAE scaling factor, used when the bundle's VAE config does not say. */
    static final float DEFAULT_SCALING_FACTOR = 0.18215f;
    /** SDXL's VAE (madebyollin's, and SDXL base's config): its latents have a smaller spread. */
    static final float SDXL_SCALING_FACTOR = 0.13025f;
    /** The gradient graph of CLIP guidance, relative to the bundle (contract: {@link ClipGuidanceModel}). */
    public static final String CLIP_GUIDANCE = "clip_guidance/model.onnx";

    private final String name;
    private final BundleConfig config;
    /** One per text stage of the layout, in its order. */
    private final List<TextEncoder> textEncoders;
    private final Unet unet;
    private final VaeDecoder vaeDecoder;
    private final OptionalGraph<VaeEncoder> vaeEncoder;
    private final OptionalGraph<ClipModel> clip;
    private final OptionalGraph<ClipGuidanceModel> clipGuidance;
    private final ModelGeometry geometry;
    /** Fitted on the first approximate preview ({@link #latentRgb}); null until then. */
    private volatile LatentRgb latentRgb;
    private final OnnxSessions sessions;
    /**
     * What {@link #close} closes: everything, for a {@link #rewritten} model only its own UNet, and
     * nothing once {@link #intoRewritten} has handed the parts on.
     */
    private volatile List<AutoCloseable> owned;
    /** Whether a graph runs with patched weights (a rewrite or LoRA): set before the model is handed out. */
    private boolean patched;
    /** Each graph's adaptable weights, indexed on the first {@link #checkLoras} that needs them. */
    private final java.util.Map<Path, IndexedGraph> loraTargets = new java.util.concurrent.ConcurrentHashMap<>();

    /** A graph's adaptable weights, or why they could not be indexed (one of the two is null). */
    private record IndexedGraph(dev.easel.engine.onnx.LoraTargets targets,
                                dev.easel.engine.bundle.BundleException failure) {
    }

    /** The bundle's models; the CLIP ones are optional. */
    private record Parts(List<TextEncoder> textEncoders, Unet unet, VaeDecoder vaeDecoder,
                         OptionalGraph<VaeEncoder> vaeEncoder, OptionalGraph<ClipModel> clip,
                         OptionalGraph<ClipGuidanceModel> clipGuidance, OnnxSessions sessions) {
    }

    private StableDiffusionModel(String name, BundleConfig config, Parts parts) {
        this(name, config, parts, null);
    }

    /** {@code owned} null: the model owns all its parts. */
    private StableDiffusionModel(String name, BundleConfig config, Parts parts, List<AutoCloseable> owned) {
        this.sessions = parts.sessions();
        this.name = name;
        this.config = config;
        this.textEncoders = List.copyOf(parts.textEncoders());
        this.unet = parts.unet();
        this.vaeDecoder = parts.vaeDecoder();
        this.vaeEncoder = parts.vaeEncoder();
        this.clip = parts.clip();
        this.clipGuidance = parts.clipGuidance();
        this.geometry = resolveGeometry();
        checkAddedConditions();
        if (owned == null) {
            List<AutoCloseable> all = new ArrayList<>();
            all.add(clip);
            all.add(clipGuidance);
            all.addAll(textEncoders);
            all.add(unet);
            all.add(vaeDecoder);
            all.add(vaeEncoder);
            this.owned = List.copyOf(all);
        } else {
            this.owned = List.copyOf(owned);
        }
    }

    /**
     * This model with its UNet's cross-attention key/value projections edited in closed form
     * (TIME's replacement, UCE's erasure and preservation: {@link dev.easel.engine.patch.ClosedFormEdit}).
     * The concepts are encoded by this model's own text encoder(s) ({@link ConceptEncoder}); the
     * UNet file is opened again with the edited weights handed to ONNX Runtime in place of the
     * file's (the bundle on disk is not changed or copied). Text encoders, VAE and CLIP are shared:
     * the returned model must be closed before this one, and closing it closes only its UNet.
     *
     * @throws InvalidRequestException for a concept with no tokens or an edit with nothing to change
     * @throws dev.easel.engine.bundle.BundleException when the UNet has no cross-attention to edit
     */
    public StableDiffusionModel rewritten(Rewrite rewrite) {
        requireFilesWeights("a rewrite");
        List<dev.easel.engine.onnx.WeightPatch> patches = patches(rewrite);
        return withUnet(openPatchedUnet(patches), false);
    }

    /**
     * Like {@link #rewritten}, but this model's parts move to the returned one and this model's
     * UNet is closed before the edited one opens, so the UNet's weights are never in memory twice
     * (the CLI's one-off run). Afterwards this model must not be used; closing it does nothing.
     */
    public StableDiffusionModel intoRewritten(Rewrite rewrite) {
        requireFilesWeights("a rewrite");
        List<dev.easel.engine.onnx.WeightPatch> patches = patches(rewrite);
        List<AutoCloseable> mine = owned;
        owned = List.of();
        closeQuietly(unet);
        try {
            return withUnet(openPatchedUnet(patches), true);
        } catch (RuntimeException e) {
            mine.stream().filter(c -> c != unet).forEach(StableDiffusionModel::closeQuietly);
            throw e;
        }
    }

    /** The edit's new k/v weights: concepts encoded by this model, solved, applied to the UNet file's weights. */
    private List<dev.easel.engine.onnx.WeightPatch> patches(Rewrite rewrite) {
        if (rewrite.isEmpty()) {
            throw new InvalidRequestException("rewrite", "nothing to edit: give a replacement or a concept to erase"
                    + " (preserved concepts only constrain an edit)");
        }
        dev.easel.engine.patch.ClosedFormEdit edit = dev.easel.engine.patch.ClosedFormEdit.solve(
                new ConceptEncoder(this).problem(rewrite));
        Path file = unet.model().file();
        try {
            dev.easel.engine.onnx.OnnxGraphIndex graph = dev.easel.engine.onnx.OnnxGraphIndex.read(file);
            return dev.easel.engine.onnx.CrossAttentionPatch.compute(graph,
                    dev.easel.engine.onnx.CrossAttentionProjections.find(graph), rewrite.projections(), edit);
        } catch (java.io.IOException e) {
            throw dev.easel.engine.bundle.BundleException.inFile(file, "could not read the UNet's weights: "
                    + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new dev.easel.engine.bundle.BundleException(e.getMessage(), e);
        }
    }

    private Unet openPatchedUnet(List<dev.easel.engine.onnx.WeightPatch> patches) {
        Path file = unet.model().file();
        return wrapped(OnnxModel.openPatched(sessions, file, OnnxSessions.Role.LOOP, patches), m -> new Unet(m, sessions));
    }

    /**
     * This model with LoRA adapters merged into its UNet and text encoder(s): W' = W + Σ scale ·
     * (alpha / rank) · up · down for every module of every adapter ({@link dev.easel.engine.onnx.LoraPatch}).
     * The adapted graphs are opened again with the merged weights handed to ONNX Runtime in place
     * of the files' (nothing on disk changes); the VAE, CLIP and unadapted graphs are shared. Close
     * the returned model before this one; closing it closes only the graphs it opened.
     *
     * @throws InvalidRequestException naming {@code loras[i].name} when adapter i cannot be read, a
     *         module of it matches no weight of the model, or its factors do not fit the weight
     */
    public StableDiffusionModel withLoras(List<Lora> loras) {
        requireFilesWeights("LoRA adapters");
        LoraPatches patches = loraPatches(loras);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            List<TextEncoder> texts = new ArrayList<>();
            for (int i = 0; i < textEncoders.size(); i++) {
                List<dev.easel.engine.onnx.WeightPatch> p = patches.texts().get(i);
                TextEncoder encoder = textEncoders.get(i);
                texts.add(p.isEmpty() ? encoder : opened(opened, wrapped(OnnxModel.openPatched(sessions,
                        encoder.model().file(), OnnxSessions.Role.STAGE, p), m -> new TextEncoder(m, sessions))));
            }
            Unet adapted = patches.unet().isEmpty() ? unet : opened(opened, openPatchedUnet(patches.unet()));
            Parts parts = new Parts(texts, adapted, vaeDecoder, vaeEncoder, clip, clipGuidance, sessions);
            StableDiffusionModel model = new StableDiffusionModel(name, config, parts, opened);
            model.patched = true;
            return model;
        } catch (RuntimeException e) {
            opened.forEach(StableDiffusionModel::closeQuietly);
            throw e;
        }
    }

    /** The merged weights of the UNet and of each text encoder (empty: that graph is not adapted). */
    private record LoraPatches(List<dev.easel.engine.onnx.WeightPatch> unet,
                               List<List<dev.easel.engine.onnx.WeightPatch>> texts) {
    }

    /**
     * Checks LoRA adapters against this model as {@link #withLoras} would, from their headers
     * alone and without opening anything: each file readable, each module for a text encoder the
     * model has, matching exactly one weight, its factors' shapes fitting it. What only the merge
     * reads (alpha's value, the factors' values and their dtypes) is not checked; where an
     * adapter has such a fault and another a shape fault, the merge may name the first, this the
     * second. The first check that needs a graph reads it to index its weights; later ones use
     * the index (or the failure to read it).
     *
     * @throws InvalidRequestException naming {@code loras[i].name}, with {@link #withLoras}'s message
     */
    public void checkLoras(List<Lora> loras) {
        List<dev.easel.engine.lora.LoraAdapter> adapters = adapters(loras, true);
        List<dev.easel.engine.lora.LoraAdapter.Component> textComponents = textComponents();
        check(unet.model().file(), dev.easel.engine.lora.LoraAdapter.Component.UNET, loras, adapters);
        for (int i = 0; i < textEncoders.size(); i++) {
            check(textEncoders.get(i).model().file(), textComponents.get(i), loras, adapters);
        }
    }

    private void check(Path file, dev.easel.engine.lora.LoraAdapter.Component component, List<Lora> loras,
                       List<dev.easel.engine.lora.LoraAdapter> adapters) {
        if (adapters.stream().noneMatch(a -> a.modules().stream().anyMatch(m -> m.component() == component))) {
            return;
        }
        IndexedGraph indexed = loraTargets.computeIfAbsent(file, f -> {
            try {
                return new IndexedGraph(dev.easel.engine.onnx.LoraTargets.of(
                        dev.easel.engine.onnx.OnnxGraphIndex.read(f), component), null);
            } catch (java.io.IOException e) {
                return new IndexedGraph(null, dev.easel.engine.bundle.BundleException.inFile(f,
                        "could not read the weights: " + e.getMessage(), e));
            } catch (IllegalArgumentException e) {
                return new IndexedGraph(null, new dev.easel.engine.bundle.BundleException(e.getMessage(), e));
            }
        });
        if (indexed.failure() != null) {
            throw indexed.failure(); // kept: a graph that cannot be read is not read again for every job
        }
        dev.easel.engine.onnx.LoraTargets targets = indexed.targets();
        for (int i = 0; i < adapters.size(); i++) {
            try {
                targets.match(adapters.get(i));
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException(loraField(i), "adapter '" + loras.get(i).name() + "': "
                        + e.getMessage());
            }
        }
    }

    private static List<dev.easel.engine.lora.LoraAdapter.Component> textComponents() {
        return List.of(dev.easel.engine.lora.LoraAdapter.Component.TEXT_ENCODER,
                dev.easel.engine.lora.LoraAdapter.Component.TEXT_ENCODER_2);
    }

    private LoraPatches loraPatches(List<Lora> loras) {
        List<dev.easel.engine.lora.LoraAdapter> adapters = adapters(loras, false);
        List<dev.easel.engine.lora.LoraAdapter.Component> textComponents = textComponents();
        List<dev.easel.engine.onnx.WeightPatch> unetPatches = patchesFor(unet.model().file(),
                dev.easel.engine.lora.LoraAdapter.Component.UNET, loras, adapters);
        List<List<dev.easel.engine.onnx.WeightPatch>> texts = new ArrayList<>();
        for (int i = 0; i < textEncoders.size(); i++) {
            texts.add(patchesFor(textEncoders.get(i).model().file(), textComponents.get(i), loras, adapters));
        }
        return new LoraPatches(unetPatches, texts);
    }

    /**
     * The adapters read (whole, or their headers alone), each module for a text encoder this model has.
     *
     * @throws InvalidRequestException naming {@code loras[i].name}
     */
    private List<dev.easel.engine.lora.LoraAdapter> adapters(List<Lora> loras, boolean headersOnly) {
        List<dev.easel.engine.lora.LoraAdapter> adapters = new ArrayList<>();
        for (int i = 0; i < loras.size(); i++) {
            Lora lora = loras.get(i);
            // Named by file name alone: the message reaches clients, the adapter directory need not.
            String label = String.valueOf(lora.file().getFileName());
            try {
                adapters.add(dev.easel.engine.lora.LoraAdapter.of(headersOnly
                        ? dev.easel.engine.lora.Safetensors.readHeader(lora.file(), label)
                        : dev.easel.engine.lora.Safetensors.read(lora.file(), label)));
            } catch (java.io.IOException e) {
                throw new InvalidRequestException(loraField(i), "adapter '" + lora.name() + "' ("
                        + lora.file().getFileName() + ") cannot be read: " + e.getClass().getSimpleName());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException(loraField(i), "adapter '" + lora.name() + "': " + e.getMessage());
            }
        }
        List<dev.easel.engine.lora.LoraAdapter.Component> textComponents = textComponents();
        for (int i = 0; i < adapters.size(); i++) {
            for (dev.easel.engine.lora.LoraAdapter.Module m : adapters.get(i).modules()) {
                int index = textComponents.indexOf(m.component());
                if (index >= textEncoders.size()) {
                    throw new InvalidRequestException(loraField(i), "adapter '" + loras.get(i).name() + "': module '"
                            + m.key() + "' is for the " + m.component().label() + " but model " + name + " has "
                            + textEncoders.size() + " text encoder" + (textEncoders.size() == 1 ? "" : "s"));
                }
            }
        }
        return adapters;
    }

    /** One graph's merged weights; the graph is read only when an adapter has modules for it. */
    private static List<dev.easel.engine.onnx.WeightPatch> patchesFor(Path file,
            dev.easel.engine.lora.LoraAdapter.Component component, List<Lora> loras,
            List<dev.easel.engine.lora.LoraAdapter> adapters) {
        boolean used = adapters.stream().anyMatch(a -> a.modules().stream().anyMatch(m -> m.component() == component));
        if (!used) {
            return List.of();
        }
        dev.easel.engine.onnx.LoraPatch patch;
        try {
            patch = new dev.easel.engine.onnx.LoraPatch(dev.easel.engine.onnx.OnnxGraphIndex.read(file), component);
        } catch (java.io.IOException e) {
            throw dev.easel.engine.bundle.BundleException.inFile(file, "could not read the weights: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new dev.easel.engine.bundle.BundleException(e.getMessage(), e);
        }
        for (int i = 0; i < adapters.size(); i++) {
            try {
                patch.add(adapters.get(i), loras.get(i).scale());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException(loraField(i), "adapter '" + loras.get(i).name() + "': "
                        + e.getMessage());
            }
        }
        try {
            return patch.patches();
        } catch (java.io.IOException e) {
            throw dev.easel.engine.bundle.BundleException.inFile(file, "could not read the weights: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new dev.easel.engine.bundle.BundleException(e.getMessage(), e);
        }
    }

    /** The request field naming adapter i. */
    static String loraField(int i) {
        return "loras[" + i + "].name";
    }

    /**
     * Patches are computed from the files' weights: a second patch on a patched model would start
     * from the file again and silently drop the first.
     */
    private void requireFilesWeights(String what) {
        if (patched) {
            throw new IllegalStateException("model " + name + " already has patched weights (a rewrite or LoRA"
                    + " adapters); " + what + " apply to a model loaded from its bundle");
        }
    }

    /** A model of this one's parts with another UNet; it owns all of them, or only that UNet. */
    private StableDiffusionModel withUnet(Unet patched, boolean ownsAll) {
        try {
            Parts parts = new Parts(textEncoders, patched, vaeDecoder, vaeEncoder, clip, clipGuidance, sessions);
            StableDiffusionModel model = new StableDiffusionModel(name, config, parts,
                    ownsAll ? null : List.of(patched));
            model.patched = true;
            return model;
        } catch (RuntimeException e) {
            closeQuietly(patched);
            throw e;
        }
    }

    /** Loads the bundle in {@code dir}; the model is named after the directory. */
    public static StableDiffusionModel load(Path dir, EngineOptions options) {
        return load(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(), dir, options);
    }

    /** Loads a bundle, with its own clip/ folder if it has one. */
    public static StableDiffusionModel load(String name, Path dir, EngineOptions options) {
        return load(name, dir, ClipLayout.inBundle(dir), options);
    }

    /**
     * Loads a bundle, failing fast with the file and tensor named when it is broken.
     *
     * @param clipDir the CLIP model to use (the bundle's clip/ folder, or a separate one); empty for none.
     *                A clip_guidance/model.onnx in the bundle is loaded too.
     */
    public static StableDiffusionModel load(String name, Path dir, Optional<Path> clipDir, EngineOptions options) {
        StableDiffusionModel model = loadOnFirstUse(name, dir, clipDir, options);
        try {
            model.openOptionalGraphs();
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Loads a bundle's required graphs (text encoders, UNet, VAE decoder) now and its optional ones
     * (VAE encoder, CLIP, CLIP guidance) when a request first needs them: a one-off run that does
     * not use them does not pay for them (the CLI). A broken optional graph then fails that request,
     * not the load; the worker loads eagerly ({@link #load}) so a broken bundle is known at start.
     */
    public static StableDiffusionModel loadOnFirstUse(String name, Path dir, Optional<Path> clipDir,
                                                      EngineOptions options) {
        BundleConfig config = BundleConfig.read(dir);
        BundleLayout layout = config.layout().requireModels();
        OnnxSessions sessions = new OnnxSessions(options);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            List<TextEncoder> texts = new ArrayList<>();
            for (BundleLayout.TextStage stage : layout.texts()) {
                texts.add(opened(opened, wrapped(OnnxModel.open(sessions, stage.encoder()),
                        m -> new TextEncoder(m, sessions))));
            }
            Unet unet = opened(opened, wrapped(OnnxModel.open(sessions, layout.unet(), OnnxSessions.Role.LOOP),
                    m -> new Unet(m, sessions)));
            // Without a VAE config, SDXL's family default: its VAE overflows in float16.
            boolean upcast = config.components().forceUpcast()
                    || !config.components().vaeConfigured() && unet.addedConditions();
            VaeDecoder decoder = opened(opened, wrapped(vae(sessions, layout.vaeDecoder(), upcast),
                    m -> new VaeDecoder(m, sessions)));
            OptionalGraph<VaeEncoder> encoder = layout.vaeEncoder()
                    .map(file -> OptionalGraph.of(() -> wrapped(vae(sessions, file, upcast),
                            m -> new VaeEncoder(m, sessions))))
                    .orElseGet(OptionalGraph::absent);
            OptionalGraph<ClipModel> clip = clipDir
                    .map(clipRoot -> OptionalGraph.of(() -> ClipModel.load(ClipLayout.of(clipRoot,
                            Optional.of(layout.tokenizer())), sessions)))
                    .orElseGet(OptionalGraph::absent);
            Path guidanceFile = dir.resolve(CLIP_GUIDANCE);
            OptionalGraph<ClipGuidanceModel> guidance = java.nio.file.Files.isRegularFile(guidanceFile)
                    ? OptionalGraph.of(() -> wrapped(OnnxModel.open(sessions, guidanceFile),
                            m -> new ClipGuidanceModel(m, sessions)))
                    : OptionalGraph.absent();
            return new StableDiffusionModel(name, config, new Parts(texts, unet, decoder, encoder, clip, guidance,
                    sessions));
        } catch (RuntimeException e) {
            for (AutoCloseable c : opened) {
                closeQuietly(c);
            }
            throw e;
        }
    }

    /**
     * The wrapper of a model just opened; the model is closed when the wrapper refuses it (a graph
     * that breaks the contract, such as a UNet with an input Easel does not feed): its session may
     * hold gigabytes, and nothing else holds it yet.
     */
    private static <T> T wrapped(OnnxModel model, java.util.function.Function<OnnxModel, T> wrap) {
        try {
            return wrap.apply(model);
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    /** Opens the optional graphs now and checks them against the rest (CLIP guidance against CLIP and the VAE). */
    public void openOptionalGraphs() {
        vaeEncoder.get();
        clip.get();
        clipGuidance.get().ifPresent(this::checkClipGuidanceOnce);
    }

    /**
     * A VAE graph; with {@code force_upcast} (SDXL's VAE overflows in float16) a float16 graph is
     * rewritten to float32 in memory ({@link OnnxModel#openUpcast}), as diffusers upcasts it. One
     * that cannot be (weights in an external file) runs as it is, with a warning.
     */
    private static OnnxModel vae(OnnxSessions sessions, Path file, boolean forceUpcast) {
        // The input types are read from the file, so a float16 VAE is opened once, upcast; a
        // session tells them only where the file cannot be read that way.
        if (!forceUpcast || !OnnxModel.float16Inputs(file).orElseGet(() -> sessionTakesFloat16(sessions, file))) {
            return OnnxModel.open(sessions, file);
        }
        try {
            OnnxModel upcast = OnnxModel.openUpcast(sessions, file);
            LOG.log(Level.INFO, "{0}: float16 VAE upcast to float32 in memory (force_upcast)", file);
            return upcast;
        } catch (dev.easel.engine.bundle.BundleException e) {
            LOG.log(Level.WARNING, "{0}: force_upcast is set but the float16 VAE cannot be upcast ({1}); it runs in"
                    + " float16, where SDXL''s VAE may overflow (NaN or black images)", file, e.getMessage());
            return OnnxModel.open(sessions, file);
        }
    }

    private static boolean sessionTakesFloat16(OnnxSessions sessions, Path file) {
        try (OnnxModel probe = OnnxModel.open(sessions, file)) {
            return probe.inputs().values().stream().anyMatch(spec -> spec.type() == ai.onnxruntime.OnnxJavaType.FLOAT16);
        }
    }

    private static <T extends AutoCloseable> T opened(List<AutoCloseable> opened, T model) {
        opened.add(model);
        return model;
    }

    private ModelGeometry resolveGeometry() {
        ComponentConfigs cfg = config.components();
        int latent = firstKnown(vaeDecoder.latentChannels(), cfg.latentChannels().orElse(-1), unet.outChannels(), 4);
        if (unet.outChannels() > 0 && unet.outChannels() != latent) {
            throw unet.model().error("output 'out_sample' has " + unet.outChannels() + " channels but the VAE decoder takes "
                    + latent + " latent channels");
        }
        int in = firstKnown(unet.inChannels(), cfg.unetInChannels().orElse(-1), latent, latent);
        if (in != latent && in != 2 * latent + 1) {
            throw unet.model().error("input 'sample' has " + in + " channels; expected " + latent + " (text-to-image) or "
                    + (2 * latent + 1) + " (inpainting: latents, mask, masked-image latents)");
        }
        int hidden = textWidth(cfg);
        if (unet.textHiddenSize() > 0 && hidden > 0 && unet.textHiddenSize() != hidden) {
            throw unet.model().error("input 'encoder_hidden_states' expects hidden size " + unet.textHiddenSize()
                    + " but the text encoder" + (textEncoders.size() > 1 ? "s (" : " (") + encoderFiles()
                    + ") produce" + (textEncoders.size() > 1 ? " " : "s ") + hidden);
        }
        int maxTokens = config.tokenizer().maxLength();
        for (int i = 0; i < textEncoders.size(); i++) {
            TextEncoder encoder = textEncoders.get(i);
            int length = config.tokenizers().get(i).maxLength();
            if (encoder.sequenceLength() > 0 && encoder.sequenceLength() != length) {
                throw encoder.model().error("input 'input_ids' takes " + encoder.sequenceLength() + " tokens but "
                        + config.layout().texts().get(i).tokenizer().resolve("tokenizer_config.json")
                        + " sets model_max_length " + length);
            }
            if (length != maxTokens) {
                throw encoder.model().error("its tokenizer pads to " + length + " tokens but the first pads to "
                        + maxTokens + "; both encoders' states are concatenated token by token");
            }
        }
        int scale = cfg.vaeScaleFactor().orElseGet(() -> vaeDecoder.measureScaleFactor(latent));
        float scaling = (float) cfg.vaeScalingFactor().orElseGet(() -> {
            // diffusers' defaults by family: a wrong factor gives washed-out or black pictures, not an error.
            float fallback = unet.addedConditions() ? SDXL_SCALING_FACTOR : DEFAULT_SCALING_FACTOR;
            LOG.log(cfg.vaeConfigured() ? Level.INFO : Level.WARNING, "{0}: no scaling_factor in the VAE config"
                    + " (vae_decoder/config.json{1}); using {2}''s {3}", new Object[] {name,
                    cfg.vaeConfigured() ? "" : " is missing", unet.addedConditions() ? "SDXL" : "SD 1.x/2.x", fallback});
            return fallback;
        });
        return new ModelGeometry(latent, in, scale, scaling, hidden, maxTokens);
    }

    /** The UNet's text width: SD's encoder's last layer, or SDXL's encoders' penultimate layers side by side. */
    private int textWidth(ComponentConfigs cfg) {
        if (!unet.addedConditions()) {
            return firstKnown(textEncoders.get(0).hiddenSize(TextEncoder.Layer.LAST), cfg.textHiddenSize().orElse(-1),
                    unet.textHiddenSize(), -1);
        }
        int sum = 0;
        for (TextEncoder encoder : textEncoders) {
            int width = encoder.hiddenSize(TextEncoder.Layer.PENULTIMATE);
            if (width <= 0) {
                return unet.textHiddenSize();
            }
            sum += width;
        }
        return sum;
    }

    private String encoderFiles() {
        return String.join(", ", textEncoders.stream().map(e -> e.model().file().toString()).toList());
    }

    /**
     * SDXL: the UNet's {@code text_embeds} come from the last encoder's projection and its
     * {@code time_ids} layout (6 values, or 5 with the refiner's aesthetic score) agrees with
     * model_index.json.
     */
    private void checkAddedConditions() {
        if (!unet.addedConditions()) {
            return;
        }
        TextEncoder pooled = textEncoders.get(textEncoders.size() - 1);
        if (!pooled.hasTextEmbeds()) {
            throw pooled.model().error("has no output 'text_embeds', but the UNet (" + unet.model().file()
                    + ") takes the pooled text embedding of the bundle's last text encoder");
        }
        if (unet.textEmbedsSize() > 0 && pooled.textEmbedsSize() > 0 && unet.textEmbedsSize() != pooled.textEmbedsSize()) {
            throw unet.model().error("input 'text_embeds' takes " + unet.textEmbedsSize() + " values but "
                    + pooled.model().file() + " projects to " + pooled.textEmbedsSize());
        }
        int timeIds = unet.timeIdsSize();
        if (timeIds > 0 && timeIds != 5 && timeIds != 6) {
            throw unet.model().error("input 'time_ids' takes " + timeIds + " values; SDXL's take 6 (original size,"
                    + " crop, target size) or 5 (the refiner's: original size, crop, aesthetic score)");
        }
        if (timeIds > 0 && (timeIds == 5) != config.modelIndex().requiresAestheticsScore()) {
            throw unet.model().error("input 'time_ids' takes " + timeIds + " values but model_index.json says"
                    + " requires_aesthetics_score " + config.modelIndex().requiresAestheticsScore());
        }
    }

    /** Whether this is an SDXL-family bundle (its UNet takes {@code text_embeds} and {@code time_ids}). */
    public boolean xl() {
        return unet.addedConditions();
    }

    /** Whether the UNet's time ids carry an aesthetic score (the SDXL refiner) rather than a target size. */
    boolean aestheticTimeIds() {
        int width = unet.timeIdsSize();
        return width > 0 ? width == 5 : config.modelIndex().requiresAestheticsScore();
    }

    /**
     * What a request that leaves them out gets, as diffusers derives it: the size the UNet was
     * trained at (config sample_size × the VAE's scale factor; else 1024 for SDXL, 512 for SD),
     * and the step count and guidance of the bundle's kind: few-step schedules (an LCM scheduler,
     * or "trailing" timestep spacing as SD-Turbo and SDXL-Turbo ship) 4 steps with LCM's guidance
     * off and 1 step unguided for Turbo; otherwise 30 steps at guidance 7.5.
     */
    public ModelDefaults defaults() {
        int side = config.components().unetSampleSize().orElse(xl() ? 128 : 64) * geometry.vaeScaleFactor();
        String scheduler = config.defaultScheduler();
        if ("lcm".equals(scheduler)) {
            return new ModelDefaults(side, side, 4, 1f);
        }
        if (config.scheduler().timestepSpacing() == dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing.TRAILING) {
            return new ModelDefaults(side, side, 1, 0f);
        }
        return new ModelDefaults(side, side, ModelDefaults.STEPS, ModelDefaults.GUIDANCE);
    }

    /** The bundle's family, for messages and the models endpoint: "SD", "SDXL" or "SDXL refiner". */
    public String kind() {
        if (!xl()) {
            return "SD";
        }
        return aestheticTimeIds() ? "SDXL refiner" : "SDXL";
    }

    /** Whether the CLIP guidance graph has been checked against CLIP and the VAE (it never changes after). */
    private volatile boolean guidanceChecked;

    /** The check once, not on every job that asks for the graph; a failed check fails again next time. */
    private void checkClipGuidanceOnce(ClipGuidanceModel guidance) {
        if (!guidanceChecked) {
            checkClipGuidance(guidance);
            guidanceChecked = true;
        }
    }

    private void checkClipGuidance(ClipGuidanceModel guidance) {
        Optional<ClipModel> clip = this.clip.get();
        if (clip.isEmpty()) {
            throw guidance.model().error("CLIP guidance needs a CLIP model for the prompt's embedding, but the bundle"
                    + " has no clip/ folder and none is configured");
        }
        if (guidance.textDim() > 0 && guidance.textDim() != clip.get().dim()) {
            throw guidance.model().error("input 'text_embeds' takes " + guidance.textDim() + " dimensions but the CLIP"
                    + " model (" + clip.get().layout().root() + ") embeds into " + clip.get().dim());
        }
        int channels = guidance.latentShape()[0];
        if (channels > 0 && channels != geometry.latentChannels()) {
            throw guidance.model().error("input 'latent_sample' takes " + channels + " channels but the VAE decoder"
                    + " takes " + geometry.latentChannels());
        }
    }

    private static int firstKnown(int... candidates) {
        for (int c : candidates) {
            if (c > 0) {
                return c;
            }
        }
        return -1;
    }

    public String name() {
        return name;
    }

    public BundleConfig config() {
        return config;
    }

    public ModelGeometry geometry() {
        return geometry;
    }

    /** The first text encoder (SD's only one). */
    TextEncoder textEncoder() {
        return textEncoders.get(0);
    }

    /** Every text encoder, in the layout's order. */
    List<TextEncoder> textEncoders() {
        return textEncoders;
    }

    Unet unet() {
        return unet;
    }

    VaeDecoder vaeDecoder() {
        return vaeDecoder;
    }

    /**
     * The model's latent → RGB factors for approximate previews: fitted to its decoder (a few small
     * decodes) on first use, then kept; see {@link LatentRgb#of}.
     */
    LatentRgb latentRgb() {
        LatentRgb known = latentRgb;
        if (known != null) {
            return known;
        }
        synchronized (this) {
            if (latentRgb == null) {
                int[] probe = vaeDecoder.probeSize(8);
                float inverse = 1f / geometry.scalingFactor();
                float[] unscaled = new float[geometry.latentChannels() * probe[0] * probe[1]];
                try (VaeDecoder.DecoderRun run = vaeDecoder.start(geometry.latentChannels(), probe[0], probe[1],
                        geometry.vaeScaleFactor())) {
                    latentRgb = LatentRgb.of(geometry, probe, (latent, image) -> {
                        for (int i = 0; i < latent.length; i++) {
                            unscaled[i] = latent[i] * inverse;
                        }
                        run.decode(unscaled, 0, image);
                    });
                }
            }
            return latentRgb;
        }
    }

    /** The VAE encoder, required for img2img and inpainting. */
    VaeEncoder vaeEncoder(String field) {
        return vaeEncoder.get().orElseThrow(() -> new InvalidRequestException(field, "model '" + name
                + "' has no vae_encoder/model.onnx, which image-to-image and inpainting need"));
    }

    /** The CLIP model, required by every CLIP mode. */
    ClipModel clip(String field) {
        return clip.get().orElseThrow(() -> new InvalidRequestException(field, "model '" + name + "' has no CLIP model"
                + " (a clip/ folder in its bundle, or one configured beside it), which this option needs"));
    }

    /** Whether the bundle has a VAE encoder (image-to-image, inpainting). */
    public boolean hasVaeEncoder() {
        return vaeEncoder.present();
    }

    /** Whether the bundle has the CLIP guidance gradient graph. */
    public boolean hasClipGuidance() {
        return clipGuidance.present();
    }

    /** Whether weighted prompts may run to several 75-token chunks: the UNet's text sequence is not fixed. */
    public boolean takesLongPrompts() {
        return unet.textSequence() <= 0;
    }

    /**
     * Whether the UNet takes a weighted prompt of {@code chunks} chunks: one always; more where its
     * text sequence is not fixed, or is fixed at exactly that many chunks of the tokenizer's length.
     */
    public boolean takesPromptChunks(int chunks) {
        int fixed = unet.textSequence();
        return chunks <= 1 || fixed <= 0 || fixed == chunks * config.tokenizers().get(0).maxLength();
    }

    /** Whether a CLIP model is loaded. */
    public boolean hasClip() {
        return clip.present();
    }

    /** The CLIP guidance gradient graph, required by gradient guidance. */
    ClipGuidanceModel clipGuidance(String field) {
        Optional<ClipGuidanceModel> guidance = clipGuidance.get();
        guidance.ifPresent(this::checkClipGuidanceOnce);
        return guidance.orElseThrow(() -> new InvalidRequestException(field, "model '" + name + "' has no "
                + CLIP_GUIDANCE + " (the gradient graph gradient CLIP guidance runs; docs/clip.md)"));
    }

    @Override
    public void close() {
        owned.forEach(StableDiffusionModel::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "closing a model failed: " + e.getMessage());
        }
    }
}
