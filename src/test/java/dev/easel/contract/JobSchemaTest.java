package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.easel.engine.scheduler.Schedulers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** The committed schema, the documentation and the Java code describe the same contract. */
class JobSchemaTest {

    static final Path SCHEMA = Path.of("src/main/resources/schema/job-v1.schema.json");
    static final Path DOC = Path.of("docs/job-contract.md");
    static final ObjectMapper JSON = new ObjectMapper().registerModule(new Jdk8Module());

    @Test
    void schemaFileIsAValidDraft202012Schema() throws IOException {
        JsonNode schema = JSON.readTree(SCHEMA.toFile());
        assertThat(schema.get("$schema").asText()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
        // The validator ships the 2020-12 meta-schemas, so this needs no network.
        var meta = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        assertThat(meta.validate(schema)).isEmpty();
        assertThat(JobSchema.get().tree()).isEqualTo(schema);
    }

    @Test
    void documentedExamplesAreAcceptedJobs() throws IOException {
        String doc = Files.readString(DOC);
        assertThat(doc).contains("src/main/resources/schema/job-v1.schema.json");
        Matcher m = Pattern.compile("<!-- example-job -->\\s*```json\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<Job> jobs = new ArrayList<>();
        while (m.find()) {
            jobs.add(JobParserTest.accept(JobParserTest.PARSER, m.group(1)));
        }
        assertThat(jobs).hasSize(4);
        ImageInputs inputs = new ImageInputs(JobLimits.defaults(), (bucket, key) -> {
            throw new ObjectFetcher.NotFoundException("not used");
        });
        Job inline = jobs.get(3);
        assertThat(inputs.resolve(inline)).isInstanceOfSatisfying(Validated.Valid.class,
                v -> assertThat((Optional<?>) v.value()).isPresent());
    }

    @Test
    void documentedErrorFormatIsWhatARejectionSerialisesTo() throws IOException {
        String doc = Files.readString(DOC);
        Matcher m = Pattern.compile("## Errors.*?```json\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        assertThat(m.find()).isTrue();
        JsonNode documented = JSON.readTree(m.group(1));
        JobRejection rejection = JobParserTest.reject(JobParserTest.PARSER, JobParserTest.job(
                "'id': 'order-1234.variant_a', 'width': 500, 'webhook': {'url': 'https://h.example',"
                        + " 'events': ['started', 'done']}, 'cfg_scale': 7"));
        JsonNode actual = JSON.valueToTree(rejection);
        assertThat(iterable(actual.fieldNames())).containsExactlyElementsOf(iterable(documented.fieldNames()));
        assertThat(actual.get("id")).isEqualTo(documented.get("id"));
        assertThat(actual.get("error")).isEqualTo(documented.get("error"));
        for (int i = 0; i < 2; i++) {
            assertThat(actual.get("violations").get(i)).isEqualTo(documented.get("violations").get(i));
        }
        assertThat(actual.get("violations").get(2).get("field")).isEqualTo(documented.get("violations").get(2).get("field"));
    }

    @Test
    void schedulerNamesAreTheEngines() {
        List<String> names = StreamSupport.stream(JobSchema.get().tree().at("/properties/scheduler/enum").spliterator(),
                false).map(JsonNode::asText).toList();
        assertThat(names).containsExactlyElementsOf(Schedulers.names());
    }

    @Test
    void everyPatternHasAReadableRule() {
        List<JsonNode> withPattern = new ArrayList<>();
        JobSchema.get().tree().findParents("pattern").forEach(withPattern::add);
        assertThat(withPattern).hasSizeGreaterThanOrEqualTo(5)
                .allSatisfy(node -> assertThat(node.path("x-rule").asText()).isNotBlank());
    }

    @Test
    void generatedIdsSatisfyTheSchema() throws IOException {
        String id = JobIds.generate();
        JsonNode job = JSON.readTree(JobParserTest.job("'id': '" + id + "'").getBytes(StandardCharsets.UTF_8));
        assertThat(JobSchema.get().validate(job)).isEmpty();
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
