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
    /** The gradient graph of CLIP guidance, relative to the bundle (contract: {@link ClipGuidanceModel}). */
    public static final String CLIP_GUIDANCE = "clip_guidance/model.onnx";

    private final String name;
    private final BundleConfig config;
    private final TextEncoder textEncoder;
    private final Unet unet;
    private final VaeDecoder vaeDecoder;
    private final Optional<VaeEncoder> vaeEncoder;
    private final Optional<ClipModel> clip;
    private final Optional<ClipGuidanceModel> clipGuidance;
    private final ModelGeometry geometry;

    /** The bundle's models; the CLIP ones are optional. */
    private record Parts(TextEncoder textEncoder, Unet unet, VaeDecoder vaeDecoder, Optional<VaeEncoder> vaeEncoder,
                         Optional<ClipModel> clip, Optional<ClipGuidanceModel> clipGuidance) {
    }

    private StableDiffusionModel(String name, BundleConfig config, Parts parts) {
        this.name = name;
        this.config = config;
        this.textEncoder = parts.textEncoder();
        this.unet = parts.unet();
        this.vaeDecoder = parts.vaeDecoder();
        this.vaeEncoder = parts.vaeEncoder();
        this.clip = parts.clip();
        this.clipGuidance = parts.clipGuidance();
        this.geometry = resolveGeometry();
        checkClipGuidance();
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
        BundleConfig config = BundleConfig.read(dir);
        BundleLayout layout = config.layout().requireModels();
        OnnxSessions sessions = new OnnxSessions(options);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            TextEncoder text = opened(opened, new TextEncoder(OnnxModel.open(sessions, layout.textEncoder()), sessions));
            Unet unet = opened(opened, new Unet(OnnxModel.open(sessions, layout.unet()), sessions));
            VaeDecoder decoder = opened(opened, new VaeDecoder(OnnxModel.open(sessions, layout.vaeDecoder()), sessions));
            Optional<VaeEncoder> encoder = layout.vaeEncoder()
                    .map(file -> opened(opened, new VaeEncoder(OnnxModel.open(sessions, file), sessions)));
            Optional<ClipModel> clip = clipDir.map(clipRoot -> opened(opened,
                    ClipModel.load(ClipLayout.of(clipRoot, Optional.of(layout.tokenizer())), sessions)));
            Path guidanceFile = dir.resolve(CLIP_GUIDANCE);
            Optional<ClipGuidanceModel> guidance = java.nio.file.Files.isRegularFile(guidanceFile)
                    ? Optional.of(opened(opened, new ClipGuidanceModel(OnnxModel.open(sessions, guidanceFile), sessions)))
                    : Optional.empty();
            return new StableDiffusionModel(name, config, new Parts(text, unet, decoder, encoder, clip, guidance));
        } catch (RuntimeException e) {
            for (AutoCloseable c : opened) {
                closeQuietly(c);
            }
            throw e;
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
        int hidden = firstKnown(textEncoder.hiddenSize(), cfg.textHiddenSize().orElse(-1), unet.textHiddenSize(), -1);
        if (unet.textHiddenSize() > 0 && hidden > 0 && unet.textHiddenSize() != hidden) {
            throw unet.model().error("input 'encoder_hidden_states' expects hidden size " + unet.textHiddenSize()
                    + " but the text encoder (" + textEncoder.model().file() + ") produces " + hidden);
        }
        int maxTokens = config.tokenizer().maxLength();
        if (textEncoder.sequenceLength() > 0 && textEncoder.sequenceLength() != maxTokens) {
            throw textEncoder.model().error("input 'input_ids' takes " + textEncoder.sequenceLength()
                    + " tokens but " + config.layout().tokenizer().resolve("tokenizer_config.json")
                    + " sets model_max_length " + maxTokens);
        }
        int scale = cfg.vaeScaleFactor().orElseGet(() -> vaeDecoder.measureScaleFactor(latent));
        float scaling = (float) cfg.vaeScalingFactor().orElseGet(() -> {
            LOG.log(Level.INFO, "{0}: no scaling_factor in the VAE config; using SD 1.x''s {1}", name,
                    DEFAULT_SCALING_FACTOR);
            return DEFAULT_SCALING_FACTOR;
        });
        return new ModelGeometry(latent, in, scale, scaling, hidden, maxTokens);
    }

    private void checkClipGuidance() {
        if (clipGuidance.isEmpty()) {
            return;
        }
        ClipGuidanceModel guidance = clipGuidance.get();
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

    TextEncoder textEncoder() {
        return textEncoder;
    }

    Unet unet() {
        return unet;
    }

    VaeDecoder vaeDecoder() {
        return vaeDecoder;
    }

    /** The VAE encoder, required for img2img and inpainting. */
    VaeEncoder vaeEncoder(String field) {
        return vaeEncoder.orElseThrow(() -> new InvalidRequestException(field, "model '" + name
                + "' has no vae_encoder/model.onnx, which image-to-image and inpainting need"));
    }

    /** The CLIP model, required by every CLIP mode. */
    ClipModel clip(String field) {
        return clip.orElseThrow(() -> new InvalidRequestException(field, "model '" + name + "' has no CLIP model"
                + " (a clip/ folder in its bundle, or one configured beside it), which this option needs"));
    }

    /** Whether a CLIP model is loaded. */
    public boolean hasClip() {
        return clip.isPresent();
    }

    /** The CLIP guidance gradient graph, required by gradient guidance. */
    ClipGuidanceModel clipGuidance(String field) {
        return clipGuidance.orElseThrow(() -> new InvalidRequestException(field, "model '" + name + "' has no "
                + CLIP_GUIDANCE + " (the gradient graph gradient CLIP guidance runs; docs/clip.md)"));
    }

    @Override
    public void close() {
        clip.ifPresent(StableDiffusionModel::closeQuietly);
        clipGuidance.ifPresent(StableDiffusionModel::closeQuietly);
        closeQuietly(textEncoder);
        closeQuietly(unet);
        closeQuietly(vaeDecoder);
        vaeEncoder.ifPresent(StableDiffusionModel::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "closing a model failed: " + e.getMessage());
        }
    }
}
