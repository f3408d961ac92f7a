package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.bundle.BundleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the tokenizer's JSON files, turning every problem into a {@link BundleException}. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    /** The file's top-level JSON object. */
    static JsonNode readObject(Path file) {
        if (!Files.isRegularFile(file)) {
            throw BundleException.inFile(file, "is missing");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw BundleException.inFile(file, "is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw BundleException.inFile(file, "must hold a JSON object");
        }
        return root;
    }
}
