package dev.easel.deployment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The subset of {@code kustomize build} that k8s/ uses, so the test can check what an overlay
 * renders without a kustomize binary: {@code resources} (files and directories), {@code patches}
 * (strategic merge patches by file, matched to a resource by kind and name) and {@code images}.
 * A kustomization using anything else fails the build, so this cannot silently render something
 * kustomize would not. The strategic merge covers what the patches here need: maps merge, a
 * {@code null} deletes, lists of named objects (containers, env) merge by name, other lists are
 * replaced. The output was compared with {@code kubectl kustomize} (v5.5) when it was written.
 */
final class Kustomize {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> SUPPORTED = Set.of("apiVersion", "kind", "resources", "patches", "images");

    private Kustomize() {
    }

    /** The objects of every YAML document in a file. */
    static List<ObjectNode> read(Path file) throws IOException {
        List<ObjectNode> out = new ArrayList<>();
        try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(file.toFile())) {
            Iterator<JsonNode> docs = YAML.readValues(parser, JsonNode.class);
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && doc.isObject()) {
                    out.add((ObjectNode) doc);
                }
            }
        }
        return out;
    }

    /** What {@code kustomize build dir} would print, as objects. */
    static List<ObjectNode> build(Path dir) throws IOException {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(dir + " has no kustomization.yaml");
        }
        JsonNode k = read(file).get(0);
        for (Iterator<String> names = k.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!SUPPORTED.contains(name)) {
                throw new IllegalArgumentException(file + ": field " + name + " is not supported by this test's kustomize");
            }
        }
        List<ObjectNode> objects = new ArrayList<>();
        for (JsonNode resource : k.path("resources")) {
            Path path = dir.resolve(resource.asText()).normalize();
            if (Files.isDirectory(path)) {
                objects.addAll(build(path));
            } else if (Files.isRegularFile(path)) {
                objects.addAll(read(path));
            } else {
                throw new IllegalArgumentException(file + ": resource " + resource.asText() + " does not exist");
            }
        }
        for (JsonNode patchRef : k.path("patches")) {
            if (!patchRef.has("path") || patchRef.has("target") || patchRef.has("patch")) {
                throw new IllegalArgumentException(file + ": only patches given by path, matched by kind and name, are supported");
            }
            for (ObjectNode patch : read(dir.resolve(patchRef.path("path").asText()))) {
                ObjectNode target = objects.stream()
                        .filter(o -> o.path("kind").equals(patch.path("kind"))
                                && o.path("metadata").path("name").equals(patch.path("metadata").path("name")))
                        .findFirst()
                        .orElseThrow(() -> new IllegalArgumentException(file + ": patch " + patchRef.path("path").asText()
                                + " targets " + patch.path("kind").asText() + "/" + patch.path("metadata").path("name").asText()
                                + ", which is not among the resources"));
                merge(target, patch);
            }
        }
        for (JsonNode image : k.path("images")) {
            for (ObjectNode object : objects) {
                renameImages(object, image);
            }
        }
        return objects;
    }

    static void merge(ObjectNode target, JsonNode patch) {
        for (Iterator<Map.Entry<String, JsonNode>> fields = patch.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode current = target.get(field.getKey());
            JsonNode value = field.getValue();
            if (value.isNull()) {
                target.remove(field.getKey());
            } else if (current instanceof ObjectNode currentObject && value.isObject()) {
                merge(currentObject, value);
            } else if (current instanceof ArrayNode currentArray && value.isArray() && named(currentArray) && named(value)) {
                for (JsonNode element : value) {
                    ObjectNode match = null;
                    for (JsonNode existing : currentArray) {
                        if (existing.path("name").equals(element.path("name"))) {
                            match = (ObjectNode) existing;
                        }
                    }
                    if (match == null) {
                        currentArray.add(element.deepCopy());
                    } else {
                        merge(match, element);
                    }
                }
            } else {
                target.set(field.getKey(), value.deepCopy());
            }
        }
    }

    private static boolean named(JsonNode array) {
        if (array.isEmpty()) {
            return false;
        }
        for (JsonNode element : array) {
            if (!element.isObject() || !element.has("name")) {
                return false;
            }
        }
        return true;
    }

    /** The images transformer: containers and init containers anywhere in the object. */
    private static void renameImages(JsonNode node, JsonNode image) {
        if (node instanceof ObjectNode object) {
            JsonNode current = object.get("image");
            if (current != null && current.isTextual() && (object.has("name"))) {
                String ref = current.asText();
                int colon = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.lastIndexOf(':') : -1;
                String name = colon < 0 ? ref : ref.substring(0, colon);
                if (name.equals(image.path("name").asText())) {
                    String newName = image.path("newName").asText(name);
                    String tag = image.has("newTag") ? image.path("newTag").asText()
                            : colon < 0 ? null : ref.substring(colon + 1);
                    object.put("image", tag == null ? newName : newName + ":" + tag);
                }
            }
            object.forEach(child -> renameImages(child, image));
        } else if (node.isArray()) {
            node.forEach(child -> renameImages(child, image));
        }
    }
}
