package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/** Paths into ../shared (set by surefire as easel.shared.dir) and the shared CLIP vocabulary. */
final class SharedData {

    private static Map<String, Integer> vocab;

    private SharedData() {
    }

    static Path sharedDir() {
        return Path.of(System.getProperty("easel.shared.dir", "../shared"));
    }

    /** vocab.json, merges.txt and golden-public.json, without any tokenizer config. */
    static Path clipTokenizerDir() {
        return sharedDir().resolve("clip-tokenizer");
    }

    static Path sd15TokenizerDir() {
        return sharedDir().resolve("reference-bundles/sd15-olive/tokenizer");
    }

    /** The vocab ids of {@code tokens}, so that expectations read as tokens rather than numbers. */
    static synchronized int[] ids(String... tokens) {
        if (vocab == null) {
            vocab = readVocab();
        }
        int[] ids = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            Integer id = vocab.get(tokens[i]);
            if (id == null) {
                throw new IllegalArgumentException("not in vocab.json: " + tokens[i]);
            }
            ids[i] = id;
        }
        return ids;
    }

    private static Map<String, Integer> readVocab() {
        try {
            return new ObjectMapper().readValue(clipTokenizerDir().resolve("vocab.json").toFile(),
                    new TypeReference<Map<String, Integer>>() { });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
