package dev.easel.engine.pipeline;

import dev.easel.engine.tokenizer.PromptMode;
import java.util.Optional;

/**
 * One generation: what to draw and how. Build with {@link #builder(String)}.
 *
 * @param prompt         what to draw
 * @param negativePrompt what to steer away from (the unconditional branch of guidance); empty = none given,
 *                       which SDXL bundles with force_zeros_for_empty_prompt answer with zero conditioning,
 *                       while an explicit "" is encoded
 * @param width          image width in pixels, a multiple of the VAE scale factor
 * @param height         image height in pixels, a multiple of the VAE scale factor
 * @param steps          denoising steps
 * @param guidanceScale  classifier-free guidance; ≤ 1 disables it (one UNet pass per step)
 * @param scheduler      scheduler name; empty means the bundle's own
 * @param eta            DDIM's eta (0 = deterministic DDIM)
 * @param seed           seed of image 0; image i uses seed + i
 * @param numImages      images generated together (batched through the UNet)
 * @param image          img2img / inpainting input; empty for text-to-image
 * @param initialNoise   N(0,1) starting noise [numImages, C, h, w] instead of the seeded one
 * @param clip           CLIP scoring, reranking, verifier search, guidance and edits ({@link ClipOptions#NONE}: none)
 * @param promptSyntax   how the prompts are read: plain text, or AUTOMATIC1111's weights and chunks
 * @param micro          SDXL's size/crop/aesthetic conditioning
 * @param refiner        an SDXL refiner that finishes the schedule
 * @param previews       pictures of the denoised estimate while it runs ({@link ProgressListener#onPreview}); none if empty
 */
public record GenerationRequest(String prompt, Optional<String> negativePrompt, int width, int height, int steps,
                                float guidanceScale, Optional<String> scheduler, float eta, long seed,
                                int numImages, Optional<ImageInput> image, Optional<float[]> initialNoise,
                                ClipOptions clip, PromptMode promptSyntax, MicroConditioning micro,
                                Optional<Refiner> refiner, Optional<PreviewOptions> previews) {

    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    /** The same request generating {@code count} images (best-of-N candidates), without reranking. */
    GenerationRequest candidates(int count) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, eta, seed,
                count, image, initialNoise, new ClipOptions(true, java.util.OptionalInt.empty(), clip.verifier(),
                        clip.guidanceScale(), clip.edit()), promptSyntax, micro, refiner, previews);
    }

    /** The same request with these previews (the worker caps what a job asks). */
    public GenerationRequest withPreviews(Optional<PreviewOptions> value) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, eta, seed,
                numImages, image, initialNoise, clip, promptSyntax, micro, refiner, value);
    }

    /** Whether classifier-free guidance runs (two UNet passes per step, batched). */
    public boolean guided() {
        return guidanceScale > 1f;
    }

    /** Fluent construction with Stable Diffusion's usual defaults. */
    public static final class Builder {
        private final String prompt;
        private Optional<String> negativePrompt = Optional.empty();
        private int width = 512;
        private int height = 512;
        private int steps = 30;
        private float guidanceScale = 7.5f;
        private Optional<String> scheduler = Optional.empty();
        private float eta;
        private long seed;
        private int numImages = 1;
        private Optional<ImageInput> image = Optional.empty();
        private Optional<float[]> initialNoise = Optional.empty();
        private ClipOptions clip = ClipOptions.NONE;
        private PromptMode promptSyntax = PromptMode.PLAIN;
        private MicroConditioning micro = MicroConditioning.DEFAULT;
        private Optional<Refiner> refiner = Optional.empty();
        private Optional<PreviewOptions> previews = Optional.empty();

        private Builder(String prompt) {
            this.prompt = prompt;
        }

        /** An explicit negative prompt; "" is encoded (SDXL tells it from none). */
        public Builder negativePrompt(String value) {
            this.negativePrompt = Optional.of(value);
            return this;
        }

        public Builder negativePrompt(Optional<String> value) {
            this.negativePrompt = value;
            return this;
        }

        public Builder promptSyntax(PromptMode value) {
            this.promptSyntax = value;
            return this;
        }

        public Builder micro(MicroConditioning value) {
            this.micro = value;
            return this;
        }

        public Builder refiner(Refiner value) {
            this.refiner = Optional.of(value);
            return this;
        }

        public Builder previews(PreviewOptions value) {
            this.previews = Optional.of(value);
            return this;
        }

        public Builder size(int width, int height) {
            this.width = width;
            this.height = height;
            return this;
        }

        public Builder steps(int value) {
            this.steps = value;
            return this;
        }

        public Builder guidanceScale(float value) {
            this.guidanceScale = value;
            return this;
        }

        public Builder scheduler(String name) {
            this.scheduler = Optional.of(name);
            return this;
        }

        public Builder eta(float value) {
            this.eta = value;
            return this;
        }

        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        public Builder numImages(int value) {
            this.numImages = value;
            return this;
        }

        public Builder image(ImageInput value) {
            this.image = Optional.of(value);
            return this;
        }

        public Builder initialNoise(float[] value) {
            this.initialNoise = Optional.of(value);
            return this;
        }

        public Builder clip(ClipOptions value) {
            this.clip = value;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, eta,
                    seed, numImages, image, initialNoise, clip, promptSyntax, micro, refiner, previews);
        }
    }
}
