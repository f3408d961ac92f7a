package dev.easel.engine.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * model_index.json: the pipeline class and its components ({@code name → [library, class]}).
 *
 * @param className        e.g. OnnxStableDiffusionPipeline
 * @param diffusersVersion version that wrote the bundle, "unknown" when absent
 * @param components       component name → [library, class name]
 * @param forceZerosForEmptyPrompt SDXL: with no negative prompt at all, the negative conditioning is zeros
 * @param requiresAestheticsScore  SDXL refiner: time ids carry an aesthetic score instead of the target size
 */
public record ModelIndex(String className, String diffusersVersion, Map<String, List<String>> components,
                         boolean forceZerosForEmptyPrompt, boolean requiresAestheticsScore) {

    public static ModelIndex read(Path file) {
        JsonNode root = Json.readObject(file);
        String className = Json.optionalString(root, "_class_name")
                .orElseThrow(() -> BundleException.inFile(file, "key '_class_name' is missing"));
        Map<String, List<String>> components = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode value = field.getValue();
            if (!field.getKey().startsWith("_") && value.isArray() && value.size() == 2) {
                components.put(field.getKey(), List.of(value.get(0).asText(), value.get(1).asText()));
            }
        }
        return new ModelIndex(className, Json.optionalString(root, "_diffusers_version").orElse("unknown"),
                Map.copyOf(components), flag(root, "force_zeros_for_empty_prompt", file),
                flag(root, "requires_aesthetics_score", file));
    }

    private static boolean flag(JsonNode root, String key, Path file) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw BundleException.inFile(file, "key '" + key + "' must be true or false, found " + value);
        }
        return value.asBoolean();
    }

    /** The component's class name (second entry), or empty string when the component is absent. */
    public String componentClass(String component) {
        List<String> entry = components.get(component);
        return entry == null ? "" : entry.get(1);
    }
}
