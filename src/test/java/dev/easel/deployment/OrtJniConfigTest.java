package dev.easel.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The native image's JNI registrations (src/main/resources/META-INF/native-image/dev.easel/easel/
 * jni-config.json) cover everything ONNX Runtime's JNI library looks up, read from the library in
 * the ONNX Runtime jar on the classpath ({@link OrtJniLookups}). After an ONNX Runtime upgrade a
 * failure here prints the file to commit.
 */
class OrtJniConfigTest {

    static final String JNI_CONFIG = "/META-INF/native-image/dev.easel/easel/jni-config.json";

    @Test
    void theScanFindsTheLookupsTheBindingIsKnownToMake() throws IOException {
        OrtJniLookups lookups = OrtJniLookups.scan();

        // Known from ONNX Runtime's Java sources (OrtJniUtil.c): it builds tensors and throws
        // OrtException from C. If these vanish the scan is broken, not the library cleaner.
        assertThat(lookups.classes()).contains("ai/onnxruntime/OnnxTensor", "ai/onnxruntime/OrtException",
                "ai/onnxruntime/TensorInfo", "java/lang/String");
        assertThat(lookups.members()).contains(
                new OrtJniLookups.Member("ai/onnxruntime/OnnxTensor", "<init>", "(JJLai/onnxruntime/TensorInfo;)V", false),
                new OrtJniLookups.Member("ai/onnxruntime/OrtException", "<init>", "(ILjava/lang/String;)V", false));
    }

    @Test
    void committedJniConfigCoversEveryLookup() throws IOException {
        OrtJniLookups lookups = OrtJniLookups.scan();
        JsonNode config = committed();

        List<String> missing = new ArrayList<>();
        for (String className : lookups.classes()) {
            if (entry(config, className) == null) {
                missing.add(className);
            }
        }
        for (OrtJniLookups.Member member : lookups.members()) {
            JsonNode entry = entry(config, member.className());
            if (entry == null || !covers(entry, member)) {
                missing.add(member.className() + "." + member.name() + member.descriptor());
            }
        }
        assertThat(missing)
                .as("jni-config.json lacks lookups of %s; regenerated it reads:%n%s",
                        OrtJniLookups.LIBRARY, lookups.toJniConfig())
                .isEmpty();
    }

    @Test
    void committedJniConfigNamesOnlyClassesThatExist() throws IOException {
        List<String> unknown = new ArrayList<>();
        for (JsonNode entry : committed()) {
            try {
                Class.forName(entry.path("name").asText(), false, getClass().getClassLoader());
            } catch (ClassNotFoundException e) {
                unknown.add(entry.path("name").asText());
            }
        }
        assertThat(unknown).as("classes in jni-config.json that are not on the classpath").isEmpty();
    }

    private static JsonNode committed() throws IOException {
        try (InputStream in = OrtJniConfigTest.class.getResourceAsStream(JNI_CONFIG)) {
            assertThat(in).as(JNI_CONFIG).isNotNull();
            return new ObjectMapper().readTree(in);
        }
    }

    private static JsonNode entry(JsonNode config, String internalName) {
        String name = internalName.replace('/', '.');
        for (JsonNode entry : config) {
            if (entry.path("name").asText().equals(name)) {
                return entry;
            }
        }
        return null;
    }

    private static boolean covers(JsonNode entry, OrtJniLookups.Member member) {
        if (member.field()) {
            if (entry.path("allDeclaredFields").asBoolean() || entry.path("allPublicFields").asBoolean()) {
                return true;
            }
            for (JsonNode field : entry.path("fields")) {
                if (field.path("name").asText().equals(member.name())) {
                    return true;
                }
            }
            return false;
        }
        boolean constructor = member.name().equals("<init>");
        if (entry.path(constructor ? "allDeclaredConstructors" : "allDeclaredMethods").asBoolean()) {
            return true;
        }
        List<String> parameters = OrtJniLookups.javaNames(
                member.descriptor().substring(1, member.descriptor().indexOf(')')));
        for (JsonNode method : entry.path("methods")) {
            List<String> declared = new ArrayList<>();
            method.path("parameterTypes").forEach(t -> declared.add(t.asText()));
            if (method.path("name").asText().equals(member.name()) && declared.equals(parameters)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void suffixesOfMergedStringsCount() {
        byte[] bytes = "\u0001()J\u0000<init>\u0000".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Set<String> strings = new HashSet<>(OrtJniLookups.stringSuffixes(bytes));
        assertThat(strings).contains("()J", ")J", "J", "<init>", "init>");
    }
}
