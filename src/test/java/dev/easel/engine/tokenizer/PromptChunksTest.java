package dev.easel.engine.tokenizer;

import static dev.easel.engine.tokenizer.SharedData.ids;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Chunk layout of A1111's tokenize_line (weighted) and of encodePadded (plain), with the shared CLIP vocabulary. */
class PromptChunksTest {

    private static final int BOS = 49406;
    private static final int EOS = 49407;

    private static ClipTokenizer tokenizer;
    private static int cat;
    private static int dog;
    private static int comma;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.loadWithDefaults(SharedData.clipTokenizerDir());
        cat = ids("cat</w>")[0];
        dog = ids("dog</w>")[0];
        comma = ids(",</w>")[0];
    }

    private static PromptChunks weighted(String prompt) {
        return PromptChunks.encode(tokenizer, prompt, PromptMode.WEIGHTED);
    }

    private static String repeat(String word, int times) {
        return String.join(" ", Collections.nCopies(times, word));
    }

    /** BOS, {@code tokens}, EOS, then pad (= EOS here) to 77. */
    private static int[] chunk(int... tokens) {
        int[] ids = new int[77];
        Arrays.fill(ids, EOS);
        ids[0] = BOS;
        System.arraycopy(tokens, 0, ids, 1, tokens.length);
        return ids;
    }

    private static int[] times(int id, int count) {
        int[] ids = new int[count];
        Arrays.fill(ids, id);
        return ids;
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void tokenIdsAreEncodeWithoutBosEosAndUncut() {
        String prompt = "a photo of an astronaut, riding a horse!";
        int[] encoded = tokenizer.encode(prompt);
        assertArrayEquals(Arrays.copyOfRange(encoded, 1, encoded.length - 1), tokenizer.tokenIds(prompt));
        assertEquals(100, tokenizer.tokenIds(repeat("cat", 100)).length);
        assertArrayEquals(new int[0], tokenizer.tokenIds("  "));
        assertArrayEquals(new int[] {comma}, tokenizer.tokenIds(","));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a photo of an astronaut riding a horse on mars", "a (red:1.5) [cat] BREAK dog",
        "cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat "
            + "cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat "
            + "cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat"})
    void plainIsEncodePadded(String prompt) {
        PromptChunks chunks = PromptChunks.encode(tokenizer, prompt, PromptMode.PLAIN);
        assertEquals(1, chunks.count());
        assertArrayEquals(tokenizer.encodePadded(prompt), chunks.ids(0));
        assertArrayEquals(PromptChunks.ones(77), chunks.weights(0));
        assertEquals(tokenizer.countTokens(prompt), chunks.tokenCount());
    }

    @Test
    void plainCutsALongPromptAndCountsAllItsTokens() {
        PromptChunks chunks = PromptChunks.encode(tokenizer, repeat("cat", 100), PromptMode.PLAIN);
        assertEquals(1, chunks.count());
        assertEquals(100, chunks.tokenCount());
        assertArrayEquals(concat(new int[] {BOS}, times(cat, 75), new int[] {EOS}), chunks.ids(0));
    }

    @Test
    void weightedWithoutSyntaxIsEncodePadded() {
        String prompt = "a photo of an astronaut, riding a horse on mars";
        PromptChunks chunks = weighted(prompt);
        assertEquals(1, chunks.count());
        assertArrayEquals(tokenizer.encodePadded(prompt), chunks.ids(0));
        assertArrayEquals(PromptChunks.ones(77), chunks.weights(0));
    }

    @Test
    void emptyPromptIsOneEmptyChunk() {
        PromptChunks chunks = weighted("");
        assertEquals(1, chunks.count());
        assertArrayEquals(tokenizer.encodePadded(""), chunks.ids(0));
        assertEquals(0, chunks.tokenCount());
    }

    @Test
    void weightedLayoutTokenizesEachFragmentAndWeightsItsTokens() {
        // fragments: "a " 1.0, "photograph" 1.5, " of an " 1.0, "astronaut" 1/1.1, "!" 1.0
        PromptChunks chunks = weighted("a (photograph:1.5) of an [astronaut]!");
        int[] a = tokenizer.tokenIds("a ");
        int[] photograph = tokenizer.tokenIds("photograph");
        int[] ofAn = tokenizer.tokenIds(" of an ");
        int[] astronaut = tokenizer.tokenIds("astronaut");
        int[] bang = tokenizer.tokenIds("!");
        int[] tokens = concat(a, photograph, ofAn, astronaut, bang);
        assertArrayEquals(chunk(tokens), chunks.ids(0));
        assertArrayEquals(Arrays.copyOfRange(tokenizer.encode("a photograph of an astronaut!"), 1, tokens.length + 1),
                tokens, "fragments tokenize as the whole text here");

        float[] expected = PromptChunks.ones(77);
        int at = 1 + a.length;
        Arrays.fill(expected, at, at + photograph.length, 1.5f);
        at += photograph.length + ofAn.length;
        Arrays.fill(expected, at, at + astronaut.length, (float) (1 / 1.1));
        assertArrayEquals(expected, chunks.weights(0));
        assertEquals(tokens.length, chunks.tokenCount());
    }

    @Test
    void overSeventyFiveTokensGiveMoreChunksWithTheirWeights() {
        PromptChunks chunks = weighted("(" + repeat("cat", 100) + ":1.25) " + repeat("dog", 60));
        assertEquals(3, chunks.count());
        assertEquals(160, chunks.tokenCount());
        assertArrayEquals(chunk(times(cat, 75)), chunks.ids(0));
        assertArrayEquals(chunk(concat(times(cat, 25), times(dog, 50))), chunks.ids(1));
        assertArrayEquals(chunk(times(dog, 10)), chunks.ids(2));
        float[] second = chunks.weights(1);
        IntStream.range(1, 26).forEach(i -> assertEquals(1.25f, second[i], "position " + i));
        IntStream.range(26, 77).forEach(i -> assertEquals(1f, second[i], "position " + i));
        assertEquals(1f, chunks.weights(0)[0]);
        assertEquals(1f, chunks.weights(0)[76]);
    }

    @Test
    void exactlySeventyFiveTokensAreOneChunkWithoutPadding() {
        PromptChunks chunks = weighted(repeat("cat", 75));
        assertEquals(1, chunks.count());
        assertArrayEquals(concat(new int[] {BOS}, times(cat, 75), new int[] {EOS}), chunks.ids(0));
    }

    @Test
    void breakStartsANewChunk() {
        PromptChunks chunks = weighted("a cat BREAK a (dog)");
        assertEquals(2, chunks.count());
        assertArrayEquals(chunk(tokenizer.tokenIds("a cat")), chunks.ids(0));
        assertArrayEquals(chunk(tokenizer.tokenIds("a dog")), chunks.ids(1));
        assertEquals(1.1f, chunks.weights(1)[2]);
        assertEquals(4, chunks.tokenCount());
    }

    @Test
    void breakEdgesAsInA1111() {
        assertEquals(1, weighted("a cat BREAK").count(), "a trailing empty chunk is dropped");
        PromptChunks leading = weighted("BREAK a cat");
        assertEquals(2, leading.count(), "a leading BREAK leaves an empty first chunk");
        assertArrayEquals(tokenizer.encodePadded(""), leading.ids(0));
        assertEquals(3, weighted("a BREAK BREAK b").count());
        assertEquals(2, weighted(repeat("cat", 75) + " BREAK dog").count(), "a full chunk then BREAK: no empty chunk");
    }

    @Test
    void breakInsideBracketsIsTheWordWithANegativeWeight() {
        PromptChunks chunks = weighted("(a BREAK b)");
        assertEquals(1, chunks.count());
        assertArrayEquals(chunk(tokenizer.tokenIds("a break b")), chunks.ids(0));
        assertEquals(-1.1f, chunks.weights(0)[2]);
    }

    @Test
    void commaWithinTwentyTokensMovesTheRestToTheNextChunk() {
        // 70 cats, a comma at index 70, 10 dogs: when the 76th token comes, the 4 dogs after the comma move on
        PromptChunks chunks = weighted(repeat("cat", 70) + ", " + repeat("dog", 10));
        assertEquals(2, chunks.count());
        assertArrayEquals(chunk(concat(times(cat, 70), new int[] {comma})), chunks.ids(0));
        assertArrayEquals(chunk(times(dog, 10)), chunks.ids(1));
        assertEquals(81, chunks.tokenCount());
    }

    @Test
    void commaBacktrackBoundaryIsTwenty() {
        // comma at index 55: 75 - 55 = 20, moved
        PromptChunks moved = weighted(repeat("cat", 55) + ", " + repeat("dog", 25));
        assertArrayEquals(chunk(concat(times(cat, 55), new int[] {comma})), moved.ids(0));
        assertArrayEquals(chunk(times(dog, 25)), moved.ids(1));
        // comma at index 54: 75 - 54 = 21, not moved
        PromptChunks kept = weighted(repeat("cat", 54) + ", " + repeat("dog", 25));
        assertArrayEquals(chunk(concat(times(cat, 54), new int[] {comma}, times(dog, 20))), kept.ids(0));
        assertArrayEquals(chunk(times(dog, 5)), kept.ids(1));
    }

    @Test
    void commaAsTheSeventySixthTokenOpensTheNextChunk() {
        PromptChunks chunks = weighted(repeat("cat", 75) + ", dog");
        assertArrayEquals(chunk(times(cat, 75)), chunks.ids(0));
        assertArrayEquals(chunk(comma, dog), chunks.ids(1));
    }

    @Test
    void movedTokensKeepTheirWeights() {
        PromptChunks chunks = weighted(repeat("cat", 70) + ", (" + repeat("dog", 10) + ":0.8)");
        float[] second = chunks.weights(1);
        IntStream.range(1, 11).forEach(i -> assertEquals(0.8f, second[i], "position " + i));
        assertEquals(1f, second[11]);
        assertArrayEquals(PromptChunks.ones(77), chunks.weights(0));
    }

    @Test
    void padToAppendsEmptyPromptChunks() {
        PromptChunks chunks = weighted("a (cat:1.5)");
        assertSame(chunks, chunks.padTo(1));
        PromptChunks padded = chunks.padTo(3);
        assertEquals(3, padded.count());
        assertEquals(1, chunks.count(), "unchanged");
        assertArrayEquals(chunks.ids(0), padded.ids(0));
        assertArrayEquals(chunks.weights(0), padded.weights(0));
        for (int i = 1; i < 3; i++) {
            assertArrayEquals(tokenizer.encodePadded(""), padded.ids(i));
            assertArrayEquals(PromptChunks.ones(77), padded.weights(i));
        }
        assertEquals(chunks.tokenCount(), padded.tokenCount());
        assertThrows(IllegalArgumentException.class, () -> padded.padTo(2));
    }

    @Test
    void accessorsCopyAndCheckTheIndex() {
        PromptChunks chunks = weighted("a cat");
        chunks.ids(0)[1] = 0;
        chunks.weights(0)[1] = 9f;
        assertArrayEquals(chunk(tokenizer.tokenIds("a cat")), chunks.ids(0));
        assertEquals(1f, chunks.weights(0)[1]);
        assertThrows(IndexOutOfBoundsException.class, () -> chunks.ids(1));
        assertThrows(IndexOutOfBoundsException.class, () -> chunks.weights(-1));
    }

    @Test
    void sd2PaddingUsesThePadIdAfterEos(@TempDir Path dir) throws IOException {
        Files.copy(SharedData.clipTokenizerDir().resolve("vocab.json"), dir.resolve("vocab.json"));
        Files.copy(SharedData.clipTokenizerDir().resolve("merges.txt"), dir.resolve("merges.txt"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"!\", \"model_max_length\": 77}");
        ClipTokenizer sd2 = ClipTokenizer.load(dir);
        PromptChunks chunks = PromptChunks.encode(sd2, "a cat BREAK " + repeat("dog", 80), PromptMode.WEIGHTED);
        assertEquals(3, chunks.count());
        assertArrayEquals(sd2.encodePadded("a cat"), chunks.ids(0));
        assertArrayEquals(sd2.encodePadded(repeat("dog", 75)), chunks.ids(1));
        assertArrayEquals(sd2.encodePadded(repeat("dog", 5)), chunks.ids(2));
        assertArrayEquals(sd2.encodePadded(""), chunks.padTo(4).ids(3));
        assertEquals(0, chunks.ids(2)[8]);
    }

    @Test
    void nullsAreRefused() {
        assertThrows(NullPointerException.class, () -> PromptChunks.encode(null, "a", PromptMode.PLAIN));
        assertThrows(NullPointerException.class, () -> PromptChunks.encode(tokenizer, null, PromptMode.PLAIN));
        assertThrows(NullPointerException.class, () -> PromptChunks.encode(tokenizer, "a", null));
    }
}
