package dev.easel.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Named colors for the checker to read a region's color by, independent of {@link Palette}: the
 * world's 8 by default, or those plus colors the world never had (the pink a LoRA teaches,
 * {@link DemoLoraEvaluation}), so that the 8-color readings and their thresholds stay as they are.
 * The nearest color in RGB wins; ties go to the earlier one, so the palette alone reads exactly as
 * {@link Palette#nearest}. Immutable.
 */
public final class NamedColors {

    /** One color and its word in captions. */
    public record Named(String word, int r, int g, int b) {
    }

    /** The ninth color of {@code easel_demo/lora.py} (RGB 240, 110, 180). */
    public static final Named PINK = new Named("pink", 240, 110, 180);

    private final List<Named> colors;

    private NamedColors(List<Named> colors) {
        this.colors = List.copyOf(colors);
    }

    /** The world's palette, in {@link Palette}'s order. */
    public static NamedColors palette() {
        List<Named> out = new ArrayList<>();
        for (Palette p : Palette.values()) {
            out.add(new Named(p.word(), p.r, p.g, p.b));
        }
        return new NamedColors(out);
    }

    /** These colors and {@code extra} after them. */
    public NamedColors with(Named extra) {
        if (colors.stream().anyMatch(c -> c.word().equals(extra.word()))) {
            throw new IllegalArgumentException("color '" + extra.word() + "' is already named");
        }
        List<Named> out = new ArrayList<>(colors);
        out.add(extra);
        return new NamedColors(out);
    }

    /** The colors' words, in order. */
    public List<String> words() {
        return colors.stream().map(Named::word).toList();
    }

    /** The word of the color nearest to (r, g, b). */
    public String nearest(double r, double g, double b) {
        Named best = colors.get(0);
        double bestDistance = Double.MAX_VALUE;
        for (Named c : colors) {
            double d = (c.r() - r) * (c.r() - r) + (c.g() - g) * (c.g() - g) + (c.b() - b) * (c.b() - b);
            if (d < bestDistance) {
                bestDistance = d;
                best = c;
            }
        }
        return best.word().toLowerCase(Locale.ROOT);
    }
}
