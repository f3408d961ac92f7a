package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.TextEncoder;
import dev.easel.engine.patch.ClosedFormEdit;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a {@link Rewrite}'s concepts into the rows of a {@link ClosedFormEdit.Problem}: each
 * concept's text-encoder hidden states exactly as the UNet sees them (SD: the last hidden state;
 * SDXL: both encoders' penultimate states side by side), padded to the tokenizer's length.
 *
 * <p>Which tokens, following TIME's and UCE's released code (the papers leave it to the code): a
 * concept's rows run from its last word token through EOS and the padding to the end of the
 * padded sequence. A source and its target are aligned at their last word tokens and cut to the
 * same length ({@code 77 − max(n_source, n_target)} rows, n the index of the last word token), so the
 * source's last word, EOS and padding are mapped onto the target's. A preserved concept keeps all of
 * its rows from the last word on. An erased concept's target is the anchor, "" by default, whose rows
 * start at BOS (n = 0), as in UCE's code. With {@link Rewrite.Rows#THROUGH_EOS} the rows stop at EOS.
 * With {@link Rewrite#preserveUnconditional} the empty prompt's rows, BOS on, are preserved too.
 *
 * <p>Each concept is encoded inside every one of the edit's context templates ({@link Rewrite#contexts},
 * TIME's augmentation; "{}" alone by default): in a causal text encoder the words after a concept
 * carry it too ("a red circle on the left": "circle", "on", "the", "left" all know "red"), so a
 * template's rows from the concept's last word through its end are paired with the same rows of
 * the template around the target. Not thread-safe; one per edit.
 */
final class ConceptEncoder {

    private final StableDiffusionModel model;

    ConceptEncoder(StableDiffusionModel model) {
        this.model = model;
    }

    /**
     * One concept in one context: the padded hidden states [length][width], the row of the
     * concept's last word token (the last token before it, or BOS, for an empty concept) and the row of EOS.
     */
    private record Encoded(double[][] rows, int last, int eos) {
    }

    /** The edit's rows for all of {@code rewrite}'s concepts, in every context. */
    ClosedFormEdit.Problem problem(Rewrite rewrite) {
        List<double[]> sources = new ArrayList<>();
        List<double[]> targets = new ArrayList<>();
        List<double[]> preserved = new ArrayList<>();
        for (String context : rewrite.contexts()) {
            for (Rewrite.Replacement r : rewrite.replacements()) {
                pair(encode(context, r.source(), "rewrite", false), encode(context, r.target(), "rewrite", true),
                        rewrite.rows(), sources, targets);
            }
            Encoded anchor = rewrite.erasures().isEmpty() ? null : encode(context, rewrite.anchor(), "erase", true);
            for (String concept : rewrite.erasures()) {
                pair(encode(context, concept, "erase", false), anchor, rewrite.rows(), sources, targets);
            }
            // UCE's preserve_scale weighs Σ W c cᵀ and Σ c cᵀ alike, both quadratic in c: scaling the
            // rows by its square root is the same edit.
            double weight = Math.sqrt(rewrite.preserveScale());
            for (String concept : rewrite.preserved()) {
                preserve(encode(context, concept, "preserve", false), rewrite.rows(), weight, preserved);
            }
        }
        if (rewrite.preserveUnconditional() > 0) {
            // The empty prompt, at its weight once per context (rows scaled by √(weight × contexts)),
            // from BOS (its "last word" row): the unconditional branch of every guided generation, and
            // the BOS row every prompt starts with.
            preserve(encode(Rewrite.SLOT, "", "preserve-unconditional", true), rewrite.rows(),
                    Math.sqrt(rewrite.preserveUnconditional() * rewrite.contexts().size()), preserved);
        }
        int width = sources.isEmpty() ? 0 : sources.get(0).length;
        return new ClosedFormEdit.Problem(width, sources, targets, preserved, rewrite.lambda());
    }

    /** Adds {@code e}'s rows from its last word on, scaled by {@code weight}, to the preserved ones. */
    private static void preserve(Encoded e, Rewrite.Rows rows, double weight, List<double[]> preserved) {
        for (int t = e.last(); t <= end(rows, e); t++) {
            double[] row = e.rows()[t];
            if (weight != 1.0) {
                for (int i = 0; i < row.length; i++) {
                    row[i] *= weight;
                }
            }
            preserved.add(row);
        }
    }

    /** Aligns source and target at their last word tokens (TIME/UCE code) and adds the row pairs. */
    private static void pair(Encoded source, Encoded target, Rewrite.Rows rows, List<double[]> sources,
            List<double[]> targets) {
        int count = Math.min(end(rows, source) - source.last(), end(rows, target) - target.last()) + 1;
        for (int t = 0; t < count; t++) {
            sources.add(source.rows()[source.last() + t]);
            targets.add(target.rows()[target.last() + t]);
        }
    }

    /** The last row an edit uses: EOS, or the end of the padded sequence. */
    private static int end(Rewrite.Rows rows, Encoded e) {
        return rows == Rewrite.Rows.THROUGH_EOS ? e.eos() : e.rows().length - 1;
    }

    /** Word tokens of {@code text}, without BOS and EOS, counted before truncation (a concept past the length is refused, not cut). */
    private int words(String text) {
        return model.config().tokenizers().get(0).countTokens(text);
    }

    /** {@code concept} inside {@code context}, checked to stand there as words of its own. */
    private Encoded encode(String context, String concept, String field, boolean mayBeEmpty) {
        int words = words(concept);
        if (words == 0 && !mayBeEmpty) {
            throw new InvalidRequestException(field, "concept '" + concept + "' has no tokens; name a concept in words");
        }
        int fits = model.config().tokenizers().get(0).maxLength() - 2;
        if (words > fits) {
            throw new InvalidRequestException(field, "concept '" + concept + "' is " + words + " tokens; at most " + fits
                    + " fit the text encoder");
        }
        int slot = context.indexOf(Rewrite.SLOT);
        int before = words(context.substring(0, slot).trim());
        int after = words(context.substring(slot + Rewrite.SLOT.length()).trim());
        String text = Rewrite.inContext(context, concept);
        int length = model.config().tokenizers().get(0).maxLength();
        if (words(text) != before + words + after || before + words + after + 2 > length) {
            throw new InvalidRequestException("rewrite-context", "in '" + context + "' the concept '" + concept
                    + "' must stand as words of its own (spaces around {}) and the prompt fit " + (length - 2)
                    + " tokens");
        }
        return new Encoded(hidden(text), before + words, before + words + after + 1);
    }

    /** {@code text}'s hidden states as the UNet sees them, [length][width], in float64. */
    private double[][] hidden(String text) {
        List<ClipTokenizer> tokenizers = model.config().tokenizers();
        List<TextEncoder> encoders = model.textEncoders();
        int length = tokenizers.get(0).maxLength();
        TextEncoder.Layer layer = model.xl() ? TextEncoder.Layer.PENULTIMATE : TextEncoder.Layer.LAST;
        List<float[]> states = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        for (int s = 0; s < encoders.size(); s++) {
            TextEncoder.Encoding e = encoders.get(s).encode(tokenizers.get(s).encodePadded(text),
                    new TextEncoder.Request(1, length, layer, false));
            states.add(e.hidden());
            widths.add(e.width());
        }
        int width = widths.stream().mapToInt(Integer::intValue).sum();
        double[][] rows = new double[length][width];
        int offset = 0;
        for (int s = 0; s < states.size(); s++) {
            int w = widths.get(s);
            for (int t = 0; t < length; t++) {
                for (int i = 0; i < w; i++) {
                    rows[t][offset + i] = states.get(s)[t * w + i];
                }
            }
            offset += w;
        }
        return rows;
    }
}
