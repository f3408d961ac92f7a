package dev.easel.engine.tokenizer;

import dev.easel.engine.tokenizer.PromptSyntax.Fragment;
import dev.easel.engine.tokenizer.PromptSyntax.Text;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A prompt as text-encoder input: one or more chunks of {@code tokenizer.maxLength()} ids (BOS, up
 * to {@code maxLength - 2} tokens, EOS, padding) with a weight per id. Each chunk is encoded on its
 * own and the hidden states are concatenated along the sequence, as AUTOMATIC1111 does
 * ({@code modules/sd_hijack_clip.py}).
 *
 * <p>{@link PromptMode#PLAIN}: one chunk, {@link ClipTokenizer#encodePadded}, weights 1.
 * {@link PromptMode#WEIGHTED}: A1111's {@code tokenize_line}, see {@link WeightedChunker}.
 *
 * <p>Immutable; accessors return copies.
 */
public final class PromptChunks {

    private final int[][] ids;
    private final float[][] weights;
    private final int[] emptyChunk;
    private final int tokenCount;

    private PromptChunks(List<int[]> ids, List<float[]> weights, int[] emptyChunk, int tokenCount) {
        this.ids = ids.toArray(new int[0][]);
        this.weights = weights.toArray(new float[0][]);
        this.emptyChunk = emptyChunk;
        this.tokenCount = tokenCount;
    }

    /** The chunks of {@code prompt}; an empty prompt is one chunk (BOS, EOS, padding). */
    public static PromptChunks encode(ClipTokenizer tokenizer, String prompt, PromptMode mode) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(mode, "mode");
        int[] empty = tokenizer.encodePadded("");
        if (mode == PromptMode.PLAIN) {
            return new PromptChunks(List.of(tokenizer.encodePadded(prompt)), List.of(ones(empty.length)), empty,
                    tokenizer.countTokens(prompt));
        }
        WeightedChunker chunker = new WeightedChunker(tokenizer);
        int tokens = 0;
        for (Fragment fragment : PromptSyntax.parse(prompt)) {
            if (fragment instanceof Text text) {
                int[] fragmentIds = tokenizer.tokenIds(text.text());
                tokens += fragmentIds.length;
                for (int id : fragmentIds) {
                    chunker.add(id, (float) text.weight());
                }
            } else {
                chunker.endChunk();
            }
        }
        chunker.finish();
        return new PromptChunks(chunker.ids(), chunker.weights(), empty, tokens);
    }

    /** How many chunks, each encoded on its own: what a limit on encoder work should bound. */
    public int count() {
        return ids.length;
    }

    /**
     * The prompt's tokens, without BOS, EOS and padding: in plain mode before the cut at
     * {@code maxLength - 2} (so a larger count means text was dropped), in weighted mode the tokens
     * of all chunks. BREAKs add chunks but no tokens, so a limit should also bound {@link #count()}.
     */
    public int tokenCount() {
        return tokenCount;
    }

    /** The ids of chunk {@code chunk}, {@code tokenizer.maxLength()} of them. */
    public int[] ids(int chunk) {
        return ids[Objects.checkIndex(chunk, ids.length)].clone();
    }

    /** The weight of each id of chunk {@code chunk}: 1 for BOS, EOS and padding. */
    public float[] weights(int chunk) {
        return weights[Objects.checkIndex(chunk, weights.length)].clone();
    }

    /**
     * These chunks followed by empty-prompt chunks up to {@code chunks}: cond and uncond must have
     * the same length, and A1111 pads the shorter one with the empty prompt's encoding.
     *
     * @throws IllegalArgumentException when {@code chunks < count()}
     */
    public PromptChunks padTo(int chunks) {
        if (chunks < count()) {
            throw new IllegalArgumentException("cannot pad " + count() + " chunks to " + chunks);
        }
        if (chunks == count()) {
            return this;
        }
        List<int[]> paddedIds = new ArrayList<>(Arrays.asList(ids));
        List<float[]> paddedWeights = new ArrayList<>(Arrays.asList(weights));
        while (paddedIds.size() < chunks) {
            paddedIds.add(emptyChunk);
            paddedWeights.add(ones(emptyChunk.length));
        }
        return new PromptChunks(paddedIds, paddedWeights, emptyChunk, tokenCount);
    }

    static float[] ones(int length) {
        float[] ones = new float[length];
        Arrays.fill(ones, 1f);
        return ones;
    }
}
