package dev.easel.contract;

/**
 * The optional graphs of a job's model that some of its fields need, so that the intake refuses
 * such a job naming the field before it is queued, instead of the engine failing it later.
 *
 * @param clip         a CLIP model: clipScore, rerank, verifier, clipGuidanceScale, edit
 * @param clipGuidance the CLIP guidance gradient graph (clip_guidance/model.onnx): clipGuidanceScale
 * @param vaeEncoder   a VAE encoder (vae_encoder/model.onnx): initImage (image-to-image, inpainting)
 */
public record ModelParts(boolean clip, boolean clipGuidance, boolean vaeEncoder) {
}
