package dev.easel.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the native build hands to native-image, from the sources-only build that `mvnw verify`
 * runs into target/native-check (quarkus-maven-plugin execution {@code native-sources}): the
 * arguments, and the runner jar with the native-image configuration. A failsafe test because it
 * reads the packaged build, not because it needs Kafka or S3.
 */
class NativeBuildIT {

    /** Resources Easel reads at run time, which the image must hold (quarkus.native.resources.includes). */
    static final List<String> RUNTIME_RESOURCES = List.of(
            "schema/job-v1.schema.json", // dev.easel.contract.JobSchema
            "dev/easel/engine/tokenizer/html5-entities.tsv", // dev.easel.engine.tokenizer.HtmlUnescape
            "ai/onnxruntime/native/linux-x64/libonnxruntime.so", // ONNX Runtime's loader extracts these
            "ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so");

    private Path sources;

    @BeforeEach
    void locate() {
        assumeFalse(Boolean.getBoolean("easel.native-check.skipped"), "native-sources build skipped (-DskipNativeCheck)");
        sources = Path.of(System.getProperty("easel.native-sources.dir", "target/native-check/native-sources"));
        assertThat(sources.resolve("native-image.args")).as("native sources (did the native-sources execution run?)").exists();
    }

    @Test
    void onnxRuntimeAndTheEngineClassesThatHoldItsTypesInitialiseAtRunTime() throws IOException {
        List<String> runtimeInit = new ArrayList<>();
        for (String arg : args()) {
            if (arg.startsWith("--initialize-at-run-time=")) {
                runtimeInit.addAll(Arrays.asList(arg.substring(arg.indexOf('=') + 1).split(",")));
            }
        }
        assertThat(runtimeInit).contains("ai.onnxruntime", "dev.easel.engine.onnx");
    }

    @Test
    void theBuildIsANativeImageOfTheRunnerJarWithoutFallback() throws IOException {
        List<String> args = args();
        assertThat(args).contains("--no-fallback", "-jar");
        assertThat(sources.resolve(args.get(args.indexOf("-jar") + 1))).exists();
        try (var libs = Files.list(sources.resolve("lib"))) {
            assertThat(libs.map(p -> p.getFileName().toString()))
                    .anyMatch(name -> name.startsWith("com.microsoft.onnxruntime.onnxruntime"));
        }
    }

    @Test
    void runnerJarCarriesTheJniRegistrations() throws IOException {
        try (ZipFile jar = runnerJar(); InputStream committed = getClass().getResourceAsStream(OrtJniConfigTest.JNI_CONFIG)) {
            ZipEntry entry = jar.getEntry(OrtJniConfigTest.JNI_CONFIG.substring(1));
            assertThat(entry).as("jni-config.json in the runner jar").isNotNull();
            ObjectMapper json = new ObjectMapper();
            assertThat(json.readTree(jar.getInputStream(entry))).isEqualTo(json.readTree(committed));
        }
    }

    @Test
    void everyRuntimeResourceIsIncluded() throws IOException {
        List<Pattern> includes = new ArrayList<>();
        try (ZipFile jar = runnerJar()) {
            JsonNode config = new ObjectMapper().readTree(jar.getInputStream(jar.getEntry("META-INF/native-image/resource-config.json")));
            for (JsonNode include : config.path("resources").path("includes")) {
                includes.add(Pattern.compile(include.path("pattern").asText()));
            }
        }
        for (String resource : RUNTIME_RESOURCES) {
            assertThat(includes).as("a resource-config include for %s", resource)
                    .anyMatch(p -> p.matcher(resource).matches());
        }
    }

    private List<String> args() throws IOException {
        // One line, arguments separated by spaces (none of Easel's contain one).
        return Arrays.asList(Files.readString(sources.resolve("native-image.args")).trim().split(" "));
    }

    private ZipFile runnerJar() throws IOException {
        List<String> args = args();
        return new ZipFile(sources.resolve(args.get(args.indexOf("-jar") + 1)).toFile());
    }
}
