package dev.easel.engine.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * What the optional per-component config.json files say. Optimum exports carry them; Olive
 * exports often do not. Model introspection is authoritative for tensor shapes; these fill in
 * what a graph cannot tell (the VAE scaling factor) and cross-check the rest.
 *
 * @param unetInChannels         unet/config.json in_channels (4 normal, 9 inpainting)
 * @param crossAttentionDim      unet/config.json cross_attention_dim
 * @param textHiddenSize         text_encoder/config.json hidden_size
 * @param maxPositionEmbeddings  text_encoder/config.json max_position_embeddings
 * @param latentChannels         vae_decoder (or vae_encoder) config.json latent_channels
 * @param vaeScalingFactor       vae config.json scaling_factor
 * @param vaeScaleFactor         image size / latent size, 2^(len(block_out_channels)-1)
 * @param unetSampleSize         unet/config.json sample_size: the latent size the model was trained at
 * @param forceUpcast            vae config.json force_upcast: the VAE must run in float32 (SDXL's)
 * @param vaeConfigured          whether the VAE has a config.json at all: without one, the model's
 *                               family decides its scaling factor and upcast
 */
public record ComponentConfigs(OptionalInt unetInChannels, OptionalInt crossAttentionDim,
                               OptionalInt textHiddenSize, OptionalInt maxPositionEmbeddings,
                               OptionalInt latentChannels, OptionalDouble vaeScalingFactor,
                               OptionalInt vaeScaleFactor, OptionalInt unetSampleSize, boolean forceUpcast,
                               boolean vaeConfigured) {

    public static ComponentConfigs read(BundleLayout layout) {
        Path unetFile = BundleLayout.configBeside(layout.unet());
        Path textFile = BundleLayout.configBeside(layout.textEncoder());
        Path vaeFile = BundleLayout.configBeside(layout.vaeDecoder());
        if (!vaeFile.toFile().exists() && layout.vaeEncoder().isPresent()) {
            vaeFile = BundleLayout.configBeside(layout.vaeEncoder().get());
        }
        Optional<JsonNode> unet = Json.readOptionalObject(unetFile);
        Optional<JsonNode> text = Json.readOptionalObject(textFile);
        Optional<JsonNode> vae = Json.readOptionalObject(vaeFile);
        Path vaePath = vaeFile;
        return new ComponentConfigs(
                unet.map(n -> Json.optionalInt(n, "in_channels", unetFile)).orElse(OptionalInt.empty()),
                unet.map(n -> Json.optionalInt(n, "cross_attention_dim", unetFile)).orElse(OptionalInt.empty()),
                text.map(n -> Json.optionalInt(n, "hidden_size", textFile)).orElse(OptionalInt.empty()),
                text.map(n -> Json.optionalInt(n, "max_position_embeddings", textFile)).orElse(OptionalInt.empty()),
                vae.map(n -> Json.optionalInt(n, "latent_channels", vaePath)).orElse(OptionalInt.empty()),
                vae.map(n -> Json.optionalPositiveDouble(n, "scaling_factor", vaePath)).orElse(OptionalDouble.empty()),
                vae.map(n -> scaleFactor(n, vaePath)).orElse(OptionalInt.empty()),
                unet.map(n -> Json.optionalInt(n, "sample_size", unetFile)).orElse(OptionalInt.empty()),
                vae.map(n -> n.path("force_upcast").asBoolean(false)).orElse(false),
                vae.isPresent());
    }

    private static OptionalInt scaleFactor(JsonNode vae, Path file) {
        JsonNode blocks = vae.get("block_out_channels");
        if (blocks == null || blocks.isNull()) {
            return OptionalInt.empty();
        }
        if (!blocks.isArray() || blocks.isEmpty()) {
            throw BundleException.inFile(file, "key 'block_out_channels' must be a non-empty array, found " + blocks);
        }
        return OptionalInt.of(1 << (blocks.size() - 1));
    }
}
