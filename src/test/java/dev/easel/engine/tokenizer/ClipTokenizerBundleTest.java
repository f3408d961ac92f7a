package dev.easel.engine.tokenizer;

import static dev.easel.engine.tokenizer.SharedData.ids;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.bundle.BundleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Loading a bundle's tokenizer folder: the real SD 1.5 one, SD 2.x padding, config variants, errors. */
class ClipTokenizerBundleTest {

    @TempDir
    Path dir;

    /** A tokenizer folder in {@link #dir} with the shared vocab.json and merges.txt. */
    private Path withSharedVocab() throws IOException {
        Files.copy(SharedData.clipTokenizerDir().resolve("vocab.json"), dir.resolve("vocab.json"));
        Files.copy(SharedData.clipTokenizerDir().resolve("merges.txt"), dir.resolve("merges.txt"));
        return dir;
    }

    private Path write(String file, String content) throws IOException {
        return Files.writeString(dir.resolve(file), content);
    }

    private static void assertNamesFile(BundleException e, String file, String problem) {
        assertTrue(e.getMessage().contains(file), () -> "should name " + file + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), () -> "should say " + problem + ": " + e.getMessage());
    }

    @Test
    void loadsTheRealSd15Tokenizer() {
        ClipTokenizer tokenizer = ClipTokenizer.load(SharedData.sd15TokenizerDir());
        // Its configs: model_max_length 77; bos <|startoftext|> (49406); eos = pad <|endoftext|> (49407).
        assertEquals(77, tokenizer.maxLength());
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(49407, tokenizer.padId());
        assertEquals(49408, tokenizer.vocabSize());
        int[] padded = tokenizer.encodePadded("a photo of an astronaut riding a horse on mars");
        assertEquals(77, padded.length);
        int[] unpadded = tokenizer.encode("a photo of an astronaut riding a horse on mars");
        assertArrayEquals(unpadded, Arrays.copyOf(padded, unpadded.length));
        Arrays.stream(padded, unpadded.length, 77).forEach(id -> assertEquals(49407, id));
    }

    @Test
    void vocabAndMergesAloneGetClipDefaults() {
        ClipTokenizer tokenizer = ClipTokenizer.load(SharedData.clipTokenizerDir());
        assertEquals(77, tokenizer.maxLength());
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(49407, tokenizer.padId());
    }

    @Test
    void sd2PadsWithExclamationMark() throws IOException {
        write("tokenizer_config.json", "{\"pad_token\": \"!\", \"model_max_length\": 77}");
        ClipTokenizer tokenizer = ClipTokenizer.load(withSharedVocab());
        // The pad is the bare symbol "!" (id 0), not the word "!</w>" (id 256) that a prompt's "!" becomes.
        assertEquals(ids("!")[0], tokenizer.padId());
        assertEquals(0, tokenizer.padId());
        int[] padded = tokenizer.encodePadded("a red circle!");
        assertEquals(77, padded.length);
        assertArrayEquals(new int[] {49406, 320, 736, 7117, 256, 49407, 0, 0}, Arrays.copyOf(padded, 8));
        Arrays.stream(padded, 6, 77).forEach(id -> assertEquals(0, id));
        assertEquals("a red circle !", tokenizer.decode(padded));
    }

    @Test
    void specialTokensMayBeObjectsAndTheSpecialTokensMapWins() throws IOException {
        write("tokenizer_config.json", "{\"pad_token\": \"!\", \"bos_token\": {\"content\": \"<|startoftext|>\"}}");
        write("special_tokens_map.json", "{\"pad_token\": {\"content\": \"<|endoftext|>\", \"lstrip\": false}}");
        ClipTokenizer tokenizer = ClipTokenizer.load(withSharedVocab());
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.padId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e30", "1000000000000000019884624838656", "10001", "null"})
    void absurdOrMissingMaxLengthMeans77(String value) throws IOException {
        write("tokenizer_config.json", "{\"model_max_length\": " + value + "}");
        assertEquals(77, ClipTokenizer.load(withSharedVocab()).maxLength());
    }

    @Test
    void aRealMaxLengthIsHonoured() throws IOException {
        write("tokenizer_config.json", "{\"model_max_length\": 8}");
        ClipTokenizer tokenizer = ClipTokenizer.load(withSharedVocab());
        assertEquals(8, tokenizer.encodePadded("a").length);
        int[] cut = tokenizer.encode("word ".repeat(20));
        assertEquals(8, cut.length);
        assertEquals(49407, cut[7]);
    }

    @Test
    void lowerCasingCanBeTurnedOff() throws IOException {
        write("tokenizer_config.json", "{\"do_lower_case\": false}");
        ClipTokenizer tokenizer = ClipTokenizer.load(withSharedVocab());
        assertEquals("Red", tokenizer.decode(tokenizer.encode("Red")));
    }

    @Test
    void missingDirectoryIsReported() {
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir.resolve("nope")));
        assertNamesFile(e, "nope", "missing");
    }

    @Test
    void missingVocabIsReported() throws IOException {
        Files.copy(SharedData.clipTokenizerDir().resolve("merges.txt"), dir.resolve("merges.txt"));
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "vocab.json", "missing");
    }

    @Test
    void missingMergesIsReported() throws IOException {
        Files.copy(SharedData.clipTokenizerDir().resolve("vocab.json"), dir.resolve("vocab.json"));
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.loadWithDefaults(dir));
        assertNamesFile(e, "merges.txt", "missing");
    }

    @Test
    void vocabThatIsNotJsonIsReported() throws IOException {
        write("vocab.json", "{\"a\": 1,");
        write("merges.txt", "#version: 0.2\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "vocab.json", "not valid JSON");
    }

    @Test
    void vocabWithANonIntegerIdIsReported() throws IOException {
        write("vocab.json", "{\"a\": \"one\"}");
        write("merges.txt", "#version: 0.2\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "vocab.json", "token 'a' has id \"one\"");
    }

    /** An id far past the vocabulary's size would size an array of gigabytes. */
    @Test
    void vocabWithAnIdFarBeyondItsSizeIsReported() throws IOException {
        write("vocab.json", "{\"a\": 0, \"b\": 2147483647}");
        write("merges.txt", "#version: 0.2\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "vocab.json", "token 'b' has id 2147483647, expected an integer from 0 to 65537");
    }

    @Test
    void vocabWithoutByteLevelTokensIsReported() throws IOException {
        write("vocab.json", "{\"a\": 0}");
        write("merges.txt", "#version: 0.2\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "vocab.json", "not a CLIP BPE vocabulary");
    }

    @Test
    void malformedMergeLineIsReported() throws IOException {
        withSharedVocab();
        write("merges.txt", "#version: 0.2\ni n\nt h e\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "merges.txt", "line 3 is not two tokens");
    }

    @Test
    void mergeOfUnknownTokensIsReported() throws IOException {
        withSharedVocab();
        write("merges.txt", "#version: 0.2\ni n\nq\u00e9 zz\n");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(dir));
        assertNamesFile(e, "merges.txt", "line 3 needs token");
    }

    @Test
    void unknownPadTokenIsReportedAgainstTheFileThatNamesIt() throws IOException {
        write("tokenizer_config.json", "{\"pad_token\": \"<pad>\"}");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(withSharedVocab()));
        assertNamesFile(e, "tokenizer_config.json", "pad_token '<pad>' is not a token of vocab.json");
    }

    @Test
    void unknownEosInTheSpecialTokensMapIsReported() throws IOException {
        write("special_tokens_map.json", "{\"eos_token\": {\"content\": \"</s>\"}}");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(withSharedVocab()));
        assertNamesFile(e, "special_tokens_map.json", "eos_token '</s>'");
    }

    @Test
    void specialTokenOfTheWrongShapeIsReported() throws IOException {
        write("tokenizer_config.json", "{\"bos_token\": {\"text\": \"<|startoftext|>\"}}");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(withSharedVocab()));
        assertNamesFile(e, "tokenizer_config.json", "bos_token must be a string or an object");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"77\"", "1", "76.5", "-3"})
    void unusableMaxLengthIsReported(String value) throws IOException {
        write("tokenizer_config.json", "{\"model_max_length\": " + value + "}");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(withSharedVocab()));
        assertNamesFile(e, "tokenizer_config.json", "model_max_length");
    }

    @Test
    void configThatIsNotAnObjectIsReported() throws IOException {
        write("special_tokens_map.json", "[]");
        BundleException e = assertThrows(BundleException.class, () -> ClipTokenizer.load(withSharedVocab()));
        assertNamesFile(e, "special_tokens_map.json", "must hold a JSON object");
    }
}
