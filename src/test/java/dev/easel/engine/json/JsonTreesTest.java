package dev.easel.engine.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link JsonTrees} against the reference it replaces: ObjectMapper.readTree, node for node. */
class JsonTreesTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void everyConfigOfTheReferenceBundlesAndTheDemoModelReadsAsReadTreeReadsIt() throws IOException {
        List<Path> files;
        try (Stream<Path> shared = Files.walk(SharedData.root().resolve("reference-bundles"));
             Stream<Path> demo = Files.walk(Path.of("src/demo-model/bundle"))) {
            files = Stream.concat(shared, demo).filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThan(20);
        for (Path file : files) {
            byte[] bytes = Files.readAllBytes(file);
            JsonNode expected = MAPPER.readTree(bytes);
            assertThat(JsonTrees.parse(bytes)).as("%s", file).isEqualTo(expected);
            assertThat(JsonTrees.parse(new String(bytes, StandardCharsets.UTF_8))).as("%s", file).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{}", "[]", "{\"a\":[1,2,[3,[]],{\"b\":null}],\"c\":true,\"d\":false}",
        // integers by size: int, long, big integer; floats as doubles, exponents, negative zero
        "[0, -1, 2147483647, 2147483648, -9223372036854775808, 9223372036854775808, 123456789012345678901234567890]",
        "[0.0, -0.0, 1.5, 1e-4, 6.02E23, -2.5e+3, 0.1000000000000000055511151231257827, 1e400]",
        // strings: escapes, surrogate pairs, raw non-ASCII
        "{\"s\":\"tab\\there \\\"q\\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00 é ✨\"}",
        // a key twice: the last value wins, as readTree does by default
        "{\"k\":1,\"k\":{\"x\":2}}",
        // content after the first value is ignored, as readTree does by default
        "{\"a\":1} {\"b\":2}", "  [1]  ", "\"top-level string\"", "42", "null"
    })
    void texts(String json) throws IOException {
        assertThat(JsonTrees.parse(json)).isEqualTo(MAPPER.readTree(json));
        assertThat(JsonTrees.parse(json.getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(MAPPER.readTree(json.getBytes(StandardCharsets.UTF_8)));
        // Node types too: IntNode vs LongNode vs BigIntegerNode must match, not only the values.
        assertThat(JsonTrees.parse(json).toString()).isEqualTo(MAPPER.readTree(json).toString());
    }

    @Test
    void emptyInputIsAMissingNodeAndNeverAnObject() throws IOException {
        assertThat(JsonTrees.parse("").isMissingNode()).isTrue();
        assertThat(JsonTrees.parse("   ").isObject()).isFalse();
        assertThat(JsonTrees.parse(new byte[0]).isMissingNode()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"{", "{\"a\":}", "[1,]", "{\"a\" 1}", "{'a':1}", "NaN", "[1 2]", "{\"a\":tru}", "\"open"})
    void invalidJsonFailsWithTheParsersOwnMessage(String json) {
        String expected = message(() -> MAPPER.readTree(json));
        assertThatThrownBy(() -> JsonTrees.parse(json)).isInstanceOf(JsonProcessingException.class)
                .satisfies(e -> assertThat(((JsonProcessingException) e).getOriginalMessage()).isEqualTo(expected));
    }

    @Test
    void duplicatesFailWhenAskedLikeStrictDuplicateDetection() {
        String json = "{\"t\":{\"dtype\":\"F32\"},\"t\":{\"dtype\":\"F16\"}}";
        ObjectMapper strict = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        String expected = message(() -> strict.readTree(json));
        assertThat(expected).contains("Duplicate field 't'");
        assertThatThrownBy(() -> JsonTrees.parse(json, JsonTrees.Duplicates.FAIL))
                .isInstanceOf(JsonProcessingException.class)
                .satisfies(e -> assertThat(((JsonProcessingException) e).getOriginalMessage()).isEqualTo(expected));
    }

    @Test
    void nestingBeyondTheParsersLimitFailsCleanlyInsteadOfOverflowingTheStack() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertThatThrownBy(() -> JsonTrees.parse(deep)).isInstanceOf(JsonProcessingException.class)
                .hasMessageContaining("nesting depth");
    }

    private interface Parse {
        Object run() throws IOException;
    }

    private static String message(Parse parse) {
        try {
            parse.run();
        } catch (JsonProcessingException e) {
            return e.getOriginalMessage();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("ObjectMapper accepted it");
    }
}
