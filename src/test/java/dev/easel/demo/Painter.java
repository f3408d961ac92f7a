package dev.easel.demo;

import dev.easel.engine.image.RgbImage;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.geom.RoundRectangle2D;
import java.awt.image.BufferedImage;

/** Draws demo-world pictures with Java2D (anti-aliased), for testing the checker on its own. */
final class Painter {

    private final BufferedImage canvas;
    private final Graphics2D g;

    Painter(int size, Palette background) {
        this(size, color(background));
    }

    /** A canvas of any color (one the palette lacks, as {@link NamedColors#PINK}). */
    Painter(int size, NamedColors.Named background) {
        this(size, color(background));
    }

    private Painter(int size, Color background) {
        canvas = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        g = canvas.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(background);
        g.fillRect(0, 0, size, size);
    }

    /** An upright shape with its bounding box of side {@code side} centred at (cx, cy). */
    Painter draw(SceneChecker.Shape shape, Palette color, double cx, double cy, double side) {
        return draw(shape, color(color), cx, cy, side);
    }

    /** As {@link #draw(SceneChecker.Shape, Palette, double, double, double)}, in any color. */
    Painter draw(SceneChecker.Shape shape, NamedColors.Named color, double cx, double cy, double side) {
        return draw(shape, color(color), cx, cy, side);
    }

    private Painter draw(SceneChecker.Shape shape, Color color, double cx, double cy, double side) {
        g.setColor(color);
        double h = side / 2;
        switch (shape) {
            case CIRCLE -> g.fill(new Ellipse2D.Double(cx - h, cy - h, side, side));
            case SQUARE -> g.fill(new Rectangle2D.Double(cx - h, cy - h, side, side));
            case TRIANGLE -> {
                Path2D.Double path = new Path2D.Double();
                path.moveTo(cx, cy - h);
                path.lineTo(cx + h, cy + h);
                path.lineTo(cx - h, cy + h);
                path.closePath();
                g.fill(path);
            }
        }
        return this;
    }

    /**
     * A square whose sides bow inwards by {@code bow} pixels at their middles, its corners sharp:
     * what strong classifier-free guidance makes of the demo model's squares.
     */
    Painter drawBowedSquare(Palette color, double cx, double cy, double side, double bow) {
        g.setColor(color(color));
        double h = side / 2;
        Path2D.Double path = new Path2D.Double();
        path.moveTo(cx - h, cy - h);
        path.quadTo(cx, cy - h + 2 * bow, cx + h, cy - h);
        path.quadTo(cx + h - 2 * bow, cy, cx + h, cy + h);
        path.quadTo(cx, cy + h - 2 * bow, cx - h, cy + h);
        path.quadTo(cx - h + 2 * bow, cy, cx - h, cy - h);
        path.closePath();
        g.fill(path);
        return this;
    }

    /** A square with corners rounded to {@code radius} pixels (half the side: a circle). */
    Painter drawRoundedSquare(Palette color, double cx, double cy, double side, double radius) {
        g.setColor(color(color));
        g.fill(new RoundRectangle2D.Double(cx - side / 2, cy - side / 2, side, side, 2 * radius, 2 * radius));
        return this;
    }

    /** Adds uniform noise of ±amplitude per channel, as a model's imperfect flat colors. */
    Painter noise(int amplitude, long seed) {
        java.util.Random random = new java.util.Random(seed);
        for (int y = 0; y < canvas.getHeight(); y++) {
            for (int x = 0; x < canvas.getWidth(); x++) {
                int rgb = canvas.getRGB(x, y);
                int r = clamp(((rgb >> 16) & 0xFF) + random.nextInt(2 * amplitude + 1) - amplitude);
                int gg = clamp(((rgb >> 8) & 0xFF) + random.nextInt(2 * amplitude + 1) - amplitude);
                int b = clamp((rgb & 0xFF) + random.nextInt(2 * amplitude + 1) - amplitude);
                canvas.setRGB(x, y, (r << 16) | (gg << 8) | b);
            }
        }
        return this;
    }

    RgbImage image() {
        int w = canvas.getWidth();
        int h = canvas.getHeight();
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = canvas.getRGB(x, y);
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (p >> 16);
                rgb[i + 1] = (byte) (p >> 8);
                rgb[i + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private static Color color(Palette p) {
        return new Color(p.r, p.g, p.b);
    }

    private static Color color(NamedColors.Named c) {
        return new Color(c.r(), c.g(), c.b());
    }
}
