package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of {@link ClipTokenizer} with Jazzer (docs/security.md "Fuzzing"), loaded
 * from the shared CLIP vocabulary (../shared/clip-tokenizer) as the other tokenizer tests load it.
 * For any prompt, {@code encode}, {@code encodePadded} and {@code countTokens} return without
 * throwing, and agree: BOS, at most {@code maxLength - 2} ids of the vocabulary, EOS; the count is
 * the uncut number of ids; and {@code decode} takes the ids back.
 *
 * <p>Prompts are the input as UTF-8, except that a 0xFF byte (never part of UTF-8) followed by two
 * bytes is that UTF-16 code unit, so the fuzzer can write lone and reversed surrogates and any other
 * char. Seeds are plain UTF-8 prompts in src/test/resources/dev/easel/engine/tokenizer/
 * ClipTokenizerFuzzTestInputs/tokenize/.
 */
class ClipTokenizerFuzzTest {

    private static final ClipTokenizer TOKENIZER = ClipTokenizer.loadWithDefaults(SharedData.clipTokenizerDir());

    @FuzzTest(maxDuration = "5m")
    @Timeout(10) // per input: Jazzer passes it to libFuzzer (-timeout); the fuzz-* runs turn off JUnit's own
    @DictionaryEntries({"<|startoftext|>", "<|endoftext|>", "&amp;", "&nbsp;", "&#x27;", "&#39;", "'s", "'ll",
        "\u00e9", "\u0301", "\u200d", "\uD83D\uDE00", "\u3000", "\u00a0"})
    void tokenize(byte[] data) {
        String prompt = prompt(data);
        int count = TOKENIZER.countTokens(prompt);
        int[] ids = TOKENIZER.encode(prompt);
        int max = TOKENIZER.maxLength();
        assertTrue(count >= 0, "negative count");
        assertEquals(Math.min(count, max - 2) + 2, ids.length, "encode length vs countTokens");
        assertEquals(TOKENIZER.bosId(), ids[0]);
        assertEquals(TOKENIZER.eosId(), ids[ids.length - 1]);
        for (int id : ids) {
            assertTrue(id >= 0 && id < TOKENIZER.vocabSize(), () -> "id " + id + " outside the vocabulary");
        }
        int[] padded = TOKENIZER.encodePadded(prompt);
        assertEquals(max, padded.length);
        assertTrue(Arrays.equals(ids, Arrays.copyOf(padded, ids.length)), "encodePadded starts with encode");
        TOKENIZER.decode(ids); // every id is in the vocabulary, so this must not throw
    }

    /** The input as UTF-8, with 0xFF hi lo standing for the char (hi << 8 | lo). */
    static String prompt(byte[] data) {
        StringBuilder text = new StringBuilder(data.length);
        int start = 0;
        for (int i = 0; i < data.length; i++) {
            if (data[i] == (byte) 0xFF && i + 2 < data.length) {
                text.append(new String(data, start, i - start, StandardCharsets.UTF_8));
                text.append((char) (((data[i + 1] & 0xFF) << 8) | (data[i + 2] & 0xFF)));
                i += 2;
                start = i + 1;
            }
        }
        return text.append(new String(data, start, data.length - start, StandardCharsets.UTF_8)).toString();
    }
}
