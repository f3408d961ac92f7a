package dev.easel.engine.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.json.JsonTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/** Reading the JSON files of a bundle, with errors that name the file and the key. */
public final class Json {

    private Json() {
    }

    /** Parses a required JSON object file. */
    public static JsonNode readObject(Path file) {
        JsonNode node;
        try {
            node = JsonTrees.parse(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw BundleException.inFile(file, "file is missing");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw BundleException.inFile(file, "is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw BundleException.inFile(file, "could not be read: " + e.getMessage(), e);
        }
        if (node == null || !node.isObject()) {
            throw BundleException.inFile(file, "must hold a JSON object");
        }
        return node;
    }

    /** Parses an optional JSON object file: empty when the file does not exist. */
    public static Optional<JsonNode> readOptionalObject(Path file) {
        return Files.exists(file) ? Optional.of(readObject(file)) : Optional.empty();
    }

    /** An optional positive integer key. */
    public static OptionalInt optionalInt(JsonNode node, String key, Path file) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return OptionalInt.empty();
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.intValue() <= 0) {
            throw BundleException.inFile(file, "key '" + key + "' must be a positive integer, found " + value);
        }
        return OptionalInt.of(value.intValue());
    }

    /** An optional positive number key. */
    public static OptionalDouble optionalPositiveDouble(JsonNode node, String key, Path file) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return OptionalDouble.empty();
        }
        if (!value.isNumber() || value.doubleValue() <= 0) {
            throw BundleException.inFile(file, "key '" + key + "' must be a positive number, found " + value);
        }
        return OptionalDouble.of(value.doubleValue());
    }

    /** An optional string key. */
    public static Optional<String> optionalString(JsonNode node, String key) {
        JsonNode value = node.get(key);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText());
    }
}
