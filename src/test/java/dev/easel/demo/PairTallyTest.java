package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PairTallyTest {

    private static HeldOutPrompt asking(Palette color, SceneChecker.Shape shape) {
        return new HeldOutPrompt("single", "novel", "a " + color + " " + shape, 1, Optional.empty(), Optional.empty(),
                List.of(new HeldOutPrompt.Expected(color, shape, Optional.empty(), Optional.empty())));
    }

    @Test
    void countsEachPairApartAndOnlyExactlyOneObjectOfTheAskedColorAndShape() {
        PairTally tally = new PairTally();
        HeldOutPrompt greenTriangle = asking(Palette.GREEN, SceneChecker.Shape.TRIANGLE);
        tally.accept(greenTriangle, new Painter(64, Palette.BLUE)
                .draw(SceneChecker.Shape.TRIANGLE, Palette.GREEN, 32, 32, 26).image());
        tally.accept(greenTriangle, new Painter(64, Palette.BLUE)
                .draw(SceneChecker.Shape.CIRCLE, Palette.GREEN, 32, 32, 26).image());
        tally.accept(greenTriangle, new Painter(64, Palette.BLUE)
                .draw(SceneChecker.Shape.TRIANGLE, Palette.GREEN, 16, 32, 18)
                .draw(SceneChecker.Shape.TRIANGLE, Palette.GREEN, 48, 32, 18).image());
        tally.accept(greenTriangle, new Painter(64, Palette.GREEN).image());
        tally.accept(asking(Palette.ORANGE, SceneChecker.Shape.CIRCLE), new Painter(64, Palette.BLACK)
                .draw(SceneChecker.Shape.CIRCLE, Palette.ORANGE, 48, 16, 14).image());

        assertEquals("green triangle 1 of 4, orange circle 1 of 1", tally.summary());
    }

    @Test
    void nothingDrawnSaysNothing() {
        assertEquals("", new PairTally().summary());
    }
}
