package dev.easel.engine.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * JSON text to the tree {@code ObjectMapper.readTree} gives, read with jackson-core's streaming
 * parser alone. Why: making an ObjectMapper costs about 0.3 s of a cold JVM's start (its
 * deserializer machinery), more than everything else in reading a bundle's configs, and a CLI run
 * or a fresh worker reads nothing but trees (docs/benchmarks.md, "Loading beside sd4j").
 *
 * <p>The same tree as readTree with an ObjectMapper's defaults: integers as int, long or big
 * integer nodes by size, other numbers as doubles, a repeated key's last value (or an error, with
 * {@link Duplicates#FAIL}), content after the first value ignored, empty input a
 * {@link MissingNode}; invalid JSON fails with the parser's own exception and message.
 */
public final class JsonTrees {

    /** What a key that appears twice in one object does. */
    public enum Duplicates {
        /** The last value wins (readTree's default). */
        LAST_WINS,
        /** The parser fails, naming the key (JsonParser.Feature.STRICT_DUPLICATE_DETECTION). */
        FAIL
    }

    /** Thread-safe once configured; parsers are made per call. */
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonTrees() {
    }

    public static JsonNode parse(byte[] json) throws IOException {
        try (JsonParser parser = FACTORY.createParser(json)) {
            return tree(parser, Duplicates.LAST_WINS);
        }
    }

    public static JsonNode parse(String json) throws IOException {
        return parse(json, Duplicates.LAST_WINS);
    }

    public static JsonNode parse(String json, Duplicates duplicates) throws IOException {
        try (JsonParser parser = FACTORY.createParser(json)) {
            return tree(parser, duplicates);
        }
    }

    private static JsonNode tree(JsonParser parser, Duplicates duplicates) throws IOException {
        if (duplicates == Duplicates.FAIL) {
            parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        }
        JsonToken first = parser.nextToken();
        return first == null ? MissingNode.getInstance() : value(parser, first);
    }

    /** The value starting at {@code token}; the parser's nesting limit bounds the recursion. */
    private static JsonNode value(JsonParser parser, JsonToken token) throws IOException {
        switch (token) {
            case START_OBJECT -> {
                ObjectNode object = NODES.objectNode();
                for (String key = parser.nextFieldName(); key != null; key = parser.nextFieldName()) {
                    object.set(key, value(parser, parser.nextToken()));
                }
                return object;
            }
            case START_ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                for (JsonToken next = parser.nextToken(); next != JsonToken.END_ARRAY; next = parser.nextToken()) {
                    array.add(value(parser, next));
                }
                return array;
            }
            case VALUE_STRING -> {
                return NODES.textNode(parser.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (parser.getNumberType()) {
                    case INT -> NODES.numberNode(parser.getIntValue());
                    case LONG -> NODES.numberNode(parser.getLongValue());
                    default -> NODES.numberNode(parser.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return NODES.numberNode(parser.getDoubleValue());
            }
            case VALUE_TRUE -> {
                return NODES.booleanNode(true);
            }
            case VALUE_FALSE -> {
                return NODES.booleanNode(false);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw new IllegalStateException("unexpected " + token + " at " + parser.currentLocation());
        }
    }
}
