package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.demo.SceneChecker.Found;
import dev.easel.demo.SceneChecker.Scene;
import dev.easel.demo.SceneChecker.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SceneCheckerTest {

    private static final Map<String, double[]> GRID = Map.of(
            "center", new double[] {32, 32}, "left", new double[] {16, 32}, "right", new double[] {48, 32},
            "top", new double[] {32, 16}, "bottom", new double[] {32, 48}, "top left", new double[] {16, 16},
            "top right", new double[] {48, 16}, "bottom left", new double[] {16, 48},
            "bottom right", new double[] {48, 48});

    private final SceneChecker checker = new SceneChecker();

    @Test
    void findsColorShapeSizeAndPositionOfEveryOneObjectScene() {
        int checked = 0;
        int k = 0;
        for (Palette color : Palette.values()) {
            Palette background = Palette.values()[(color.ordinal() + 3) % Palette.values().length];
            for (Shape shape : Shape.values()) {
                for (String size : List.of("small", "big")) {
                    for (Map.Entry<String, double[]> where : GRID.entrySet()) {
                        double jitter = (k++ % 7 - 3) * 0.9; // ±2.7 px, as the world's jitter
                        double side = size.equals("small") ? 14 : 26;
                        Scene scene = checker.check(new Painter(64, background)
                                .draw(shape, color, where.getValue()[0] + jitter, where.getValue()[1] - jitter, side)
                                .image(), 1);
                        String label = color + " " + shape + " " + size + " " + where.getKey() + " on " + background;
                        assertEquals(background, scene.background(), label);
                        assertEquals(1, scene.objects().size(), label);
                        Found found = scene.objects().get(0);
                        assertEquals(color, found.color(), label);
                        assertEquals(shape, found.shape(), label);
                        assertEquals(shape, found.templateShape(), label + " (template rule)");
                        assertEquals(size, found.size(), label);
                        assertEquals(where.getKey(), found.position(), label);
                        checked++;
                    }
                }
            }
        }
        assertEquals(8 * 3 * 2 * 9, checked);
    }

    @Test
    void toleratesNoisyColors() {
        Scene scene = checker.check(new Painter(64, Palette.GREEN).draw(Shape.TRIANGLE, Palette.ORANGE, 47, 17, 14)
                .noise(25, 7).image(), 1);
        Found found = scene.objects().get(0);
        assertEquals(Palette.ORANGE, found.color());
        assertEquals(Shape.TRIANGLE, found.shape());
        assertEquals(Shape.TRIANGLE, found.templateShape());
        assertEquals("top right", found.position());
    }

    /** The template rule: an ideal shape's own template fits it best, with an IoU near 1. */
    @Test
    void templateRuleFitsEachIdealShapeBestWithItsOwnTemplate() {
        for (Shape shape : Shape.values()) {
            for (double side : new double[] {14, 18, 26}) {
                Found found = checker.check(new Painter(64, Palette.GREEN).draw(shape, Palette.WHITE, 32.4, 31.7, side)
                        .image(), 1).objects().get(0);
                assertEquals(shape, found.templateShape(), shape + " of side " + side);
            }
        }
        // A square rounded to 0.4 of its side is nearer the circle's template; one rounded to 0.1 a square.
        assertEquals(Shape.CIRCLE, checker.check(new Painter(64, Palette.BLACK)
                .drawRoundedSquare(Palette.YELLOW, 32.3, 31.8, 26, 26 * 0.4).image(), 1).objects().get(0).templateShape());
        assertEquals(Shape.SQUARE, checker.check(new Painter(64, Palette.BLACK)
                .drawRoundedSquare(Palette.YELLOW, 32.3, 31.8, 26, 26 * 0.1).image(), 1).objects().get(0).templateShape());
    }

    @Test
    void countsEveryObjectNotOnlyThoseAskedFor() {
        Scene scene = checker.check(new Painter(64, Palette.BLACK)
                .draw(Shape.CIRCLE, Palette.RED, 18, 33, 18)
                .draw(Shape.TRIANGLE, Palette.BLUE, 46, 30, 14).image(), 1);
        assertEquals(1, scene.objects().size());
        assertEquals(2, scene.count());
    }

    /**
     * Strong guidance draws the demo model's squares with their sides bowed in (a pixel or two at
     * 14–26 px) and their corners sharp: still squares, though they fill only 0.80–0.89 of their box.
     */
    @Test
    void readsASquareWithBowedInSidesAsASquare() {
        for (double side : new double[] {14, 18, 26}) {
            for (double bow : new double[] {side * 0.05, side * 0.08}) {
                Found found = checker.check(new Painter(64, Palette.BLUE)
                        .drawBowedSquare(Palette.WHITE, 31.4, 32.6, side, bow).image(), 1).objects().get(0);
                assertEquals(Shape.SQUARE, found.shape(), "side " + side + ", bow " + bow);
            }
        }
    }

    /** A slightly rounded square is a square; one rounded to 0.4 of its side is nearer a circle. */
    @Test
    void readsRoundedSquaresByHowRoundTheirCornersAre() {
        for (double side : new double[] {14, 18, 26}) {
            Found slightly = checker.check(new Painter(64, Palette.BLACK)
                    .drawRoundedSquare(Palette.YELLOW, 32.3, 31.8, side, side * 0.15).image(), 1).objects().get(0);
            assertEquals(Shape.SQUARE, slightly.shape(), "side " + side + ", corner radius 0.15 of it");
            Found round = checker.check(new Painter(64, Palette.BLACK)
                    .drawRoundedSquare(Palette.YELLOW, 32.3, 31.8, side, side * 0.4).image(), 1).objects().get(0);
            assertEquals(Shape.CIRCLE, round.shape(), "side " + side + ", corner radius 0.4 of it");
        }
    }

    @Test
    void findsTwoObjectsAndTheirRelation() {
        Scene scene = checker.check(new Painter(64, Palette.BLACK)
                .draw(Shape.CIRCLE, Palette.RED, 18, 33, 18)
                .draw(Shape.TRIANGLE, Palette.BLUE, 46, 30, 18).image(), 2);
        assertEquals(2, scene.objects().size());
        Found red = scene.objects().stream().filter(o -> o.color() == Palette.RED).findFirst().orElseThrow();
        Found blue = scene.objects().stream().filter(o -> o.color() == Palette.BLUE).findFirst().orElseThrow();
        assertEquals(Shape.CIRCLE, red.shape());
        assertEquals(Shape.TRIANGLE, blue.shape());
        assertEquals("left of", Relations.of(red, blue));
        assertEquals("right of", Relations.of(blue, red));

        Scene stacked = checker.check(new Painter(64, Palette.WHITE)
                .draw(Shape.SQUARE, Palette.PURPLE, 30, 18, 18)
                .draw(Shape.SQUARE, Palette.YELLOW, 34, 46, 18).image(), 2);
        Found top = stacked.objects().stream().filter(o -> o.color() == Palette.PURPLE).findFirst().orElseThrow();
        Found bottom = stacked.objects().stream().filter(o -> o.color() == Palette.YELLOW).findFirst().orElseThrow();
        assertEquals(Shape.SQUARE, top.shape());
        assertEquals(Shape.SQUARE, bottom.shape());
        assertEquals("above", Relations.of(top, bottom));
        assertEquals("below", Relations.of(bottom, top));
    }

    @Test
    void findsNothingInAPlainPictureOrInFaintSpecks() {
        assertTrue(checker.check(new Painter(64, Palette.BLUE).image(), 2).objects().isEmpty());
        assertTrue(checker.check(new Painter(64, Palette.BLUE).draw(Shape.SQUARE, Palette.WHITE, 10, 10, 3)
                .image(), 2).objects().isEmpty());
    }
}
