package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The byte-level BPE model of vocab.json and merges.txt: turns one pre-tokenized word into vocab
 * ids, and ids back into tokens. Immutable after {@link #load}.
 */
final class BpeModel {

    static final String WORD_END = "</w>";

    private final Map<String, Integer> ids;
    private final String[] tokens;
    private final int[] byteIds;
    private final int[] wordEndByteIds;
    private final MergeTable merges;
    // Indexed by merge rank: the pair's symbols and the token they merge into.
    private final int[] lefts;
    private final int[] rights;
    private final int[] mergedIds;

    private BpeModel(Map<String, Integer> ids, String[] tokens, int[] byteIds, int[] wordEndByteIds,
            int[] lefts, int[] rights, int[] mergedIds) {
        this.ids = ids;
        this.tokens = tokens;
        this.byteIds = byteIds;
        this.wordEndByteIds = wordEndByteIds;
        this.merges = MergeTable.of(lefts, rights, lefts.length);
        this.lefts = lefts;
        this.rights = rights;
        this.mergedIds = mergedIds;
    }

    static BpeModel load(Path vocabFile, Path mergesFile) {
        Map<String, Integer> ids = readVocab(vocabFile);
        String[] tokens = tokensById(ids, vocabFile);
        int[] byteIds = new int[256];
        int[] wordEndByteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            String symbol = String.valueOf(ByteLevel.charOf(b));
            byteIds[b] = requireToken(ids, symbol, vocabFile);
            wordEndByteIds[b] = requireToken(ids, symbol + WORD_END, vocabFile);
        }
        List<String> lines = readLines(mergesFile);
        int[] lefts = new int[lines.size()];
        int[] rights = new int[lines.size()];
        int[] mergedIds = new int[lines.size()];
        int count = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || (i == 0 && line.startsWith("#"))) {
                continue; // the "#version: 0.2" header and trailing blank lines
            }
            int space = line.indexOf(' ');
            if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
                throw BundleException.inFile(mergesFile,
                        "line " + (i + 1) + " is not two tokens separated by one space: '" + line + "'");
            }
            String left = line.substring(0, space);
            String right = line.substring(space + 1);
            lefts[count] = mergeToken(ids, left, mergesFile, i);
            rights[count] = mergeToken(ids, right, mergesFile, i);
            mergedIds[count] = mergeToken(ids, left + right, mergesFile, i);
            count++;
        }
        return new BpeModel(Map.copyOf(ids), tokens, byteIds, wordEndByteIds,
                Arrays.copyOf(lefts, count), Arrays.copyOf(rights, count), Arrays.copyOf(mergedIds, count));
    }

    int size() {
        return ids.size();
    }

    OptionalInt id(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The token string of {@code id}, or null when no token has that id. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /**
     * The ids of one word, as OpenAI's {@code bpe()}: its UTF-8 bytes as byte-level symbols, the
     * last one marked with "&lt;/w&gt;"; then, while any adjacent pair has a merge rule, every
     * occurrence of the lowest-ranked pair is merged, left to right.
     */
    int[] encodeWord(String word) { // word is non-empty: the pre-tokenizer never yields ""
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        int[] symbols = new int[n];
        for (int i = 0; i < n - 1; i++) {
            symbols[i] = byteIds[bytes[i] & 0xFF];
        }
        symbols[n - 1] = wordEndByteIds[bytes[n - 1] & 0xFF];
        while (n > 1) {
            int rank = lowestRank(symbols, n);
            if (rank == MergeTable.NONE) {
                break;
            }
            n = mergeAll(symbols, n, rank);
        }
        return n == symbols.length ? symbols : Arrays.copyOf(symbols, n);
    }

    private int lowestRank(int[] symbols, int n) {
        int best = MergeTable.NONE;
        for (int i = 0; i < n - 1; i++) {
            best = Math.min(best, merges.rank(symbols[i], symbols[i + 1]));
        }
        return best;
    }

    /** Merges every occurrence of the pair of {@code rank} in place; returns the new length. */
    private int mergeAll(int[] symbols, int n, int rank) {
        int left = lefts[rank];
        int right = rights[rank];
        int merged = mergedIds[rank];
        int out = 0;
        for (int i = 0; i < n; i++) {
            if (i < n - 1 && symbols[i] == left && symbols[i + 1] == right) {
                symbols[out++] = merged;
                i++;
            } else {
                symbols[out++] = symbols[i];
            }
        }
        return out;
    }

    /** How far ids may run past the number of tokens (a vocabulary with gaps). */
    static final int ID_SLACK = 65_536;

    private static Map<String, Integer> readVocab(Path file) {
        JsonNode root = Json.readObject(file);
        Map<String, Integer> ids = new HashMap<>(root.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            JsonNode id = entry.getValue();
            // Ids index an array as long as the largest: one far beyond the vocabulary's size is an
            // allocation of gigabytes, not a tokenizer (gaps are allowed, within ID_SLACK).
            long limit = (long) root.size() + ID_SLACK;
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.intValue() < 0 || id.intValue() >= limit) {
                throw BundleException.inFile(file, "token '" + entry.getKey() + "' has id " + id
                        + ", expected an integer from 0 to " + (limit - 1) + " (the number of tokens, "
                        + root.size() + ", plus " + ID_SLACK + ")");
            }
            ids.put(entry.getKey(), id.intValue());
        }
        return ids;
    }

    private static String[] tokensById(Map<String, Integer> ids, Path vocabFile) {
        int maxId = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        String[] tokens = new String[maxId + 1];
        for (Map.Entry<String, Integer> entry : ids.entrySet()) {
            int id = entry.getValue();
            if (tokens[id] != null) {
                throw BundleException.inFile(vocabFile,
                        "id " + id + " is used by both '" + tokens[id] + "' and '" + entry.getKey() + "'");
            }
            tokens[id] = entry.getKey();
        }
        return tokens;
    }

    private static int requireToken(Map<String, Integer> ids, String token, Path vocabFile) {
        Integer id = ids.get(token);
        if (id == null) {
            throw BundleException.inFile(vocabFile, "has no byte-level token '" + token + "'; not a CLIP BPE vocabulary");
        }
        return id;
    }

    private static int mergeToken(Map<String, Integer> ids, String token, Path mergesFile, int lineIndex) {
        Integer id = ids.get(token);
        if (id == null) {
            throw BundleException.inFile(mergesFile,
                    "line " + (lineIndex + 1) + " needs token '" + token + "', which vocab.json does not have");
        }
        return id;
    }

    private static List<String> readLines(Path file) {
        if (!Files.isRegularFile(file)) {
            throw BundleException.inFile(file, "is missing");
        }
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw BundleException.inFile(file, "cannot be read as UTF-8 text: " + e, e);
        }
    }
}
