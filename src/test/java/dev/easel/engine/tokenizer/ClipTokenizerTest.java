package dev.easel.engine.tokenizer;

import static dev.easel.engine.tokenizer.SharedData.ids;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Encoding and decoding edge cases, with the shared CLIP vocabulary and its defaults. */
class ClipTokenizerTest {

    private static final int BOS = 49406;
    private static final int EOS = 49407;

    private static ClipTokenizer tokenizer;
    private static ExecutorService pool;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.loadWithDefaults(SharedData.clipTokenizerDir());
        pool = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    /** BOS + the given tokens + EOS. */
    private static int[] sequence(String... tokens) {
        return IntStream.concat(IntStream.of(BOS), IntStream.concat(IntStream.of(ids(tokens)), IntStream.of(EOS)))
                .toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "   \t\n\r ", "\u00a0\u3000\u2003", "&nbsp;"})
    void emptyAndWhitespaceOnlyPromptsAreBosEos(String prompt) {
        assertArrayEquals(new int[] {BOS, EOS}, tokenizer.encode(prompt));
        assertEquals(0, tokenizer.countTokens(prompt));
    }

    @Test
    void paddedEmptyPromptIsBosEosThenPad() {
        int[] padded = tokenizer.encodePadded("");
        assertEquals(77, padded.length);
        assertEquals(BOS, padded[0]);
        IntStream.range(1, 77).forEach(i -> assertEquals(EOS, padded[i], "position " + i));
    }

    @Test
    void paddedPromptKeepsItsIdsThenPads() {
        int[] padded = tokenizer.encodePadded("a photo");
        assertArrayEquals(sequence("a</w>", "photo</w>"), Arrays.copyOf(padded, 4));
        assertEquals(77, padded.length);
        IntStream.range(4, 77).forEach(i -> assertEquals(tokenizer.padId(), padded[i]));
    }

    @Test
    void longPromptIsCutTo77WithEosLast() {
        String prompt = "word ".repeat(100);
        int[] ids = tokenizer.encode(prompt);
        assertEquals(77, ids.length);
        assertEquals(BOS, ids[0]);
        assertEquals(EOS, ids[76]);
        IntStream.range(1, 76).forEach(i -> assertEquals(ids("word</w>")[0], ids[i]));
        assertArrayEquals(ids, tokenizer.encodePadded(prompt));
    }

    @Test
    void countTokensCountsBeyondTheLimit() {
        assertEquals(100, tokenizer.countTokens("word ".repeat(100)));
        assertEquals(2, tokenizer.countTokens("a photo"));
        // "!!!" merges into one token, "#$%" needs three: counting is in tokens, not pieces.
        assertEquals(4, tokenizer.countTokens("!!! #$%"));
    }

    @Test
    void exactly75TokensFitWithoutTruncation() {
        int[] fits = tokenizer.encode("word ".repeat(75));
        int[] cut = tokenizer.encode("word ".repeat(75) + "end");
        assertEquals(77, fits.length);
        assertArrayEquals(fits, cut);
    }

    @Test
    void apostrophesSplitOffKnownContractions() {
        assertArrayEquals(sequence("don</w>", "'t</w>"), tokenizer.encode("don't"));
        assertArrayEquals(sequence("it</w>", "'s</w>"), tokenizer.encode("it's"));
        assertArrayEquals(sequence("i</w>", "'ll</w>"), tokenizer.encode("I'LL"));
    }

    @Test
    void curlyApostropheIsAnOrdinarySymbolWithoutFtfy() {
        // ftfy would straighten U+2019 first; without it the quote is its own piece, between words.
        assertArrayEquals(sequence("don</w>", "âĢ", "Ļ</w>", "t</w>"), tokenizer.encode("don\u2019t"));
    }

    @Test
    void punctuationRunsStayOnePieceEach() {
        assertArrayEquals(sequence("!!!</w>"), tokenizer.encode("!!!"));
        assertArrayEquals(sequence("...</w>"), tokenizer.encode("..."));
        assertArrayEquals(sequence("#", "$", "%</w>"), tokenizer.encode("#$%"));
        assertArrayEquals(sequence("night</w>", "!!!</w>"), tokenizer.encode("night!!!"));
    }

    @Test
    void htmlEntitiesAreUnescapedTwice() {
        assertArrayEquals(sequence("&</w>"), tokenizer.encode("&amp;"));
        assertArrayEquals(sequence("'</w>"), tokenizer.encode("&#39;"));
        assertArrayEquals(sequence("<</w>", "3</w>"), tokenizer.encode("&lt;3"));
        assertArrayEquals(tokenizer.encode("<3"), tokenizer.encode("&amp;lt;3"));
        assertArrayEquals(tokenizer.encode("café"), tokenizer.encode("caf&eacute;"));
    }

    @Test
    void decomposedAccentsAreNormalisedToNfc() {
        assertArrayEquals(sequence("cafÃ©</w>"), tokenizer.encode("cafe\u0301"));
    }

    @Test
    void literalSpecialTokensBecomeSpecialIds() {
        assertArrayEquals(new int[] {BOS, ids("a</w>")[0], EOS, ids("b</w>")[0], EOS},
                tokenizer.encode("a <|endoftext|> b"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Crème Brûlée naïve Zürich", "東京タワー 日本語", "🍰 🐱🐶 ❤️ 👨\u200d👩\u200d👧",
        "Привет мир ΣΊΣΥΦΟΣ", "a photo of an astronaut"})
    void decodeInvertsEncodeUpToCleaning(String prompt) {
        String cleaned = ClipText.clean(prompt, true);
        assertEquals(cleaned, tokenizer.decode(tokenizer.encode(prompt)));
        assertEquals(cleaned, tokenizer.decode(tokenizer.encodePadded(prompt)));
    }

    @Test
    void decodeSeparatesPiecesWithSpacesAndCollapsesWhitespace() {
        assertEquals("a red circle , on blue", tokenizer.decode(tokenizer.encode("  A   Red\tCircle, on BLUE ")));
    }

    @Test
    void decodeRejectsAnIdOutsideTheVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {BOS, 49408, EOS}));
    }

    @Test
    void concurrentEncodingGivesTheSameIdsAsSequential() throws Exception {
        List<String> prompts = IntStream.range(0, 200)
                .mapToObj(i -> "prompt number " + i + " with word" + (i % 37) + " & café " + "!".repeat(i % 5))
                .toList();
        List<int[]> expected = prompts.stream().map(tokenizer::encodePadded).toList();
        List<Future<List<int[]>>> runs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            runs.add(pool.submit(() -> prompts.stream().map(tokenizer::encodePadded).toList()));
        }
        for (Future<List<int[]>> run : runs) {
            List<int[]> actual = run.get();
            IntStream.range(0, prompts.size()).forEach(i -> assertArrayEquals(expected.get(i), actual.get(i)));
        }
    }

    @Test
    void aFloodOfUniqueWordsDoesNotChangeResults() {
        int[] before = tokenizer.encode("a photo of an astronaut");
        // More unique words than the cache holds, so that it has to drop entries.
        for (int i = 0; i < 40_000; i++) {
            tokenizer.countTokens(letters(i));
        }
        assertArrayEquals(before, tokenizer.encode("a photo of an astronaut"));
    }

    /** {@code n} in base 26 written with a..z: a distinct letters-only word for each n. */
    private static String letters(int n) {
        StringBuilder word = new StringBuilder();
        do {
            word.append((char) ('a' + n % 26));
            n /= 26;
        } while (n > 0);
        return word.toString();
    }
}
