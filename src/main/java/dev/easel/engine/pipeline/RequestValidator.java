package dev.easel.engine.pipeline;



/** Checks a request against the model's geometry and the configured limits, naming field and limit. */
final class RequestValidator {

    private RequestValidator() {
    }

    static void validate(GenerationRequest r, ModelGeometry g, GenerationLimits limits) {
        if (r.prompt() == null) {
            throw new InvalidRequestException("prompt", "is required");
        }
        if (r.negativePrompt() == null || r.negativePrompt().isPresent() && r.negativePrompt().get() == null) {
            throw new InvalidRequestException("negativePrompt", "must be a string, or absent for none");
        }
        side("width", r.width(), g, limits);
        side("height", r.height(), g, limits);
        long pixels = (long) r.width() * r.height();
        if (pixels > limits.maxPixels()) {
            throw new InvalidRequestException("width", r.width() + "x" + r.height() + " = " + pixels
                    + " pixels exceeds the limit of " + limits.maxPixels() + " pixels");
        }
        range("steps", r.steps(), 1, limits.maxSteps());
        range("numImages", r.numImages(), 1, limits.maxImages());
        if (!(r.guidanceScale() >= 0f && r.guidanceScale() <= limits.maxGuidance())) {
            throw new InvalidRequestException("guidanceScale", "must be between 0 and " + limits.maxGuidance()
                    + ", got " + r.guidanceScale());
        }
        if (!(r.eta() >= 0f && r.eta() <= 1f)) {
            throw new InvalidRequestException("eta", "must be between 0 and 1, got " + r.eta());
        }
        // The job contract's range; the CLI reaches here without the schema, and a score outside it
        // only makes the refiner's latents non-finite at the end of the run.
        if (!(r.micro().aestheticScore() >= 0 && r.micro().aestheticScore() <= 10)) {
            throw new InvalidRequestException("aestheticScore", "must be between 0 and 10, got " + r.micro().aestheticScore());
        }
        if (!(r.micro().negativeAestheticScore() >= 0 && r.micro().negativeAestheticScore() <= 10)) {
            throw new InvalidRequestException("negativeAestheticScore", "must be between 0 and 10, got "
                    + r.micro().negativeAestheticScore());
        }
        r.image().ifPresent(input -> image(input, r));
        clip(r, limits.clip());
        r.refiner().ifPresent(refiner -> refiner(refiner, r, g));
        r.initialNoise().ifPresent(noise -> {
            long expected = (long) r.numImages() * g.latentChannels() * (r.height() / g.vaeScaleFactor())
                    * (r.width() / g.vaeScaleFactor());
            if (noise.length != expected) {
                throw new InvalidRequestException("initialNoise", "holds " + noise.length + " values; expected "
                        + r.numImages() + "x" + g.latentChannels() + "x" + (r.height() / g.vaeScaleFactor()) + "x"
                        + (r.width() / g.vaeScaleFactor()) + " = " + expected + " for this request");
            }
        });
    }

    private static void clip(GenerationRequest r, ClipLimits limits) {
        ClipOptions clip = r.clip();
        if (clip.rerankCandidates().isPresent()) {
            range("rerank.candidates", clip.rerankCandidates().getAsInt(), Math.max(2, r.numImages()),
                    limits.maxRerankCandidates());
        }
        clip.verifier().ifPresent(v -> {
            range("verifier.branches", v.branches(), 2, limits.maxVerifierEvaluations());
            if (r.image().flatMap(ImageInput::mask).isPresent()) {
                throw new InvalidRequestException("verifier", "is not available for inpainting (a mask)");
            }
            if (v.steps() instanceof ClipOptions.Every every && every.n() < 1) {
                throw new InvalidRequestException("verifier.every", "must be at least 1, got " + every.n());
            }
        });
        if (clip.guidanceScale().isPresent()) {
            double scale = clip.guidanceScale().getAsDouble();
            if (!(scale > 0 && scale <= limits.maxGuidanceScale())) {
                throw new InvalidRequestException("clipGuidanceScale", "must be in (0, " + limits.maxGuidanceScale()
                        + "], got " + scale);
            }
        }
        clip.edit().ifPresent(edit -> {
            if (r.image().isEmpty()) {
                throw new InvalidRequestException("edit", "needs an initImage: a directional edit moves an image");
            }
            if (edit.source() == null || edit.target() == null || edit.source().equals(edit.target())) {
                throw new InvalidRequestException("edit", "needs a source and a different target text");
            }
            if (clip.rerankCandidates().isEmpty() && clip.verifier().isEmpty()) {
                throw new InvalidRequestException("edit", "selects images along target − source, so it needs rerank"
                        + " or verifier (directional gradient guidance is not available)");
            }
        });
    }

    private static void refiner(Refiner refiner, GenerationRequest r, ModelGeometry g) {
        if (!(refiner.switchAt() > 0 && refiner.switchAt() < 1)) {
            throw new InvalidRequestException("refiner.switchAt", "must be between 0 and 1 (exclusive), got "
                    + refiner.switchAt());
        }
        ModelGeometry own = refiner.model().geometry();
        // The scaling factor is part of the latent space too: SD 1.x/2.x latents (0.18215) have the
        // shape of SDXL's (0.13025) but not their statistics, so an SD bundle cannot refine SDXL's.
        if (own.latentChannels() != g.latentChannels() || own.vaeScaleFactor() != g.vaeScaleFactor()
                || Math.abs(own.scalingFactor() - g.scalingFactor()) > 1e-6f) {
            throw new InvalidRequestException("refiner.model", "model '" + refiner.model().name() + "' has "
                    + own.latentChannels() + " latent channels at 1/" + own.vaeScaleFactor() + " scale, scaling factor "
                    + own.scalingFactor() + "; the base has " + g.latentChannels() + " at 1/" + g.vaeScaleFactor()
                    + ", scaling factor " + g.scalingFactor() + ": a refiner must share its latent space");
        }
        if (own.inpaintingUnet() || g.inpaintingUnet() || r.image().flatMap(ImageInput::mask).isPresent()) {
            throw new InvalidRequestException("refiner", "is not available for inpainting");
        }
        if (r.clip().verifier().isPresent() || r.clip().guidanceScale().isPresent()) {
            throw new InvalidRequestException("refiner", "cannot be combined with verifier search or CLIP guidance,"
                    + " which steer the base's loop only");
        }
    }

    private static void side(String field, int value, ModelGeometry g, GenerationLimits limits) {
        range(field, value, g.vaeScaleFactor(), limits.maxSide());
        if (value % g.vaeScaleFactor() != 0) {
            throw new InvalidRequestException(field, "must be a multiple of " + g.vaeScaleFactor()
                    + " (the model's VAE scale factor), got " + value);
        }
    }

    private static void range(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new InvalidRequestException(field, "must be between " + min + " and " + max + ", got " + value);
        }
    }

    private static void image(ImageInput input, GenerationRequest r) {
        if (!(input.strength() > 0f && input.strength() <= 1f)) {
            throw new InvalidRequestException("strength", "must be in (0, 1], got " + input.strength());
        }
        if ((int) (r.steps() * input.strength()) < 1) {
            throw new InvalidRequestException("strength", "strength " + input.strength() + " with " + r.steps()
                    + " steps leaves no denoising step; use at least " + (1f / r.steps()));
        }
        sameSize("initImage", input.init().width(), input.init().height(), r.width(), r.height());
        input.mask().ifPresent(mask -> sameSize("mask", mask.width(), mask.height(), input.init().width(),
                input.init().height()));
    }

    private static void sameSize(String field, int imageWidth, int imageHeight, int width, int height) {
        if (imageWidth != width || imageHeight != height) {
            throw new InvalidRequestException(field, "is " + imageWidth + "x" + imageHeight
                    + " but must be " + width + "x" + height + " (images are not resized)");
        }
    }
}
