package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Concept edits of a UNet's cross-attention (TIME: Orgad et al. 2023; UCE: Gandikota et al. 2023),
 * applied by {@link StableDiffusionModel#rewritten}.
 *
 * @param replacements source → target concepts (TIME: the source now acts as the target)
 * @param erasures     concepts mapped to {@code anchor} (UCE erasure)
 * @param anchor       what erased concepts become; "" (the empty prompt) by default, as UCE
 * @param preserved    concepts whose projections are kept (UCE's preservation terms)
 * @param lambda       λ > 0, how strongly the original weights are kept; 0.1 by default (TIME §4, UCE's code)
 * @param projections  which projections are edited; key and value by default
 * @param rows         which of a concept's token rows the edit maps ({@link Rows})
 */
public record Rewrite(List<Replacement> replacements, List<String> erasures, String anchor, List<String> preserved,
                      double lambda, Set<Kind> projections, Rows rows) {

    /**
     * Which hidden-state rows of a concept the edit maps. TIME's and UCE's released code map the
     * concept's last word, EOS and all the padding after it ({@link #THROUGH_PADDING}, the
     * default). With a small or causal text encoder whose padding rows carry the whole prompt
     * (the project's demo model), mapping the padding moves every prompt's padding with it; there
     * {@link #THROUGH_EOS} (the last word and EOS only) keeps unrelated prompts far better
     * (docs/rewriting.md, measured on the demo model).
     */
    public enum Rows {
        THROUGH_PADDING, THROUGH_EOS;

        /** "through-padding" or "through-eos". */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        /** From {@link #label()}. */
        public static Rows of(String label) {
            for (Rows r : values()) {
                if (r.label().equals(label)) {
                    return r;
                }
            }
            throw new InvalidRequestException("rewrite-rows", "must be through-padding or through-eos, got '" + label + "'");
        }
    }

    /** TIME's and UCE's λ. */
    public static final double DEFAULT_LAMBDA = 0.1;

    /** One source → target edit. */
    public record Replacement(String source, String target) {
    }

    public Rewrite {
        replacements = List.copyOf(replacements);
        erasures = List.copyOf(erasures);
        preserved = List.copyOf(preserved);
        projections = projections.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(projections));
        if (!(lambda > 0) || Double.isInfinite(lambda)) {
            throw new InvalidRequestException("rewrite-lambda", "must be a finite number > 0, got " + lambda);
        }
        if (projections.isEmpty()) {
            throw new InvalidRequestException("rewrite", "names no projection (key, value) to edit");
        }
        java.util.Objects.requireNonNull(rows, "rows");
    }

    /** No edits yet; key and value projections, λ 0.1, anchor "". */
    public static Rewrite none() {
        return new Rewrite(List.of(), List.of(), "", List.of(), DEFAULT_LAMBDA, EnumSet.allOf(Kind.class),
                Rows.THROUGH_PADDING);
    }

    /** Whether there is anything to edit (preservation alone changes nothing). */
    public boolean isEmpty() {
        return replacements.isEmpty() && erasures.isEmpty();
    }

    public Rewrite replace(String source, String target) {
        List<Replacement> list = new ArrayList<>(replacements);
        list.add(new Replacement(source, target));
        return new Rewrite(list, erasures, anchor, preserved, lambda, projections, rows);
    }

    public Rewrite erase(String concept) {
        List<String> list = new ArrayList<>(erasures);
        list.add(concept);
        return new Rewrite(replacements, list, anchor, preserved, lambda, projections, rows);
    }

    public Rewrite preserve(String concept) {
        List<String> list = new ArrayList<>(preserved);
        list.add(concept);
        return new Rewrite(replacements, erasures, anchor, list, lambda, projections, rows);
    }

    public Rewrite withAnchor(String a) {
        return new Rewrite(replacements, erasures, a, preserved, lambda, projections, rows);
    }

    public Rewrite withLambda(double l) {
        return new Rewrite(replacements, erasures, anchor, preserved, l, projections, rows);
    }

    public Rewrite withProjections(Set<Kind> kinds) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, kinds, rows);
    }

    public Rewrite withRows(Rows r) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, projections, r);
    }
}
