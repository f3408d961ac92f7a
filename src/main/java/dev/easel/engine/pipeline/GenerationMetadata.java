package dev.easel.engine.pipeline;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The generation parameters written into each PNG's text chunks, so an image says how to make it
 * again. Besides one key per parameter, {@code parameters} holds the AUTOMATIC1111-style summary
 * that common image tools display.
 */
public final class GenerationMetadata {

    private GenerationMetadata() {
    }

    /**
     * @param scheduler the scheduler actually used (the request's, or the bundle's default)
     * @param seed      the seed of this image
     */
    public static Map<String, String> pngText(GenerationRequest request, String model, String scheduler, long seed) {
        return pngText(request, model, scheduler, seed, java.util.OptionalDouble.empty());
    }

    /**
     * With the image's CLIP score ({@code clip_score}) and the request's CLIP options, when it used CLIP.
     *
     * @param image the generated image: its seed and score
     */
    public static Map<String, String> pngText(GenerationRequest request, String model, String scheduler,
                                              GeneratedImage image) {
        return pngText(request, model, scheduler, image.seed(), image.clipScore());
    }

    private static Map<String, String> pngText(GenerationRequest request, String model, String scheduler, long seed,
                                               java.util.OptionalDouble clipScore) {
        Map<String, String> text = new LinkedHashMap<>();
        String size = request.width() + "x" + request.height();
        String guidance = format(request.guidanceScale());
        text.put("prompt", request.prompt());
        request.negativePrompt().ifPresent(negative -> text.put("negative_prompt", negative));
        text.put("steps", Integer.toString(request.steps()));
        text.put("scheduler", scheduler);
        text.put("guidance_scale", guidance);
        text.put("seed", Long.toString(seed));
        text.put("size", size);
        text.put("model", model);
        request.image().ifPresent(input -> {
            text.put("strength", format(input.strength()));
            text.put("mode", input.mask().isPresent() ? "inpaint" : "img2img");
        });
        if (request.promptSyntax() != dev.easel.engine.tokenizer.PromptMode.PLAIN) {
            text.put("prompt_syntax", request.promptSyntax().wireName());
        }
        request.refiner().ifPresent(r -> text.put("refiner", r.model().name() + " from " + format((float) r.switchAt())));
        if (!request.micro().equals(MicroConditioning.DEFAULT)) {
            text.put("micro_conditioning", request.micro().describe());
        }
        ClipOptions clip = request.clip();
        clip.rerankCandidates().ifPresent(n -> text.put("rerank_candidates", Integer.toString(n)));
        clip.verifier().ifPresent(v -> text.put("verifier", v.branches() + " branches "
                + (v.steps() instanceof ClipOptions.Every every ? "every " + every.n() + " steps"
                : "after steps " + ((ClipOptions.At) v.steps()).steps())));
        clip.guidanceScale().ifPresent(s -> text.put("clip_guidance_scale", format((float) s)));
        clip.edit().ifPresent(edit -> {
            text.put("edit_source", edit.source());
            text.put("edit_target", edit.target());
        });
        String score = clipScore.isPresent() ? String.format(Locale.ROOT, "%.2f", clipScore.getAsDouble()) : null;
        if (score != null) {
            text.put("clip_score", score);
        }
        text.put("parameters", request.prompt()
                + (request.negativePrompt().orElse("").isEmpty() ? "" : "\nNegative prompt: "
                        + request.negativePrompt().get())
                + "\nSteps: " + request.steps() + ", Sampler: " + scheduler + ", CFG scale: " + guidance
                + ", Seed: " + seed + ", Size: " + size + ", Model: " + model
                + (score == null ? "" : ", CLIP score: " + score));
        text.put("Software", "Easel");
        return text;
    }

    private static String format(float value) {
        return value == Math.rint(value) ? String.format(Locale.ROOT, "%.1f", value) : Float.toString(value);
    }
}
