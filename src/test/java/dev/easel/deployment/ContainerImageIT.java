package dev.easel.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The container image's layout, read from the tar that deployment/image-check.sh builds with Jib
 * on a synthetic base (no registry or Docker daemon here). Runs only when that script passes
 * {@code -Deasel.image.tar}; a plain {@code ./mvnw verify} skips it (about 80 s and 110 MB per build).
 */
class ContainerImageIT {

    static final String NATIVE_DIR = "opt/easel/native/";
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode config;
    /** Every file and directory of the image's layers, path → size. */
    static Map<String, Long> files;
    static Properties application;

    @BeforeAll
    static void read() throws IOException {
        String tar = System.getProperty("easel.image.tar", "");
        assumeTrue(!tar.isBlank(), "no image tar given (deployment/image-check.sh builds one)");
        Map<String, byte[]> outer = entries(Files.newInputStream(Path.of(tar)));
        JsonNode manifest = JSON.readTree(outer.get("manifest.json")).get(0);
        config = JSON.readTree(outer.get(manifest.path("Config").asText())).path("config");
        files = new LinkedHashMap<>();
        for (JsonNode layer : manifest.path("Layers")) {
            byte[] bytes = outer.get(layer.asText());
            InputStream in = new ByteArrayInputStream(bytes);
            if (layer.asText().endsWith(".gz")) {
                in = new GZIPInputStream(in);
            }
            listing(in, files);
        }
        application = new Properties();
        try (InputStream in = ContainerImageIT.class.getResourceAsStream("/application.properties")) {
            application.load(in);
        }
    }

    @Test
    void runsAsTheNonRootUserOnTheHttpPort() {
        assertThat(config.path("User").asText()).isEqualTo(application.getProperty("quarkus.jib.user")).isNotEqualTo("0");
        assertThat(config.path("ExposedPorts").has(K8sManifestsTest.HTTP_PORT + "/tcp")).isTrue();
        assertThat(config.path("Labels").path("org.opencontainers.image.title").asText()).isEqualTo("easel");
    }

    @Test
    void onnxRuntimeLoadsItsLibrariesFromTheDirectoryThatHoldsThem() {
        List<String> launch = new ArrayList<>();
        config.path("Entrypoint").forEach(a -> launch.add(a.asText()));
        config.path("Env").forEach(e -> launch.add(e.asText()));
        assertThat(String.join(" ", launch)).contains("-Donnxruntime.native.path=/" + NATIVE_DIR.substring(0, NATIVE_DIR.length() - 1));
        assertThat(files).containsKeys(NATIVE_DIR + "libonnxruntime.so", NATIVE_DIR + "libonnxruntime4j_jni.so");
        assertThat(files.get(NATIVE_DIR + "libonnxruntime.so")).isGreaterThan(1_000_000L);
    }

    @Test
    void carriesTheApplicationAndAModelsMountPointButNoModel() {
        assertThat(files).containsKeys("home/jboss/quarkus-run.jar", "models/");
        assertThat(files.keySet()).anyMatch(f -> f.startsWith("home/jboss/lib/main/com.microsoft.onnxruntime."));
        assertThat(files.keySet()).as("no model baked in").noneMatch(f -> f.endsWith(".onnx") || f.endsWith(".onnx_data"));
    }

    /** The entries of an uncompressed tar, name → content. */
    static Map<String, byte[]> entries(InputStream in) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        try (in) {
            walk(in, (name, size, body) -> out.put(name, body));
        }
        return out;
    }

    static void listing(InputStream in, Map<String, Long> out) throws IOException {
        try (in) {
            walk(in, (name, size, body) -> out.put(name.startsWith("./") ? name.substring(2) : name, size));
        }
    }

    interface Entry {
        void accept(String name, long size, byte[] body);
    }

    /** A minimal ustar reader: 512-byte headers, octal sizes, directories named with a trailing '/'. */
    static void walk(InputStream in, Entry entry) throws IOException {
        byte[] header = new byte[512];
        while (in.readNBytes(header, 0, 512) == 512) {
            if (header[0] == 0) {
                return;
            }
            String name = field(header, 0, 100);
            String prefix = field(header, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
            long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
            char type = (char) header[156];
            byte[] body = in.readNBytes((int) size);
            in.skipNBytes((512 - size % 512) % 512);
            if (type == '5' && !name.endsWith("/")) {
                name = name + "/";
            }
            if (type == '0' || type == 0 || type == '5') {
                entry.accept(name, size, body);
            }
        }
    }

    private static String field(byte[] header, int offset, int length) {
        int end = offset;
        while (end < offset + length && header[end] != 0) {
            end++;
        }
        return new String(header, offset, end - offset, StandardCharsets.US_ASCII);
    }
}
