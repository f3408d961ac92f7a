package dev.easel.contract;

import java.util.function.Function;
import java.util.function.IntPredicate;

/**
 * How the job's model reads a weighted prompt, so that the intake refuses a prompt the engine would
 * refuse: more than {@link JobRules#WEIGHTED_CHUNKS} chunks (BREAK starts one, whatever the tokens),
 * more than one where the model's UNet takes a fixed text sequence, or an attention weight that is
 * not finite or past ±{@code GenerationLimits.MAX_PROMPT_WEIGHT}.
 *
 * @param read the chunks a text makes in the weighted syntax, and its most extreme weight (the
 *             engine's PromptChunks)
 * @param fits whether the model's UNet takes that many chunks
 */
public record PromptChunking(Function<String, Chunked> read, IntPredicate fits) {

    /**
     * @param count   chunks of the text
     * @param tokens  its tokens, weights and brackets not counted (the engine's PromptChunks.tokenCount)
     * @param extreme the weight farthest from zero, or one that is not finite (1 for a text without weights)
     */
    public record Chunked(int count, int tokens, float extreme) {
    }
}
