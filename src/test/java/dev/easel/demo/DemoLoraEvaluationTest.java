package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.demo.SceneChecker.Found;
import dev.easel.demo.SceneChecker.Scene;
import dev.easel.demo.SceneChecker.Shape;
import dev.easel.engine.pipeline.Lora;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of the pink LoRA's evaluation that need no model: the checker's extra color, the prompts, --lora. */
class DemoLoraEvaluationTest {

    private final SceneChecker withPink = new SceneChecker(NamedColors.palette().with(NamedColors.PINK));
    private final SceneChecker plain = new SceneChecker();

    @Test
    void pinkAwareCheckerReadsPinkObjectsAndBackgroundsAndLeavesThePaletteAlone() {
        for (Palette bg : Palette.values()) {
            for (Shape shape : Shape.values()) {
                Scene scene = withPink.check(new Painter(64, bg).draw(shape, NamedColors.PINK, 20, 44, 26)
                        .noise(20, 3).image(), 1);
                String label = "pink " + shape + " on " + bg;
                assertEquals(1, scene.count(), label);
                Found f = scene.objects().get(0);
                assertEquals("pink", f.colorWord(), label);
                assertEquals(shape, f.shape(), label);
                assertEquals("bottom left", f.position(), label);
                assertEquals(bg.word(), scene.backgroundWord(), label);
                // The 8-color reading of the same picture is untouched: pink's nearest palette color.
                assertEquals(Palette.PURPLE, f.color(), label);
            }
            Scene onPink = withPink.check(new Painter(64, NamedColors.PINK).draw(Shape.SQUARE, bg, 32, 32, 14).image(), 1);
            assertEquals("pink", onPink.backgroundWord(), "square of " + bg + " on pink");
            assertEquals(bg.word(), onPink.objects().get(0).colorWord(), "square of " + bg + " on pink");
        }
    }

    @Test
    void paletteOnlyCheckerNamesEveryColorByItsPaletteWord() {
        for (Palette color : Palette.values()) {
            Palette bg = Palette.values()[(color.ordinal() + 2) % Palette.values().length];
            Scene scene = plain.check(new Painter(64, bg).draw(Shape.CIRCLE, color, 32, 32, 26).noise(25, 7).image(), 1);
            Found f = scene.objects().get(0);
            assertEquals(color, f.color());
            assertEquals(color.word(), f.colorWord());
            assertEquals(bg.word(), scene.backgroundWord());
        }
        NamedColors palette = NamedColors.palette();
        for (int r = 0; r < 256; r += 15) {
            for (int g = 0; g < 256; g += 15) {
                for (int b = 0; b < 256; b += 15) {
                    assertEquals(Palette.nearest(r, g, b).word(), palette.nearest(r, g, b));
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> palette.with(new NamedColors.Named("red", 1, 2, 3)));
        assertEquals(9, palette.with(NamedColors.PINK).words().size());
    }

    @Test
    void promptsNamePinkOnOneObjectWithTheirAttributes() {
        List<DemoLoraEvaluation.ColorPrompt> prompts = DemoLoraEvaluation.prompts();
        assertEquals(60, prompts.size());
        for (DemoLoraEvaluation.ColorPrompt p : prompts) {
            assertEquals("pink", p.color(), p.prompt());
            assertTrue(p.prompt().contains("pink " + p.shape().name().toLowerCase(java.util.Locale.ROOT)), p.prompt());
            p.size().ifPresent(s -> assertTrue(p.prompt().contains(s), p.prompt()));
            p.background().ifPresent(b -> assertTrue(p.prompt().contains(b), p.prompt()));
        }
        assertTrue(prompts.stream().anyMatch(p -> p.background().isEmpty() && p.position().isEmpty()), "partial prompts");
        assertEquals(prompts.size(), prompts.stream().map(DemoLoraEvaluation.ColorPrompt::seed).distinct().count());
    }

    @Test
    void loraOptionTakesAnOptionalScaleAfterTheLastColon() {
        Lora plainPath = DemoLoraEvaluation.parseLora("/tmp/x/pink.safetensors");
        assertEquals(Path.of("/tmp/x/pink.safetensors"), plainPath.file());
        assertEquals(1.0, plainPath.scale());
        assertEquals("pink.safetensors", plainPath.name());
        Lora scaled = DemoLoraEvaluation.parseLora("work-lora/pink.safetensors:0.5");
        assertEquals(Path.of("work-lora/pink.safetensors"), scaled.file());
        assertEquals(0.5, scaled.scale());
        Lora negative = DemoLoraEvaluation.parseLora("pink.safetensors:-1");
        assertEquals(-1.0, negative.scale());
        Lora colonInName = DemoLoraEvaluation.parseLora("dir:a/pink.safetensors");
        assertEquals(Path.of("dir:a/pink.safetensors"), colonInName.file());
        assertFalse(colonInName.scale() != 1.0);
    }
}
