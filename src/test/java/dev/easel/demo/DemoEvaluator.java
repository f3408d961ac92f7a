package dev.easel.demo;

import dev.easel.demo.HeldOutPrompt.Expected;
import dev.easel.demo.SceneChecker.Found;
import dev.easel.demo.SceneChecker.Scene;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Generates each prompt's picture through Easel's pipeline and scores it with the
 * {@link SceneChecker}.
 */
public final class DemoEvaluator {

    /** The demo world's picture size. */
    public static final int SIZE = 64;

    /**
     * @param scheduler empty for the bundle's default
     * @param guidance  classifier-free guidance scale (≤ 1: off)
     * @param steps     denoising steps
     * @param clip      CLIP modes of the request ({@link ClipOptions#NONE}: none, no score)
     */
    public record Settings(Optional<String> scheduler, float guidance, int steps, ClipOptions clip) {

        /** The engine's defaults: the bundle's scheduler, guidance 7.5, 30 steps, no CLIP. */
        public static Settings defaults() {
            GenerationRequest d = GenerationRequest.builder("").build();
            return new Settings(Optional.empty(), d.guidanceScale(), d.steps(), ClipOptions.NONE);
        }

        public Settings withScheduler(String name) {
            return new Settings(Optional.of(name), guidance, steps, clip);
        }

        public Settings withGuidance(float scale) {
            return new Settings(scheduler, scale, steps, clip);
        }

        public Settings withSteps(int count) {
            return new Settings(scheduler, guidance, count, clip);
        }

        public Settings withClip(ClipOptions options) {
            return new Settings(scheduler, guidance, steps, options);
        }
    }

    private final DiffusionPipeline pipeline;
    private final SceneChecker checker = new SceneChecker();

    public DemoEvaluator(DiffusionPipeline pipeline) {
        this.pipeline = pipeline;
    }

    public RgbImage generate(HeldOutPrompt prompt, Settings settings) {
        return generateImage(prompt, settings).image();
    }

    /** The picture with its CLIP score when the settings ask for CLIP. */
    public GeneratedImage generateImage(HeldOutPrompt prompt, Settings settings) {
        return generateImage(prompt.prompt(), prompt.seed(), settings);
    }

    /** The picture of any prompt text and seed (prompts outside heldout-prompts.json's world, e.g. pink). */
    public GeneratedImage generateImage(String prompt, long seed, Settings settings) {
        GenerationRequest.Builder b = GenerationRequest.builder(prompt).size(SIZE, SIZE)
                .steps(settings.steps()).guidanceScale(settings.guidance()).seed(seed).clip(settings.clip());
        settings.scheduler().ifPresent(b::scheduler);
        return pipeline.generate(b.build(), (step, total) -> { }, () -> { }).images().get(0);
    }

    /** Scores all prompts; {@code each} sees every prompt with its picture (for dumps), may be no-op. */
    public Accuracy evaluate(List<HeldOutPrompt> prompts, Settings settings, BiConsumer<HeldOutPrompt, RgbImage> each) {
        Accuracy acc = new Accuracy();
        for (HeldOutPrompt prompt : prompts) {
            GeneratedImage generated = generateImage(prompt, settings);
            RgbImage image = generated.image();
            each.accept(prompt, image);
            score(prompt, checker.check(image, prompt.objects().size()), acc);
            generated.clipScore().ifPresent(acc::addClipScore);
        }
        return acc;
    }

    /** Adds one picture's result to {@code acc}. */
    static void score(HeldOutPrompt prompt, Scene scene, Accuracy acc) {
        acc.images++;
        boolean bgOk = prompt.background().map(b -> b == scene.background()).orElse(true);
        acc.background += bgOk ? 1 : 0;
        acc.exactlyOne += scene.count() == prompt.objects().size() ? 1 : 0;
        if (prompt.objects().size() == 1) {
            Expected e = prompt.objects().get(0);
            acc.objects++;
            if (scene.objects().isEmpty()) {
                return;
            }
            Found f = scene.objects().get(0);
            boolean color = f.color() == e.color();
            boolean shape = f.shape() == e.shape();
            acc.shapeTemplate += f.templateShape() == e.shape() ? 1 : 0;
            boolean position = e.position().map(f.position()::equals).orElse(true);
            boolean size = e.size().map(f.size()::equals).orElse(true);
            acc.color += color ? 1 : 0;
            acc.shape += shape ? 1 : 0;
            acc.position += position ? 1 : 0;
            acc.size += size ? 1 : 0;
            acc.allCorrect += color && shape && position ? 1 : 0;
            acc.asAsked += color && shape && position && size && bgOk && scene.count() == 1 ? 1 : 0;
            return;
        }
        // Two objects: match each expected object to a distinct found object of its color.
        List<Found> remaining = new ArrayList<>(scene.objects());
        List<Found> matched = new ArrayList<>();
        boolean all = true;
        for (Expected e : prompt.objects()) {
            acc.objects++;
            Found f = remaining.stream().filter(o -> o.color() == e.color()).findFirst().orElse(null);
            matched.add(f);
            if (f == null) {
                all = false;
                continue;
            }
            remaining.remove(f);
            acc.color++;
            boolean shape = f.shape() == e.shape();
            acc.shape += shape ? 1 : 0;
            acc.shapeTemplate += f.templateShape() == e.shape() ? 1 : 0;
            all &= shape;
        }
        boolean relation = matched.get(0) != null && matched.get(1) != null
                && prompt.relation().map(Relations.of(matched.get(0), matched.get(1))::equals).orElse(false);
        acc.position += relation ? 1 : 0;
        acc.size++; // two-object captions name no size
        acc.allCorrect += all && relation ? 1 : 0;
        acc.asAsked += all && relation && bgOk && scene.count() == 2 ? 1 : 0;
    }
}
