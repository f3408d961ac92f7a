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
 * same length ({@code 77 − max(n_source, n_target)} rows, n the word-token count), so the source's
 * last word, EOS and padding are mapped onto the target's. A preserved concept keeps all of its
 * rows from the last word on. An erased concept's target is the anchor, "" by default, whose rows
 * start at BOS (n = 0), as in UCE's code. With {@link Rewrite.Rows#THROUGH_EOS} only the first two
 * of those rows (the last word and EOS; the anchor "": BOS and EOS) are used. Not thread-safe; one per edit.
 */
final class ConceptEncoder {

    private final StableDiffusionModel model;

    ConceptEncoder(StableDiffusionModel model) {
        this.model = model;
    }

    /** One concept: its padded hidden states [length][width] and its word-token count. */
    private record Encoded(double[][] rows, int words) {
    }

    /** The edit's rows for all of {@code rewrite}'s concepts. */
    ClosedFormEdit.Problem problem(Rewrite rewrite) {
        List<double[]> sources = new ArrayList<>();
        List<double[]> targets = new ArrayList<>();
        List<double[]> preserved = new ArrayList<>();
        for (Rewrite.Replacement r : rewrite.replacements()) {
            pair(encode(r.source(), "rewrite", false), encode(r.target(), "rewrite", true), rewrite.rows(), sources,
                    targets);
        }
        Encoded anchor = rewrite.erasures().isEmpty() ? null : encode(rewrite.anchor(), "erase", true);
        for (String concept : rewrite.erasures()) {
            pair(encode(concept, "erase", false), anchor, rewrite.rows(), sources, targets);
        }
        for (String concept : rewrite.preserved()) {
            Encoded p = encode(concept, "preserve", false);
            for (int t = p.words(); t < p.words() + span(rewrite.rows(), p.rows().length - p.words()); t++) {
                preserved.add(p.rows()[t]);
            }
        }
        int width = sources.isEmpty() ? 0 : sources.get(0).length;
        return new ClosedFormEdit.Problem(width, sources, targets, preserved, rewrite.lambda());
    }

    /** Aligns source and target at their last word tokens (TIME/UCE code) and adds the row pairs. */
    private static void pair(Encoded source, Encoded target, Rewrite.Rows rows, List<double[]> sources,
            List<double[]> targets) {
        int length = source.rows().length;
        int farthest = Math.max(source.words(), target.words());
        for (int t = 0; t < span(rows, length - farthest); t++) {
            sources.add(source.rows()[source.words() + t]);
            targets.add(target.rows()[target.words() + t]);
        }
    }

    /** How many rows from the last word on: all that remain, or the last word and EOS. */
    private static int span(Rewrite.Rows rows, int remaining) {
        return rows == Rewrite.Rows.THROUGH_EOS ? Math.min(2, remaining) : remaining;
    }

    private Encoded encode(String text, String field, boolean mayBeEmpty) {
        List<ClipTokenizer> tokenizers = model.config().tokenizers();
        List<TextEncoder> encoders = model.textEncoders();
        int words = tokenizers.get(0).encode(text).length - 2;
        if (words <= 0 && !mayBeEmpty) {
            throw new InvalidRequestException(field, "concept '" + text + "' has no tokens; name a concept in words");
        }
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
        return new Encoded(rows, Math.max(0, words));
    }
}
