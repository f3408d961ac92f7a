package dev.easel.contract;

import java.util.function.IntPredicate;
import java.util.function.ToIntFunction;

/**
 * How the job's model splits a weighted prompt into chunks, so that the intake refuses a prompt the
 * engine would refuse: more than {@link JobRules#WEIGHTED_CHUNKS} chunks (BREAK starts one, whatever
 * the tokens), or more than one where the model's UNet takes a fixed text sequence.
 *
 * @param count the chunks a text makes in the weighted syntax (the engine's PromptChunks)
 * @param fits  whether the model's UNet takes that many chunks
 */
public record PromptChunking(ToIntFunction<String> count, IntPredicate fits) {
}
