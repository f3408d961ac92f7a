package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.patch.ClosedFormEdit;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link StableDiffusionModel#rewritten} end to end on a random SD-shaped bundle. */
class ConceptRewriteTest {

    @TempDir
    static Path dir;
    static StableDiffusionModel model;

    @BeforeAll
    static void load() throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load(bundle, EngineOptions.cpu());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationResult generate(StableDiffusionModel m, String prompt) {
        GenerationRequest request = GenerationRequest.builder(prompt).size(64, 64).steps(3).seed(21).build();
        return new DiffusionPipeline(m, GenerationLimits.defaults()).generate(request, ProgressListener.NONE,
                Cancellation.NONE);
    }

    @Test
    void anIdentityEditGivesTheSameImage() {
        byte[] before = generate(model, "a red circle").images().get(0).image().rgb();
        try (StableDiffusionModel same = model.rewritten(Rewrite.none().replace("red circle", "red circle"))) {
            assertArrayEquals(before, generate(same, "a red circle").images().get(0).image().rgb());
        }
    }

    @Test
    void aReplacementChangesThePictureAndLeavesTheBaseModelAlone() {
        float[] source = generate(model, "a red circle").finalLatents();
        long t0 = System.nanoTime();
        try (StableDiffusionModel edited = model.rewritten(Rewrite.none().replace("red circle", "blue square"))) {
            System.out.printf(java.util.Locale.ROOT, "random SD bundle: rewritten() (encode, solve, patch 8"
                    + " projections, open the UNet) %.3f s%n", (System.nanoTime() - t0) / 1e9);
            float[] after = generate(edited, "a red circle").finalLatents();
            assertThat(distance(after, source)).isGreaterThan(1e-3);
        }
        // The base model is untouched and still usable.
        assertArrayEquals(source, generate(model, "a red circle").finalLatents());
    }

    @Test
    void erasureAndPreservationRun() {
        Rewrite erase = Rewrite.none().erase("red circle").preserve("blue square");
        try (StableDiffusionModel edited = model.rewritten(erase)) {
            float[] after = generate(edited, "a red circle").finalLatents();
            assertThat(distance(after, generate(model, "a red circle").finalLatents())).isGreaterThan(1e-3);
        }
    }

    @Test
    void keyOnlyEditsRunAndDifferFromFullEdits() {
        Rewrite both = Rewrite.none().replace("red circle", "blue square");
        try (StableDiffusionModel a = model.rewritten(both);
             StableDiffusionModel b = model.rewritten(both.withProjections(EnumSet.of(Kind.KEY)))) {
            assertThat(distance(generate(a, "a red circle").finalLatents(), generate(b, "a red circle").finalLatents()))
                    .isGreaterThan(1e-4);
        }
    }

    @Test
    void sourceAndTargetRowsAreAlignedAtTheirLastWords() {
        // n word tokens each: max(n_source, n_target) rows dropped, as TIME's/UCE's code.
        int source = words("red circle");
        int target = words("a big blue square");
        assertThat(target).isGreaterThan(source);
        ClosedFormEdit.Problem p = new ConceptEncoder(model).problem(
                Rewrite.none().replace("red circle", "a big blue square").preserve("sky"));
        assertEquals(77 - target, p.sources().size());
        assertEquals(77 - words("sky"), p.preserved().size());
        assertEquals(32, p.width());
    }

    @Test
    void throughEosMapsOnlyTheLastWordAndEos() {
        Rewrite edit = Rewrite.none().replace("red circle", "a big blue square").erase("sky").preserve("sun")
                .withRows(Rewrite.Rows.THROUGH_EOS);
        ClosedFormEdit.Problem all = new ConceptEncoder(model).problem(edit.withRows(Rewrite.Rows.THROUGH_PADDING));
        ClosedFormEdit.Problem p = new ConceptEncoder(model).problem(edit);
        assertEquals(4, p.sources().size()); // 2 for the replacement, 2 for the erasure
        assertEquals(2, p.preserved().size());
        // The same rows as the first two of each concept's rows through the padding.
        assertArrayEquals(all.sources().get(0), p.sources().get(0));
        assertArrayEquals(all.targets().get(1), p.targets().get(1));
        assertEquals("through-eos", Rewrite.Rows.THROUGH_EOS.label());
        assertEquals(Rewrite.Rows.THROUGH_EOS, Rewrite.Rows.of("through-eos"));
        assertThatThrownBy(() -> Rewrite.Rows.of("all")).hasMessageContaining("rewrite-rows");
    }

    @Test
    void sdxlConceptsAreBothEncodersStatesSideBySide(@TempDir Path other) throws IOException {
        Path bundle = dev.easel.fixtures.RandomSdxlBundle.create(dev.easel.fixtures.RandomSdxlBundle.Spec.defaults())
                .writeTo(other.resolve("xl"));
        try (StableDiffusionModel xl = StableDiffusionModel.load(bundle, EngineOptions.cpu())) {
            ClosedFormEdit.Problem p = new ConceptEncoder(xl).problem(Rewrite.none().erase("red circle"));
            assertEquals(xl.geometry().textHidden(), p.width());
            try (StableDiffusionModel edited = xl.rewritten(Rewrite.none().erase("red circle"))) {
                GenerationRequest request = GenerationRequest.builder("a red circle").size(64, 64).steps(2).seed(3)
                        .build();
                float[] before = new DiffusionPipeline(xl, GenerationLimits.defaults())
                        .generate(request, ProgressListener.NONE, Cancellation.NONE).finalLatents();
                float[] after = new DiffusionPipeline(edited, GenerationLimits.defaults())
                        .generate(request, ProgressListener.NONE, Cancellation.NONE).finalLatents();
                assertThat(distance(before, after)).isGreaterThan(1e-4);
            }
        }
    }

    @Test
    void intoRewrittenHandsThePartsOn(@TempDir Path other) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(other.resolve("own"));
        StableDiffusionModel base = StableDiffusionModel.load(bundle, EngineOptions.cpu());
        byte[] before = generate(base, "a red circle").images().get(0).image().rgb();
        try (StableDiffusionModel same = base.intoRewritten(Rewrite.none().replace("red circle", "red circle"))) {
            base.close(); // does nothing: the parts are the rewritten model's now
            assertArrayEquals(before, generate(same, "a red circle").images().get(0).image().rgb());
        }
    }

    @Test
    void contextsEncodeEachConceptInsideEveryTemplate() {
        ConceptEncoder encoder = new ConceptEncoder(model);
        Rewrite alone = Rewrite.none().replace("red circle", "blue square").preserve("sky");
        // "{}" is the concept alone: the same problem as without contexts.
        ClosedFormEdit.Problem base = encoder.problem(alone);
        ClosedFormEdit.Problem slot = encoder.problem(alone.withContexts(Rewrite.ALONE));
        assertArrayEquals(base.sources().get(5), slot.sources().get(5));
        assertEquals(base.sources().size(), slot.sources().size());
        // In "a photo of {}" the rows are those of the whole prompt, from the concept's last word on.
        ClosedFormEdit.Problem inPhoto = encoder.problem(alone.withContexts(java.util.List.of("a photo of {}")));
        ClosedFormEdit.Problem whole = encoder.problem(Rewrite.none().replace("a photo of red circle",
                "a photo of blue square").preserve("a photo of sky"));
        assertEquals(whole.sources().size(), inPhoto.sources().size());
        assertArrayEquals(whole.sources().get(0), inPhoto.sources().get(0));
        assertArrayEquals(whole.targets().get(3), inPhoto.targets().get(3));
        assertArrayEquals(whole.preserved().get(1), inPhoto.preserved().get(1));
        // Through EOS, the tokens after the concept count too: last word + the suffix's tokens + EOS per template.
        ClosedFormEdit.Problem eos = encoder.problem(alone.withRows(Rewrite.Rows.THROUGH_EOS)
                .withContexts(java.util.List.of("{} in a garden", "a photo of {} on a table")));
        int rows = words("in a garden") + 2 + words("on a table") + 2;
        assertEquals(rows, eos.sources().size());
        assertEquals(rows, eos.preserved().size());
    }

    @Test
    void anIdentityEditInContextsGivesTheSameImage() {
        byte[] before = generate(model, "a red circle").images().get(0).image().rgb();
        Rewrite same = Rewrite.none().replace("red", "red").withContexts(java.util.List.of("a {} circle", "{} sky"));
        try (StableDiffusionModel edited = model.rewritten(same)) {
            assertArrayEquals(before, generate(edited, "a red circle").images().get(0).image().rgb());
        }
    }

    @Test
    void theLargestContextListAnEditTakesIsBuilt() {
        // 64 templates, each as long in tokens as the tokenizer lets a prompt be around the concepts.
        java.util.List<String> templates = new java.util.ArrayList<>();
        for (int i = 0; templates.size() < Rewrite.MAX_CONTEXTS; i++) {
            StringBuilder t = new StringBuilder("photo " + i + " of {}");
            while (t.length() + 4 <= Rewrite.MAX_CONTEXT_LENGTH
                    && words(Rewrite.inContext(t + " sky", "blue square")) <= 75) {
                t.append(" sky");
            }
            templates.add(t.toString());
        }
        Rewrite edit = Rewrite.none().replace("red circle", "blue square").preserve("sky")
                .withContexts(templates);
        float[] before = generate(model, "photo 1 of red circle sky").finalLatents();
        try (StableDiffusionModel edited = model.rewritten(edit)) {
            assertThat(distance(generate(edited, "photo 1 of red circle sky").finalLatents(), before))
                    .isGreaterThan(1e-4);
        }
    }

    /** The empty prompt is held from BOS, once per context at weight 1 (its rows scaled by √(weight × contexts)). */
    @Test
    void theUnconditionalPromptIsHeldFromBosOncePerContext() {
        ConceptEncoder encoder = new ConceptEncoder(model);
        Rewrite edit = Rewrite.none().replace("red circle", "blue square");
        ClosedFormEdit.Problem once = encoder.problem(edit.withPreserveUnconditional(1));
        assertEquals(77, once.preserved().size());
        ClosedFormEdit.Problem twice = encoder.problem(edit.withPreserveUnconditional(2)
                .withContexts(java.util.List.of("a photo of {}", "{} on a table")));
        assertEquals(77, twice.preserved().size());
        for (int t : new int[] {0, 1, 76}) {
            double[] a = once.preserved().get(t);
            double[] b = twice.preserved().get(t);
            for (int i = 0; i < a.length; i++) {
                assertEquals(2 * a[i], b[i], 1e-9 * (1 + Math.abs(a[i])));
            }
        }
        // Through EOS: BOS and EOS.
        assertEquals(2, encoder.problem(edit.withPreserveUnconditional(1).withRows(Rewrite.Rows.THROUGH_EOS))
                .preserved().size());
        assertEquals(0, encoder.problem(edit).preserved().size());
        try (StableDiffusionModel held = model.rewritten(edit.withPreserveUnconditional(1))) {
            assertThat(held.name()).isEqualTo(model.name());
        }
        assertThatThrownBy(() -> edit.withPreserveUnconditional(-1)).isInstanceOfSatisfying(
                InvalidRequestException.class, e -> assertEquals("preserve-unconditional", e.field()));
        assertThatThrownBy(() -> edit.withPreserveUnconditional(Double.NaN)).isInstanceOf(InvalidRequestException.class);
        assertEquals(edit.withPreserveUnconditional(0), edit.withPreserveUnconditional(-0.0));
    }

    @Test
    void badContextsNameTheirOption() {
        Rewrite edit = Rewrite.none().replace("red", "blue");
        for (String bad : new String[] {"a photo", "{} and {}", "x ".repeat(100) + "{}", "a {}dish circle", "re{}"}) {
            assertThatThrownBy(() -> edit.withContexts(java.util.List.of(bad)))
                    .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-context", e.field()));
        }
        assertThatThrownBy(() -> edit.withContexts(java.util.Collections.nCopies(65, "{}")))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-context", e.field()))
                .hasMessageContaining("1 to 64");
        // A prompt longer than the tokenizer's 77 tokens.
        assertThatThrownBy(() -> model.rewritten(edit.withContexts(java.util.List.of("{} " + "a ".repeat(98)))))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-context", e.field()))
                .hasMessageContaining("fit 75 tokens");
        // A concept longer than the text encoder takes is refused naming its field, not cut to its first 75 tokens.
        assertThatThrownBy(() -> model.rewritten(Rewrite.none().erase("a ".repeat(100).trim())))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("erase", e.field()))
                .hasMessageContaining("is 100 tokens; at most 75 fit");
    }

    @Test
    void badConceptsNameTheirOption() {
        assertThatThrownBy(() -> model.rewritten(Rewrite.none().replace("  ", "blue")))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite", e.field()))
                .hasMessageContaining("no tokens");
        assertThatThrownBy(() -> model.rewritten(Rewrite.none().erase("")))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("erase", e.field()));
        assertThatThrownBy(() -> model.rewritten(Rewrite.none().erase("x").preserve(" ")))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("preserve", e.field()));
        assertThatThrownBy(() -> model.rewritten(Rewrite.none().preserve("sky")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("nothing to edit");
        assertThatThrownBy(() -> Rewrite.none().withLambda(0))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-lambda", e.field()));
        // Above 0 but below what float64 can keep positive definite: refused, not a failed factorisation.
        assertThatThrownBy(() -> Rewrite.none().withLambda(1e-300))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-lambda", e.field()));
        assertEquals(Rewrite.MIN_LAMBDA, Rewrite.none().withLambda(Rewrite.MIN_LAMBDA).lambda());
    }

    @Test
    void projectionsAreNamedByTheirLabels() {
        assertEquals(java.util.EnumSet.of(dev.easel.engine.onnx.CrossAttentionProjections.Kind.VALUE),
                Rewrite.projectionsOf(java.util.List.of(" value", "value")));
        assertEquals(Rewrite.none().projections(), Rewrite.projectionsOf(java.util.List.of("value", "key")));
        assertEquals(java.util.List.of("key", "value"), Rewrite.none().projectionLabels());
        assertEquals(java.util.List.of("value"), Rewrite.none().withProjections(
                Rewrite.projectionsOf(java.util.List.of("value"))).projectionLabels());
        for (java.util.List<String> bad : java.util.List.of(java.util.List.<String>of(), java.util.List.of("query"),
                java.util.List.of("key", "Value"))) {
            assertThatThrownBy(() -> Rewrite.projectionsOf(bad))
                    .isInstanceOfSatisfying(InvalidRequestException.class,
                            e -> assertEquals("rewrite-projections", e.field()));
        }
        assertThatThrownBy(() -> Rewrite.none().withProjections(java.util.Set.of()))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertEquals("rewrite-projections", e.field()));
    }

    private static int words(String text) {
        return model.config().tokenizer().encode(text).length - 2;
    }

    private static double distance(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        }
        return Math.sqrt(s / a.length);
    }

    @SuppressWarnings("unused")
    private static String show(float[] a) {
        return Arrays.toString(Arrays.copyOf(a, 4));
    }
}
