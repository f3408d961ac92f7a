package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.Json;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What tokenizer_config.json and special_tokens_map.json say: the sequence length, the special
 * tokens and whether to lower-case. A special token remembers the file that named it, so that an
 * unknown one can be reported against that file.
 */
record TokenizerSettings(int maxLength, SpecialToken bos, SpecialToken eos, SpecialToken unk, SpecialToken pad,
        boolean lowerCase) {

    static final int DEFAULT_MAX_LENGTH = 77;
    /** Configs without a real limit carry huge sentinels (1e30, 2^100); above this means "unset". */
    static final int LARGEST_REAL_MAX_LENGTH = 10_000;
    static final String START_OF_TEXT = "<|startoftext|>";
    static final String END_OF_TEXT = "<|endoftext|>";

    record SpecialToken(String content, Path source) {
    }

    /** The defaults of a bundle with only vocab.json and merges.txt (CLIP as SD 1.x ships it). */
    static TokenizerSettings defaults(Path vocabFile) {
        SpecialToken end = new SpecialToken(END_OF_TEXT, vocabFile);
        return new TokenizerSettings(DEFAULT_MAX_LENGTH, new SpecialToken(START_OF_TEXT, vocabFile), end, end, end, true);
    }

    /**
     * The defaults overridden by tokenizer_config.json, then by special_tokens_map.json (which wins
     * for special tokens, as in HuggingFace's loader); either file may be absent.
     */
    static TokenizerSettings read(Path dir, Path vocabFile) {
        TokenizerSettings settings = defaults(vocabFile);
        Path config = dir.resolve("tokenizer_config.json");
        if (Files.exists(config)) {
            JsonNode root = Json.readObject(config);
            settings = settings.withTokens(root, config)
                    .withMaxLength(maxLength(root.get("model_max_length"), config))
                    .withLowerCase(lowerCase(root.get("do_lower_case"), config));
        }
        Path specialTokens = dir.resolve("special_tokens_map.json");
        if (Files.exists(specialTokens)) {
            settings = settings.withTokens(Json.readObject(specialTokens), specialTokens);
        }
        return settings;
    }

    private TokenizerSettings withTokens(JsonNode root, Path file) {
        return new TokenizerSettings(maxLength,
                token(root, "bos_token", file, bos), token(root, "eos_token", file, eos),
                token(root, "unk_token", file, unk), token(root, "pad_token", file, pad), lowerCase);
    }

    private TokenizerSettings withMaxLength(int length) {
        return new TokenizerSettings(length, bos, eos, unk, pad, lowerCase);
    }

    private TokenizerSettings withLowerCase(boolean lower) {
        return new TokenizerSettings(maxLength, bos, eos, unk, pad, lower);
    }

    /** A token given as "text" or as {"content": "text", ...}; absent or null keeps {@code fallback}. */
    private static SpecialToken token(JsonNode root, String field, Path file, SpecialToken fallback) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        JsonNode content = node.isObject() ? node.get("content") : node;
        if (content == null || !content.isTextual()) {
            throw BundleException.inFile(file, field + " must be a string or an object with a string \"content\", got " + node);
        }
        return new SpecialToken(content.textValue(), file);
    }

    private static int maxLength(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            return DEFAULT_MAX_LENGTH;
        }
        if (!node.isNumber()) {
            throw BundleException.inFile(file, "model_max_length must be a number, got " + node);
        }
        double value = node.doubleValue();
        if (value > LARGEST_REAL_MAX_LENGTH) {
            return DEFAULT_MAX_LENGTH;
        }
        if (value != Math.rint(value) || value < 2) {
            throw BundleException.inFile(file,
                    "model_max_length must be a whole number of at least 2 (room for BOS and EOS), got " + node);
        }
        return (int) value;
    }

    private static boolean lowerCase(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            return true;
        }
        if (!node.isBoolean()) {
            throw BundleException.inFile(file, "do_lower_case must be true or false, got " + node);
        }
        return node.booleanValue();
    }
}
