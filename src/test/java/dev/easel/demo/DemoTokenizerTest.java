package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * The demo vocabulary is learned by the Python training script; the text encoder was trained on
 * the ids Python's tokenizer gave. Easel's CLIP tokenizer must give the same ids on that vocab.
 */
class DemoTokenizerTest {

    @Test
    void easelTokenizesLikeTheTrainingScript() throws Exception {
        ClipTokenizer tokenizer = ClipTokenizer.load(DemoBundle.DIR.resolve("tokenizer"));
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/dev/easel/demo/tokenizer-golden.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        assertTrue(golden.size() >= 20);
        for (JsonNode c : golden) {
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = c.get("ids").get(i).asInt();
            }
            assertArrayEquals(expected, tokenizer.encode(c.get("text").asText()), c.get("text").asText());
        }
        assertEquals(77, tokenizer.maxLength());
        assertEquals(tokenizer.eosId(), tokenizer.padId());
    }
}
