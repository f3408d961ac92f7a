package dev.easel.engine.tokenizer;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a prompt's text becomes text-encoder input (see {@link PromptChunks}). */
public enum PromptMode {
    /** The text as it is: one chunk, {@link ClipTokenizer#encodePadded}, cut at 77 ids, weights 1. */
    PLAIN("plain"),
    /** AUTOMATIC1111's syntax: {@link PromptSyntax} weights, BREAK, chunks of 75 tokens. */
    WEIGHTED("weighted");

    private final String wireName;

    PromptMode(String wireName) {
        this.wireName = wireName;
    }

    /** The name in JSON and on the command line. */
    public String wireName() {
        return wireName;
    }

    /** @throws IllegalArgumentException for a name that is not a mode, naming the allowed ones */
    public static PromptMode of(String wireName) {
        for (PromptMode mode : values()) {
            if (mode.wireName.equals(wireName)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("prompt mode '" + wireName + "' is not one of "
                + Arrays.stream(values()).map(PromptMode::wireName).collect(Collectors.joining(", ")));
    }
}
