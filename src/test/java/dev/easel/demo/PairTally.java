package dev.easel.demo;

import dev.easel.engine.image.RgbImage;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;

/**
 * How many one-object pictures of each asked color–shape pair show exactly one object of that
 * color and shape. DemoEval reads its held-out pair rows with it: a fine-tune may teach one of the
 * pairs after all (finetune.py --teach-pair), and then that pair's prompts are no longer novel, so
 * each pair is reported apart.
 */
final class PairTally implements BiConsumer<HeldOutPrompt, RgbImage> {

    private final SceneChecker checker = new SceneChecker();
    private final Map<String, int[]> counts = new TreeMap<>();

    /** Whether a one-object prompt's picture shows exactly one object, of the asked color and shape. */
    static boolean drawnAsAsked(SceneChecker.Scene scene, HeldOutPrompt.Expected asked) {
        return scene.count() == 1 && scene.objects().get(0).color() == asked.color()
                && scene.objects().get(0).shape() == asked.shape();
    }

    @Override
    public void accept(HeldOutPrompt prompt, RgbImage image) {
        HeldOutPrompt.Expected asked = prompt.objects().get(0);
        int[] rightOfAll = counts.computeIfAbsent(pairName(asked), k -> new int[2]);
        rightOfAll[0] += drawnAsAsked(checker.check(image, 1), asked) ? 1 : 0;
        rightOfAll[1]++;
    }

    /** "green triangle 30 of 33, orange circle 31 of 34" (pairs in alphabetical order). */
    String summary() {
        return counts.entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "%s %d of %d", e.getKey(), e.getValue()[0], e.getValue()[1]))
                .collect(Collectors.joining(", "));
    }

    private static String pairName(HeldOutPrompt.Expected asked) {
        return (asked.color() + " " + asked.shape()).toLowerCase(Locale.ROOT);
    }
}
