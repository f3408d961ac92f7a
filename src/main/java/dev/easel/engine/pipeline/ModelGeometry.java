package dev.easel.engine.pipeline;

/**
 * The constants of a loaded model, from its graphs and configs (never assumed).
 *
 * @param latentChannels  channels of the latent space (4 for SD)
 * @param unetInChannels  latentChannels, or 2·latentChannels + 1 for inpainting UNets
 * @param vaeScaleFactor  image size / latent size (8 for SD)
 * @param scalingFactor   latent scaling of the VAE (0.18215 for SD 1.x)
 * @param textHidden      text encoder hidden size
 * @param maxTokens       tokenizer / text encoder sequence length (77 for CLIP)
 */
public record ModelGeometry(int latentChannels, int unetInChannels, int vaeScaleFactor, float scalingFactor,
                            int textHidden, int maxTokens) {

    /** Whether the UNet takes mask and masked-image latents as extra input channels. */
    public boolean inpaintingUnet() {
        return unetInChannels == 2 * latentChannels + 1;
    }
}
