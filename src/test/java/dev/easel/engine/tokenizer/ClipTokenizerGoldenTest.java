package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every case of golden-public.json, ids from the reference CLIP tokenizer, reproduced exactly. */
class ClipTokenizerGoldenTest {

    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.load(SharedData.sd15TokenizerDir());
    }

    static List<Arguments> goldenCases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(
                SharedData.clipTokenizerDir().resolve("golden-public.json").toFile());
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            int[] ids = new int[c.get("input_ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("input_ids").get(i).intValue();
            }
            cases.add(Arguments.of(c.get("prompt").textValue(), ids));
        }
        return cases;
    }

    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("goldenCases")
    void encodesLikeTheReference(String prompt, int[] expected) {
        assertArrayEquals(expected, tokenizer.encode(prompt));
    }
}
