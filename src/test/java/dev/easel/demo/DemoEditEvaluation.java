package dev.easel.demo;

import dev.easel.demo.HeldOutPrompt.Expected;
import dev.easel.demo.SceneChecker.Found;
import dev.easel.demo.SceneChecker.Scene;
import dev.easel.demo.SceneChecker.Shape;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * What a concept edit ({@link Rewrite}) does to the demo model, read by the {@link SceneChecker}:
 * every one-object held-out prompt is drawn by the base model and by the edited one with the same
 * seed. The prompts are split into those that name an edited concept (a shape or a color word of
 * the world) and the rest; each group gets its accuracy before and after, and the affected group
 * what its edited attribute now reads as (for {@code circle=square}: how many circles came out as
 * squares).
 */
final class DemoEditEvaluation {

    /** One group's counts for one model. */
    static final class Tally {
        int n;
        int color;
        int shape;
        int shapeTemplate;
        int position;
        int one;
        final Map<String, Integer> readAs = new TreeMap<>();

        void add(Expected e, Scene scene, String attribute) {
            n++;
            one += scene.count() == 1 ? 1 : 0;
            if (scene.objects().isEmpty()) {
                readAs.merge("nothing", 1, Integer::sum);
                return;
            }
            Found f = scene.objects().get(0);
            color += f.color() == e.color() ? 1 : 0;
            shape += f.shape() == e.shape() ? 1 : 0;
            shapeTemplate += f.templateShape() == e.shape() ? 1 : 0;
            position += e.position().map(f.position()::equals).orElse(true) ? 1 : 0;
            String read = attribute.equals("color") ? f.color().name() : f.shape().name();
            readAs.merge(read.toLowerCase(Locale.ROOT), 1, Integer::sum);
        }

        double pct(int k) {
            return n == 0 ? 0 : 100.0 * k / n;
        }

        double readAsPct(String value) {
            return pct(readAs.getOrDefault(value, 0));
        }
    }

    private final SceneChecker checker = new SceneChecker();

    /** The edited concepts of the world (shape or color words) and which attribute each is. */
    static Map<String, String> editedConcepts(Rewrite rewrite) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> words = new ArrayList<>(rewrite.erasures());
        rewrite.replacements().forEach(r -> words.add(r.source()));
        for (String w : words) {
            String word = w.trim().toLowerCase(Locale.ROOT);
            boolean shape = List.of("circle", "square", "triangle").contains(word);
            out.put(word, shape ? "shape" : "color");
        }
        return out;
    }

    /**
     * Prints the comparison as Markdown: per group (prompts naming each edited concept, and the
     * rest), base and edited accuracy and, for the affected, what the attribute reads as.
     */
    String compare(StableDiffusionModel base, Rewrite rewrite, List<HeldOutPrompt> prompts) {
        return compare(base, rewrite, prompts, false);
    }

    /**
     * As {@link #compare(StableDiffusionModel, Rewrite, List)}; with {@code misses}, also every prompt
     * naming a replaced concept whose edited picture does not read as the target, with what the base
     * and the edited pictures read as: which prompts an edit fails to reach, not only how many.
     */
    String compare(StableDiffusionModel base, Rewrite rewrite, List<HeldOutPrompt> prompts, boolean misses) {
        long t0 = System.nanoTime();
        StringBuilder out = new StringBuilder();
        List<String> missed = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        try (StableDiffusionModel edited = base.rewritten(rewrite)) {
            double buildSeconds = (System.nanoTime() - t0) / 1e9;
            Map<String, String> concepts = editedConcepts(rewrite);
            DemoEvaluator before = new DemoEvaluator(new DiffusionPipeline(base, GenerationLimits.defaults()));
            DemoEvaluator after = new DemoEvaluator(new DiffusionPipeline(edited, GenerationLimits.defaults()));
            Map<String, Tally[]> groups = new LinkedHashMap<>();
            concepts.keySet().forEach(c -> groups.put(c, new Tally[] {new Tally(), new Tally()}));
            groups.put("others", new Tally[] {new Tally(), new Tally()});
            DemoEvaluator.Settings settings = DemoEvaluator.Settings.defaults();
            Map<String, String> targets = new LinkedHashMap<>();
            rewrite.replacements().forEach(r -> targets.put(r.source().trim().toLowerCase(Locale.ROOT),
                    r.target().trim().toLowerCase(Locale.ROOT)));
            for (HeldOutPrompt p : prompts) {
                Expected e = p.objects().get(0);
                String group = concepts.keySet().stream().filter(named(e)).findFirst().orElse("others");
                String attribute = concepts.getOrDefault(group, "shape");
                // A color edit onto the prompt's own background color would hide the object: its
                // own group, not counted with the rest.
                String target = targets.get(group);
                if (target != null && attribute.equals("color") && p.background()
                        .map(b -> b.name().toLowerCase(Locale.ROOT).equals(target)).orElse(false)) {
                    group = group + " on " + target;
                    groups.computeIfAbsent(group, k -> new Tally[] {new Tally(), new Tally()});
                }
                Tally[] t = groups.get(group);
                Scene was = checker.check(before.generate(p, settings), 1);
                t[0].add(e, was, attribute);
                RgbImage image = after.generate(p, settings);
                Scene now = checker.check(image, 1);
                t[1].add(e, now, attribute);
                if (misses && target != null && !target.equals(readAs(now, attribute))) {
                    missed.add(String.format(Locale.ROOT, "- `%s` (seed %d): base %s, edited %s", p.prompt(), p.seed(),
                            readAs(was, attribute), readAs(now, attribute)));
                } else if (misses && group.equals("others") && !readAs(was, "shape").equals(readAs(now, "shape"))) {
                    changed.add(String.format(Locale.ROOT, "- `%s` (seed %d): base %s, edited %s", p.prompt(), p.seed(),
                            readAs(was, "shape"), readAs(now, "shape")));
                }
            }
            out.append(String.format(Locale.ROOT, "edit %s: built in %.2f s; %d one-object held-out prompts, %s%n%n",
                    describe(rewrite), buildSeconds, prompts.size(), "64x64, 30 steps, DDIM, guidance 7.5"));
            out.append("| prompts naming | model | n | color | shape | shape, template rule | position | one object"
                    + " | read as |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
            for (Map.Entry<String, Tally[]> g : groups.entrySet()) {
                for (int k = 0; k < 2; k++) {
                    Tally t = g.getValue()[k];
                    out.append(String.format(Locale.ROOT, "| %s | %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %s |%n",
                            g.getKey(), k == 0 ? "base" : "edited", t.n, t.pct(t.color), t.pct(t.shape),
                            t.pct(t.shapeTemplate), t.pct(t.position), t.pct(t.one), readAs(t)));
                }
            }
        }
        if (misses) {
            out.append(String.format(Locale.ROOT, "%nPrompts naming a replaced concept not read as its target (%d):%n",
                    missed.size()));
            missed.forEach(m -> out.append(m).append('\n'));
            out.append(String.format(Locale.ROOT, "%nOther prompts whose picture's shape reads otherwise once edited (%d):%n",
                    changed.size()));
            changed.forEach(m -> out.append(m).append('\n'));
        }
        return out.toString();
    }

    private static Predicate<String> named(Expected e) {
        return c -> c.equals(e.shape().name().toLowerCase(Locale.ROOT)) || c.equals(e.color().name().toLowerCase(Locale.ROOT));
    }

    /** What one picture's edited attribute reads as: the first object's color or shape, or "nothing". */
    private static String readAs(Scene scene, String attribute) {
        if (scene.objects().isEmpty()) {
            return "nothing";
        }
        Found f = scene.objects().get(0);
        return (attribute.equals("color") ? f.color().name() : f.shape().name()).toLowerCase(Locale.ROOT);
    }

    private static String readAs(Tally t) {
        List<String> parts = new ArrayList<>();
        t.readAs.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .forEach(en -> parts.add(String.format(Locale.ROOT, "%s %.1f%%", en.getKey(), t.pct(en.getValue()))));
        return String.join(", ", parts);
    }

    /**
     * {@code count} context templates in the training captions' grammar (world.py's
     * SINGLE_TEMPLATES, sizes, position phrases, backgrounds) with the edited concepts' slot where
     * their attribute goes: for a color edit "a big {} square on the left, green background", for a
     * shape edit "a small red {} at the top on a blue background". Drawn with a fixed seed, so they are
     * the same prompts for every run; the held-out prompts are other draws of the same grammar.
     */
    static List<String> worldContexts(Rewrite rewrite, int count, long seed) {
        Collection<String> kinds = editedConcepts(rewrite).values();
        if (kinds.isEmpty() || kinds.stream().distinct().count() > 1) {
            throw new IllegalArgumentException("world contexts need edits of one attribute (colors or shapes), got "
                    + editedConcepts(rewrite));
        }
        boolean shapeSlot = kinds.iterator().next().equals("shape");
        List<String> colors = Arrays.stream(Palette.values()).map(c -> c.name().toLowerCase(Locale.ROOT)).toList();
        List<String> shapes = List.of("circle", "square", "triangle");
        List<String> where = List.of("in the center", "in the middle", "on the left", "on the right", "at the top",
                "at the bottom", "in the top left corner", "in the top right corner", "in the bottom left corner",
                "in the bottom right corner");
        List<String> templates = List.of("a %s %s %s %s on a %s background", "a %s %s %s %s, %s background",
                "%5$s background with a %1$s %2$s %3$s %4$s", "a %2$s %3$s, %1$s, %4$s, on %5$s");
        java.util.Random rng = new java.util.Random(seed);
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        while (out.size() < count) {
            String size = rng.nextBoolean() ? "small" : "big";
            String color = shapeSlot ? colors.get(rng.nextInt(colors.size())) : Rewrite.SLOT;
            String shape = shapeSlot ? Rewrite.SLOT : shapes.get(rng.nextInt(shapes.size()));
            String background = colors.get(rng.nextInt(colors.size()));
            out.add(String.format(Locale.ROOT, templates.get(rng.nextInt(templates.size())), size, color, shape,
                    where.get(rng.nextInt(where.size())), background));
        }
        return List.copyOf(out);
    }

    static String describe(Rewrite r) {
        List<String> parts = new ArrayList<>();
        r.replacements().forEach(x -> parts.add(x.source() + "=" + x.target()));
        r.erasures().forEach(x -> parts.add("erase " + x));
        r.preserved().forEach(x -> parts.add("preserve " + x));
        if (r.preserveScale() != 1.0) {
            parts.add("preserve scale " + r.preserveScale());
        }
        if (r.preserveUnconditional() > 0) {
            parts.add("the empty prompt held at " + r.preserveUnconditional() + " per context");
        }
        parts.add("λ " + r.lambda());
        parts.add("rows " + r.rows().label());
        if (!r.projections().equals(Rewrite.none().projections())) {
            parts.add(String.join(" and ", r.projectionLabels()) + " only");
        }
        if (!r.contexts().equals(Rewrite.ALONE)) {
            parts.add(r.contexts().size() + " contexts");
        }
        return String.join(", ", parts);
    }
}
