package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import java.util.ArrayList;
import java.util.Arrays;
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
 * @param lambda       λ ≥ {@link #MIN_LAMBDA}, how strongly the original weights are kept; 0.1 by default (TIME §4, UCE's code)
 * @param projections  which projections are edited; key and value by default
 * @param rows         which of a concept's token rows the edit maps ({@link Rows})
 * @param contexts     prompt templates, each with one {@code {}} where a concept goes; every concept is
 *                     encoded inside each of them and all its pairs of rows are edited together (TIME's
 *                     prompt augmentation). {@code ["{}"]}, the concept alone, by default
 * @param preserveScale the weight of the preserved concepts' rows against the edited ones (UCE's
 *                     {@code preserve_scale}); 1 by default
 * @param preserveUnconditional the weight, per context, of the empty prompt's rows (BOS on), kept as
 *                     they are: every guided generation runs the empty prompt beside its own (the
 *                     unconditional branch), and its BOS row is every prompt's first. 0, not held, by
 *                     default (docs/rewriting.md: on the demo model it moves more of the edited concept
 *                     and costs the others less)
 */
public record Rewrite(List<Replacement> replacements, List<String> erasures, String anchor, List<String> preserved,
                      double lambda, Set<Kind> projections, Rows rows, List<String> contexts, double preserveScale,
                      double preserveUnconditional) {

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

    /** Where a concept goes in a context template. */
    public static final String SLOT = "{}";

    /** The concept alone: the default context. */
    public static final List<String> ALONE = List.of(SLOT);

    /** The most context templates an edit takes (each one encodes every concept once more). */
    public static final int MAX_CONTEXTS = 64;

    /** The longest context template, in characters. */
    public static final int MAX_CONTEXT_LENGTH = 200;

    /** One source → target edit. */
    public record Replacement(String source, String target) {
    }

    /**
     * Smallest λ: the edit's matrix λI + Σ c cᵀ has rank at most its rows plus λ's share; below this,
     * float64 rounding of Σ c cᵀ (about 1e-16 of its trace, some 1e-11 for CLIP's embeddings)
     * could outweigh λ and leave it not positive definite.
     */
    public static final double MIN_LAMBDA = 1e-6;

    public Rewrite {
        replacements = List.copyOf(replacements);
        erasures = List.copyOf(erasures);
        preserved = List.copyOf(preserved);
        projections = projections.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(projections));
        if (!(lambda >= MIN_LAMBDA) || Double.isInfinite(lambda)) {
            throw new InvalidRequestException("rewrite-lambda", "must be a finite number ≥ " + MIN_LAMBDA
                    + " (smaller, λI + Σ c cᵀ is singular in float64 for an edit of fewer rows than the text width),"
                    + " got " + lambda);
        }
        if (projections.isEmpty()) {
            throw new InvalidRequestException("rewrite-projections", "names no projection (key, value) to edit");
        }
        java.util.Objects.requireNonNull(rows, "rows");
        if (!(preserveScale > 0) || Double.isInfinite(preserveScale)) {
            throw new InvalidRequestException("preserve-scale", "must be a finite number > 0, got " + preserveScale);
        }
        if (!(preserveUnconditional >= 0) || Double.isInfinite(preserveUnconditional)) {
            throw new InvalidRequestException("preserve-unconditional", "must be a finite number ≥ 0 (0: not held), got "
                    + preserveUnconditional);
        }
        preserveUnconditional += 0.0; // -0.0 is 0.0: equal edits are one key of the rewritten models' cache
        contexts = List.copyOf(contexts);
        if (contexts.isEmpty() || contexts.size() > MAX_CONTEXTS) {
            throw new InvalidRequestException("rewrite-context", "takes 1 to " + MAX_CONTEXTS + " templates, got "
                    + contexts.size());
        }
        for (String c : contexts) {
            int at = c.indexOf(SLOT);
            if (c.length() > MAX_CONTEXT_LENGTH || at < 0 || at != c.lastIndexOf(SLOT) || !standsAlone(c, at)) {
                throw new InvalidRequestException("rewrite-context", "each template must hold '{}' exactly once, as"
                        + " a word of its own, and be at most " + MAX_CONTEXT_LENGTH + " characters, got '" + c + "'");
            }
        }
    }

    /** Whether the slot at {@code at} is no part of a longer word (the concept's tokens must stay its own). */
    private static boolean standsAlone(String template, int at) {
        int after = at + SLOT.length();
        return (at == 0 || Character.isWhitespace(template.charAt(at - 1)))
                && (after == template.length() || !Character.isLetterOrDigit(template.charAt(after)));
    }

    /**
     * The projections named by {@code labels} ("key", "value"; {@link Kind#label()}), for the
     * CLI's, jobs' and configuration's lists. Repeats are allowed; none or an unknown name is an
     * error naming the field {@code rewrite-projections}.
     */
    public static Set<Kind> projectionsOf(List<String> labels) {
        EnumSet<Kind> out = EnumSet.noneOf(Kind.class);
        for (String label : labels) {
            String wanted = label == null ? "" : label.trim();
            out.add(Arrays.stream(Kind.values()).filter(k -> k.label().equals(wanted)).findFirst()
                    .orElseThrow(() -> new InvalidRequestException("rewrite-projections",
                            "must name key or value, got '" + label + "'")));
        }
        if (out.isEmpty()) {
            throw new InvalidRequestException("rewrite-projections", "names no projection (key, value) to edit");
        }
        return out;
    }

    /** The labels of {@link #projections()}, key before value. */
    public List<String> projectionLabels() {
        return EnumSet.copyOf(projections).stream().map(Kind::label).toList();
    }

    /** {@code template} with {@code concept} in its slot, spaces around it collapsed where the concept is empty. */
    public static String inContext(String template, String concept) {
        return template.replace(SLOT, concept).trim().replaceAll(" {2,}", " ");
    }

    /** No edits yet; key and value projections, λ 0.1, anchor "". */
    public static Rewrite none() {
        return new Rewrite(List.of(), List.of(), "", List.of(), DEFAULT_LAMBDA, EnumSet.allOf(Kind.class),
                Rows.THROUGH_PADDING, ALONE, 1.0, 0.0);
    }

    /** Whether there is anything to edit (preservation alone changes nothing). */
    public boolean isEmpty() {
        return replacements.isEmpty() && erasures.isEmpty();
    }

    public Rewrite replace(String source, String target) {
        List<Replacement> list = new ArrayList<>(replacements);
        list.add(new Replacement(source, target));
        return new Rewrite(list, erasures, anchor, preserved, lambda, projections, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite erase(String concept) {
        List<String> list = new ArrayList<>(erasures);
        list.add(concept);
        return new Rewrite(replacements, list, anchor, preserved, lambda, projections, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite preserve(String concept) {
        List<String> list = new ArrayList<>(preserved);
        list.add(concept);
        return new Rewrite(replacements, erasures, anchor, list, lambda, projections, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite withAnchor(String a) {
        return new Rewrite(replacements, erasures, a, preserved, lambda, projections, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite withLambda(double l) {
        return new Rewrite(replacements, erasures, anchor, preserved, l, projections, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite withProjections(Set<Kind> kinds) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, kinds, rows, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite withRows(Rows r) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, projections, r, contexts, preserveScale,
                preserveUnconditional);
    }

    public Rewrite withPreserveScale(double scale) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, projections, rows, contexts, scale,
                preserveUnconditional);
    }

    public Rewrite withPreserveUnconditional(double weight) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, projections, rows, contexts, preserveScale,
                weight);
    }

    public Rewrite withContexts(List<String> templates) {
        return new Rewrite(replacements, erasures, anchor, preserved, lambda, projections, rows, templates, preserveScale,
                preserveUnconditional);
    }
}
