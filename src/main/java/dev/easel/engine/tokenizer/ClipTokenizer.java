package dev.easel.engine.tokenizer;

import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.tokenizer.TokenizerSettings.SpecialToken;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI CLIP's byte-level BPE tokenizer ({@code simple_tokenizer.py}), as the text encoders of
 * Stable Diffusion bundles expect it: {@code <|startoftext|>}, the BPE ids of the cleaned prompt
 * cut to {@code maxLength - 2}, {@code <|endoftext|>}, then (for the encoder) padding.
 *
 * <p>Steps: NFC, HTML unescape twice, whitespace collapse and strip, lower case; split with CLIP's
 * pattern; each piece's UTF-8 bytes as GPT-2 byte-level symbols, the last marked "&lt;/w&gt;";
 * BPE with the ranks of merges.txt. A literal {@code <|startoftext|>} or {@code <|endoftext|>} in
 * the prompt becomes that special id, as in OpenAI's tokenizer.
 *
 * <p>ftfy is not available in Java, so of {@code ftfy.fix_text} only its NFC normalisation is
 * done; mojibake repair, curly-quote straightening, full-width folding, ligature splitting and
 * control-character removal are not. So "don’t" (U+2019) stays "don", "’", "t" where OpenAI with
 * ftfy would give "don", "'t".
 *
 * <p>Where OpenAI's tokenizer and HuggingFace's {@code CLIPTokenizer} without ftfy differ, this
 * follows OpenAI's, and the reference goldens (shared/clip-tokenizer/golden-public.json) agree
 * with it on every case: accented text is NFC-normalised and keeps its accents (both do; "café"
 * → "cafÃ©&lt;/w&gt;", "brûlée" → "br", "Ã", "»", "l", "Ã©e&lt;/w&gt;"); "!!!" stays one piece and
 * "cage's" splits as "cage", "'s" (HF versions that split punctuation differ there). The goldens
 * hold no CJK, emoji or HTML entities, so on these the choice rests on OpenAI's code and the
 * pattern: a CJK run is one piece (HF's BasicTokenizer splits each ideograph off), format
 * characters such as the emoji ZWJ are kept (HF drops them), and entities are unescaped (HF
 * without ftfy does not).
 *
 * <p>Letters and digits ({@code \p{L}}, {@code \p{N}}) are those of Java 17's Unicode 13 tables;
 * the few added since (e.g. U+0C5D, U+9FFD..U+9FFF) count as symbols here, where Python's
 * {@code regex} module would see letters. Whitespace follows Python exactly (see ClipText).
 *
 * <p>Immutable after loading and safe for concurrent use; the only shared mutable state is a
 * bounded, concurrent cache of piece → ids, which does not change results.
 */
public final class ClipTokenizer {

    private static final Pattern PIECES = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);

    /** Enough for any real prompt vocabulary; a flood of unique pieces only clears it. */
    private static final int CACHE_LIMIT = 32_768;
    /**
     * Longer pieces are encoded but not cached: real words are far shorter, and caching a caller's
     * long runs of letters would let 32 768 of them hold hundreds of megabytes.
     */
    static final int MAX_CACHED_PIECE = 64;

    private final BpeModel model;
    private final int maxLength;
    private final int bosId;
    private final int eosId;
    private final int unkId;
    private final int padId;
    private final boolean lowerCase;
    private final Map<String, int[]> specialPieces;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(BpeModel model, TokenizerSettings settings) {
        this.model = model;
        this.maxLength = settings.maxLength();
        this.bosId = idOf(settings.bos(), "bos_token");
        this.eosId = idOf(settings.eos(), "eos_token");
        this.unkId = idOf(settings.unk(), "unk_token");
        this.padId = idOf(settings.pad(), "pad_token");
        this.lowerCase = settings.lowerCase();
        this.specialPieces = specialPieces(model);
    }

    /**
     * Loads vocab.json and merges.txt (required) and, where present, tokenizer_config.json and
     * special_tokens_map.json from a bundle's tokenizer directory.
     *
     * @throws BundleException naming the file, when one is missing, malformed, or names a special
     *     token that vocab.json lacks
     */
    public static ClipTokenizer load(Path tokenizerDir) {
        Path vocab = requireDirectory(tokenizerDir).resolve("vocab.json");
        BpeModel model = BpeModel.load(vocab, tokenizerDir.resolve("merges.txt"));
        return new ClipTokenizer(model, TokenizerSettings.read(tokenizerDir, vocab));
    }

    /**
     * Loads only vocab.json and merges.txt and uses CLIP's defaults: 77 ids, BOS
     * {@code <|startoftext|>}, EOS = pad = unk = {@code <|endoftext|>}, lower case.
     */
    public static ClipTokenizer loadWithDefaults(Path tokenizerDir) {
        Path vocab = requireDirectory(tokenizerDir).resolve("vocab.json");
        BpeModel model = BpeModel.load(vocab, tokenizerDir.resolve("merges.txt"));
        return new ClipTokenizer(model, TokenizerSettings.defaults(vocab));
    }

    /** BOS, the prompt's BPE ids cut to {@code maxLength() - 2}, EOS; not padded. */
    public int[] encode(String text) {
        int[] ids = new int[maxLength];
        int length = encodeInto(text, ids);
        return length == maxLength ? ids : Arrays.copyOf(ids, length);
    }

    /** {@link #encode} padded with {@link #padId()} to exactly {@code maxLength()} ids. */
    public int[] encodePadded(String text) {
        int[] ids = new int[maxLength];
        Arrays.fill(ids, encodeInto(text, ids), maxLength, padId);
        return ids;
    }

    /**
     * The BPE ids of the whole text, without BOS/EOS and not truncated: what A1111's prompt
     * chunking asks of HF's tokenizer ({@code add_special_tokens=False, truncation=False}).
     */
    public int[] tokenIds(String text) {
        int[] ids = new int[countTokens(text)];
        tokens(text, ids, 0, ids.length);
        return ids;
    }

    /** The number of BPE tokens of the prompt, before truncation and without BOS/EOS. */
    public int countTokens(String text) {
        return tokens(text, null, 0, 0);
    }

    /**
     * The text of {@code ids}: BOS, EOS and unk are skipped, as are trailing pad ids (SD 2.x pads
     * with "!", which is also an ordinary symbol); bytes decoded as UTF-8 (invalid sequences
     * become U+FFFD), every "&lt;/w&gt;" a space, the result stripped.
     *
     * @throws IllegalArgumentException for an id that is not in the vocabulary
     */
    public String decode(int[] ids) {
        int end = ids.length;
        while (end > 0 && ids[end - 1] == padId) {
            end--;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < end; i++) {
            if (ids[i] != bosId && ids[i] != eosId && ids[i] != unkId) {
                writeBytes(tokenOf(ids[i]), bytes);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).replace(BpeModel.WORD_END, " ").strip();
    }

    /** The number of ids the text encoder takes (77 for every Stable Diffusion release). */
    public int maxLength() {
        return maxLength;
    }

    public int padId() {
        return padId;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int vocabSize() {
        return model.size();
    }

    /** Writes BOS, the cut BPE ids and EOS to {@code ids} (of maxLength); returns how many. */
    private int encodeInto(String text, int[] ids) {
        int count = Math.min(tokens(text, ids, 1, maxLength - 2), maxLength - 2);
        ids[0] = bosId;
        ids[count + 1] = eosId;
        return count + 2;
    }

    /**
     * Writes the BPE ids of {@code text} to {@code out[from ..]}, at most {@code limit} of them,
     * and returns how many there are in all.
     */
    private int tokens(String text, int[] out, int from, int limit) {
        Matcher pieces = PIECES.matcher(ClipText.clean(text, lowerCase));
        int count = 0;
        while (pieces.find()) {
            int[] ids = idsOf(pieces.group());
            int room = Math.max(0, Math.min(ids.length, limit - count));
            if (room > 0) {
                System.arraycopy(ids, 0, out, from + count, room);
            }
            count += ids.length;
        }
        return count;
    }

    /** The ids of one piece; the returned array is shared and must not be changed. */
    private int[] idsOf(String piece) {
        int[] special = specialPieces.get(piece);
        return special != null ? special : cachedBpe(piece);
    }

    private int[] cachedBpe(String piece) {
        if (piece.length() > MAX_CACHED_PIECE) {
            return model.encodeWord(piece);
        }
        int[] ids = cache.get(piece);
        if (ids == null) {
            ids = model.encodeWord(piece);
            if (cache.size() >= CACHE_LIMIT) {
                cache.clear(); // crude but bounded; racing threads at worst recompute a few words
            }
            cache.put(piece, ids);
        }
        return ids;
    }

    private String tokenOf(int id) {
        String token = model.token(id);
        if (token == null) {
            throw new IllegalArgumentException("id " + id + " is not in the vocabulary (size " + vocabSize() + ")");
        }
        return token;
    }

    /** A vocabulary token's bytes; a character outside the byte-level table stands for itself. */
    private static void writeBytes(String token, ByteArrayOutputStream out) {
        token.codePoints().forEach(cp -> {
            int b = cp <= Character.MAX_VALUE ? ByteLevel.byteOf((char) cp) : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
        });
    }

    private int idOf(SpecialToken token, String role) {
        return model.id(token.content()).orElseThrow(() -> BundleException.inFile(token.source(),
                role + " '" + token.content() + "' is not a token of vocab.json"));
    }

    /** The literal special tokens CLIP's pattern splits out, with their ids where vocab has them. */
    private static Map<String, int[]> specialPieces(BpeModel model) {
        Map<String, int[]> pieces = new HashMap<>();
        for (String special : new String[] {TokenizerSettings.START_OF_TEXT, TokenizerSettings.END_OF_TEXT}) {
            model.id(special).ifPresent(id -> pieces.put(special, new int[] {id}));
        }
        return Map.copyOf(pieces);
    }

    private static Path requireDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw BundleException.inFile(dir, "tokenizer directory is missing");
        }
        return dir;
    }
}
