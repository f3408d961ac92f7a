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
        Map<String, String> text = new LinkedHashMap<>();
        String size = request.width() + "x" + request.height();
        String guidance = format(request.guidanceScale());
        text.put("prompt", request.prompt());
        text.put("negative_prompt", request.negativePrompt());
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
        text.put("parameters", request.prompt()
                + (request.negativePrompt().isEmpty() ? "" : "\nNegative prompt: " + request.negativePrompt())
                + "\nSteps: " + request.steps() + ", Sampler: " + scheduler + ", CFG scale: " + guidance
                + ", Seed: " + seed + ", Size: " + size + ", Model: " + model);
        text.put("Software", "Easel");
        return text;
    }

    private static String format(float value) {
        return value == Math.rint(value) ? String.format(Locale.ROOT, "%.1f", value) : Float.toString(value);
    }
}
