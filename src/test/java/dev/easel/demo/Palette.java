package dev.easel.demo;

import java.util.Locale;

/**
 * The demo world's named colors, as the model card lists them. The checker names a region by the
 * nearest of these in RGB.
 */
public enum Palette {
    RED(220, 40, 40),
    GREEN(40, 170, 60),
    BLUE(40, 80, 220),
    YELLOW(240, 220, 40),
    PURPLE(140, 60, 180),
    ORANGE(245, 140, 30),
    WHITE(245, 245, 245),
    BLACK(20, 20, 20);

    final int r;
    final int g;
    final int b;

    Palette(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
    }

    /** The color's word in captions. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Palette of(String word) {
        return valueOf(word.toUpperCase(Locale.ROOT));
    }

    /** The palette color nearest to (r, g, b). */
    public static Palette nearest(double r, double g, double b) {
        Palette best = RED;
        double bestDistance = Double.MAX_VALUE;
        for (Palette p : values()) {
            double d = squaredDistance(p, r, g, b);
            if (d < bestDistance) {
                bestDistance = d;
                best = p;
            }
        }
        return best;
    }

    static double squaredDistance(Palette p, double r, double g, double b) {
        return (p.r - r) * (p.r - r) + (p.g - g) * (p.g - g) + (p.b - b) * (p.b - b);
    }
}
