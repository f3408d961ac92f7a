package dev.easel.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A1111's {@code tokenize_line} ({@code modules/sd_hijack_clip.py}) without textual-inversion
 * embeddings: tokens fill chunks of {@code maxLength - 2} (75); when a chunk is full and the last
 * comma is at most {@link #COMMA_PADDING_BACKTRACK} tokens back, the tokens after that comma move to
 * the next chunk; BREAK ends the chunk; a trailing empty chunk is dropped unless it is the only one.
 *
 * <p>A1111 pads with EOS and, where pad differs from EOS (SD 2.x), sets every id after the first
 * EOS to pad ({@code process_tokens}); here each chunk is BOS, tokens, EOS, pad ids, as
 * {@link ClipTokenizer#encodePadded}. The two differ only for a literal {@code <|endoftext|>} typed
 * into an SD 2.x prompt, where A1111 pads over the tokens after it.
 */
final class WeightedChunker {

    /** A1111's default {@code opts.comma_padding_backtrack}. */
    static final int COMMA_PADDING_BACKTRACK = 20;

    private final int bos;
    private final int eos;
    private final int pad;
    private final int comma;
    private final int[] tokens;
    private final float[] multipliers;
    private final List<int[]> ids = new ArrayList<>();
    private final List<float[]> weights = new ArrayList<>();
    private int length;
    private int lastComma = -1;

    WeightedChunker(ClipTokenizer tokenizer) {
        bos = tokenizer.bosId();
        eos = tokenizer.eosId();
        pad = tokenizer.padId();
        int[] commaIds = tokenizer.tokenIds(","); // the vocab id of ",</w>", as A1111 looks it up
        comma = commaIds.length == 1 ? commaIds[0] : -1;
        tokens = new int[tokenizer.maxLength() - 2];
        multipliers = new float[tokens.length];
    }

    void add(int token, float weight) {
        if (token == comma) {
            lastComma = length;
        } else if (length == tokens.length && lastComma != -1 && length - lastComma <= COMMA_PADDING_BACKTRACK) {
            moveAfterCommaToNextChunk();
        }
        if (length == tokens.length) {
            endChunk();
        }
        tokens[length] = token;
        multipliers[length] = weight;
        length++;
    }

    /** {@code next_chunk()}: BREAK, a full chunk, or the end. */
    void endChunk() {
        int[] chunk = new int[tokens.length + 2];
        float[] chunkWeights = PromptChunks.ones(chunk.length);
        chunk[0] = bos;
        System.arraycopy(tokens, 0, chunk, 1, length);
        System.arraycopy(multipliers, 0, chunkWeights, 1, length);
        chunk[length + 1] = eos;
        Arrays.fill(chunk, length + 2, chunk.length, pad);
        ids.add(chunk);
        weights.add(chunkWeights);
        length = 0;
        lastComma = -1;
    }

    void finish() {
        if (length > 0 || ids.isEmpty()) {
            endChunk();
        }
    }

    List<int[]> ids() {
        return ids;
    }

    List<float[]> weights() {
        return weights;
    }

    private void moveAfterCommaToNextChunk() {
        int from = lastComma + 1;
        int[] movedTokens = Arrays.copyOfRange(tokens, from, length);
        float[] movedWeights = Arrays.copyOfRange(multipliers, from, length);
        length = from;
        endChunk();
        System.arraycopy(movedTokens, 0, tokens, 0, movedTokens.length);
        System.arraycopy(movedWeights, 0, multipliers, 0, movedWeights.length);
        length = movedTokens.length;
    }
}
