package dev.easel.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.demo.SceneChecker.Found;
import dev.easel.demo.SceneChecker.Scene;
import dev.easel.demo.SceneChecker.Shape;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.Lora;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * What a LoRA that teaches the demo model a new color word (pink, {@code easel_demo/lora.py}) does,
 * read by the {@link SceneChecker} with pink added to the colors it names ({@link NamedColors}):
 * the prompts naming pink (lora-prompts.json, a pink object on a scene training never showed) and
 * the ordinary one-object held-out prompts, each drawn by the base model and by the model with the
 * adapter with the same seed. The ordinary prompts are scored as in the main table (8 colors), plus
 * how many of their objects the pink-aware reading calls pink: the rest of the world should not
 * change.
 */
final class DemoLoraEvaluation {

    /** The prompts naming pink, written by {@code easel_demo/lora.py --prompts-out}. */
    static final String RESOURCE = "/dev/easel/demo/lora-prompts.json";

    /** A prompt of lora-prompts.json; the attributes it does not name are empty and not judged. */
    record ColorPrompt(String prompt, long seed, Optional<String> background, String color, Shape shape,
                       Optional<String> size, Optional<String> position) {
    }

    /** The prompts of {@link #RESOURCE}. */
    static List<ColorPrompt> prompts() {
        try (InputStream in = DemoLoraEvaluation.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the test classpath");
            }
            List<ColorPrompt> out = new ArrayList<>();
            for (JsonNode n : new ObjectMapper().readTree(in)) {
                JsonNode o = n.get("objects").get(0);
                out.add(new ColorPrompt(n.get("prompt").asText(), n.get("seed").asLong(), text(n, "background"),
                        o.get("color").asText(), Shape.valueOf(o.get("shape").asText().toUpperCase(Locale.ROOT)),
                        text(o, "size"), text(o, "position")));
            }
            return List.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText());
    }

    /**
     * {@code PATH[:SCALE]} as {@code --lora} takes it: scale 1 unless the text after the last colon
     * is a number.
     */
    static Lora parseLora(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon > 0) {
            try {
                double scale = Double.parseDouble(spec.substring(colon + 1));
                Path file = Path.of(spec.substring(0, colon));
                return new Lora(String.valueOf(file.getFileName()), file, scale);
            } catch (NumberFormatException e) {
                // not a scale: part of the path
            }
        }
        Path file = Path.of(spec);
        return new Lora(String.valueOf(file.getFileName()), file, 1.0);
    }

    /** Counts over one model's pictures of the prompts naming the new color. */
    static final class Tally {
        int n;
        int color;
        int shape;
        int shapeTemplate;
        int position;
        int size;
        int background;
        int one;
        int allCorrect;
        final Map<String, Integer> readAs = new TreeMap<>();

        void add(ColorPrompt p, Scene scene) {
            n++;
            one += scene.count() == 1 ? 1 : 0;
            background += p.background().map(scene.backgroundWord()::equals).orElse(true) ? 1 : 0;
            if (scene.objects().isEmpty()) {
                readAs.merge("nothing", 1, Integer::sum);
                return;
            }
            Found f = scene.objects().get(0);
            boolean c = f.colorWord().equals(p.color());
            boolean s = f.shape() == p.shape();
            boolean at = p.position().map(f.position()::equals).orElse(true);
            color += c ? 1 : 0;
            shape += s ? 1 : 0;
            shapeTemplate += f.templateShape() == p.shape() ? 1 : 0;
            position += at ? 1 : 0;
            size += p.size().map(f.size()::equals).orElse(true) ? 1 : 0;
            allCorrect += c && s && at ? 1 : 0;
            readAs.merge(f.colorWord(), 1, Integer::sum);
        }

        double pct(int k) {
            return n == 0 ? 0 : 100.0 * k / n;
        }

        String readAs() {
            List<String> parts = new ArrayList<>();
            readAs.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                    .forEach(e -> parts.add(String.format(Locale.ROOT, "%s %.1f%%", e.getKey(), pct(e.getValue()))));
            return String.join(", ", parts);
        }
    }

    private final SceneChecker plain = new SceneChecker();
    private final SceneChecker withPink = new SceneChecker(NamedColors.palette().with(NamedColors.PINK));

    /** The ordinary prompts' pictures whose (first) object the pink-aware reading calls pink. */
    private int pinkObjects(List<RgbImage> images) {
        int k = 0;
        for (RgbImage image : images) {
            Scene s = withPink.check(image, 1);
            k += !s.objects().isEmpty() && s.objects().get(0).colorWord().equals(NamedColors.PINK.word()) ? 1 : 0;
        }
        return k;
    }

    /**
     * Prints the comparison as Markdown: the prompts naming pink per model (color read as pink,
     * shape, position, size, background, one object, what the color reads as), then the ordinary
     * held-out prompts per model (the main table's columns and the share read as pink).
     */
    String compare(StableDiffusionModel base, Lora lora, List<ColorPrompt> colorPrompts, List<HeldOutPrompt> ordinary,
                   BiConsumer<String, RgbImage> dump) {
        long t0 = System.nanoTime();
        StringBuilder out = new StringBuilder();
        try (StableDiffusionModel adapted = base.withLoras(List.of(lora))) {
            double buildSeconds = (System.nanoTime() - t0) / 1e9;
            DemoEvaluator.Settings settings = DemoEvaluator.Settings.defaults();
            DemoEvaluator[] models = {new DemoEvaluator(new DiffusionPipeline(base, GenerationLimits.defaults())),
                    new DemoEvaluator(new DiffusionPipeline(adapted, GenerationLimits.defaults()))};
            String[] names = {"base", "LoRA"};
            Tally[] tallies = {new Tally(), new Tally()};
            Accuracy[] accuracies = {new Accuracy(), new Accuracy()};
            int[] pink = new int[2];
            for (int m = 0; m < 2; m++) {
                int k = 0;
                for (ColorPrompt p : colorPrompts) {
                    RgbImage image = models[m].generateImage(p.prompt(), p.seed(), settings).image();
                    dump.accept(String.format(Locale.ROOT, "%s-pink-%03d-%s", names[m], k++, p.prompt()), image);
                    tallies[m].add(p, withPink.check(image, 1));
                }
                List<RgbImage> images = new ArrayList<>();
                k = 0;
                for (HeldOutPrompt p : ordinary) {
                    RgbImage image = models[m].generate(p, settings);
                    dump.accept(String.format(Locale.ROOT, "%s-heldout-%03d-%s", names[m], k++, p.prompt()), image);
                    DemoEvaluator.score(p, plain.check(image, 1), accuracies[m]);
                    images.add(image);
                }
                pink[m] = pinkObjects(images);
                System.err.printf(Locale.ROOT, "%s: pink color %.1f%%, held-out color %.1f%%%n", names[m],
                        tallies[m].pct(tallies[m].color), 100 * accuracies[m].color());
            }
            out.append(String.format(Locale.ROOT, "LoRA %s at scale %s: merged in %.2f s; %d prompts naming pink,"
                            + " %d one-object held-out prompts; %s%n%n", lora.file(), lora.scale(), buildSeconds,
                    colorPrompts.size(), ordinary.size(), "64x64, 30 steps, DDIM, guidance 7.5, same seeds"));
            out.append("| prompts naming pink | n | color (pink) | shape | shape, template rule | position | size"
                    + " | background | one object | all correct | color read as |\n"
                    + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
            for (int m = 0; m < 2; m++) {
                Tally t = tallies[m];
                out.append(String.format(Locale.ROOT, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%%"
                                + " | %.1f%% | %.1f%% | %s |%n", names[m], t.n, t.pct(t.color), t.pct(t.shape),
                        t.pct(t.shapeTemplate), t.pct(t.position), t.pct(t.size), t.pct(t.background), t.pct(t.one),
                        t.pct(t.allCorrect), t.readAs()));
            }
            out.append("\n| held-out one-object prompts | n | color | shape | shape, template rule | position"
                    + " | object count | all correct | as asked | read as pink |\n"
                    + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (int m = 0; m < 2; m++) {
                Accuracy a = accuracies[m];
                out.append(String.format(Locale.ROOT, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%%"
                                + " | %.1f%% | %.1f%% |%n", names[m], a.images(), 100 * a.color(), 100 * a.shape(),
                        100 * a.shapeTemplate(), 100 * a.position(), 100 * a.exactCount(), 100 * a.allCorrect(),
                        100 * a.asAsked(), a.images() == 0 ? 0 : 100.0 * pink[m] / a.images()));
            }
        }
        return out.toString();
    }
}
