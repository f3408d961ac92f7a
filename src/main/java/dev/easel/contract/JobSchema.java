package dev.easel.contract;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import com.networknt.schema.path.NodePath;
import com.networknt.schema.path.PathType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * The committed job-v1 JSON Schema, enforced with networknt's draft 2020-12 validator, its errors
 * rewritten as {@link Violation}s that name field, problem and limit in the contract's words.
 * Immutable and thread-safe; loaded once per JVM.
 */
final class JobSchema {

    /** Classpath location of the schema; docs/job-contract.md links the source file. */
    static final String RESOURCE = "/schema/job-v1.schema.json";
    /** Longest value quoted back in a problem: values can be megabytes of base64. */
    private static final int QUOTE_LIMIT = 40;

    private static final JobSchema INSTANCE = load();

    private final JsonNode tree;
    private final Schema schema;

    private JobSchema(JsonNode tree, Schema schema) {
        this.tree = tree;
        this.schema = schema;
    }

    static JobSchema get() {
        return INSTANCE;
    }

    private static JobSchema load() {
        try (InputStream in = JobSchema.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("job schema " + RESOURCE + " is not on the classpath");
            }
            JsonNode tree = new ObjectMapper().readTree(in);
            // format is only an annotation in 2020-12 unless asserted; the contract relies on date-time and uri.
            SchemaRegistryConfig config = SchemaRegistryConfig.builder()
                    .formatAssertionsEnabled(true)
                    .pathType(PathType.JSON_POINTER)
                    .build();
            // x-rule is our annotation: declared, so the validator neither warns about it nor asserts it.
            Dialect dialect = Dialect.builder(Dialects.getDraft202012()).keyword(new AnnotationKeyword("x-rule")).build();
            SchemaRegistry registry = SchemaRegistry.withDefaultDialect(dialect,
                    builder -> builder.schemaRegistryConfig(config));
            return new JobSchema(tree, registry.getSchema(tree));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read job schema " + RESOURCE, e);
        }
    }

    /** The schema document itself. */
    JsonNode tree() {
        return tree;
    }

    /** Every schema violation of {@code job}, in the validator's order. */
    List<Violation> validate(JsonNode job) {
        List<Violation> out = new ArrayList<>();
        for (Error error : schema.validate(job)) {
            out.add(toViolation(error));
        }
        return out;
    }

    /**
     * Fills absent properties that the schema gives a {@code default}, at the top level and inside
     * present objects, so the defaults live in one place: the schema.
     */
    void applyDefaults(ObjectNode job) {
        applyDefaults(tree, job);
    }

    private static void applyDefaults(JsonNode objectSchema, ObjectNode instance) {
        objectSchema.path("properties").fields().forEachRemaining(property -> {
            JsonNode value = instance.get(property.getKey());
            JsonNode propertySchema = property.getValue();
            if (value == null && propertySchema.has("default")) {
                instance.set(property.getKey(), propertySchema.get("default").deepCopy());
            } else if (value instanceof ObjectNode object && propertySchema.has("properties")) {
                applyDefaults(propertySchema, object);
            }
        });
    }

    private Violation toViolation(Error error) {
        String at = path(error.getInstanceLocation());
        JsonNode rule = error.getSchemaNode();
        JsonNode value = error.getInstanceNode();
        Object[] args = error.getArguments();
        String keyword = error.getKeyword();
        return switch (keyword) {
            case "type" -> new Violation(at, "must be of type " + args[1] + ", got " + args[0] + " " + quote(value),
                    "type " + args[1]);
            case "const" -> new Violation(at, "must be " + rule + ", got " + quote(value), "= " + rule);
            case "enum" -> {
                String allowed = StreamSupport.stream(rule.spliterator(), false).map(JsonNode::asText)
                        .collect(Collectors.joining(", "));
                yield new Violation(at, "must be one of " + allowed + ", got " + quote(value), "one of " + allowed);
            }
            case "minimum" -> new Violation(at, "must be at least " + rule + ", got " + value, "≥ " + rule);
            case "maximum" -> new Violation(at, "must be at most " + rule + ", got " + value, "≤ " + rule);
            case "exclusiveMinimum" -> new Violation(at, "must be greater than " + rule + ", got " + value, "> " + rule);
            case "multipleOf" -> new Violation(at, "must be a multiple of " + rule + ", got " + value,
                    "multiple of " + rule);
            case "minLength" -> new Violation(at, "must be at least " + rule + " characters, got "
                    + value.asText().length(), "≥ " + rule + " characters");
            case "maxLength" -> new Violation(at, "must be at most " + rule + " characters, got "
                    + value.asText().length(), "≤ " + rule + " characters");
            case "pattern" -> {
                String form = ruleText(error, "regular expression " + rule.asText());
                yield new Violation(at, "must be " + form + ", got " + quote(value), form);
            }
            case "format" -> {
                String form = switch (rule.asText()) {
                    case "date-time" -> "an RFC 3339 date-time such as 2030-01-01T12:00:00Z";
                    case "uri" -> "an absolute URI (RFC 3986)";
                    default -> "format " + rule.asText();
                };
                yield new Violation(at, "must be " + form + ", got " + quote(value), form);
            }
            case "required" -> new Violation(child(at, error.getProperty()), "is required", "required field");
            case "additionalProperties" -> {
                String known = String.join(", ", iterable(parentSchema(error).path("properties").fieldNames()));
                yield new Violation(child(at, error.getProperty()), "is not a field of job version 1",
                        "known fields: " + known);
            }
            case "minItems" -> new Violation(at, "must have at least " + rule + " items, got " + value.size(),
                    "≥ " + rule + " items");
            case "uniqueItems" -> new Violation(at, "must not list an item twice, got " + quote(value), "unique items");
            default -> new Violation(at, error.getMessage(), keyword + " " + rule);
        };
    }

    /** The schema's own wording of a pattern ({@code x-rule}), so clients read a rule, not a regex. */
    private String ruleText(Error error, String fallback) {
        JsonNode text = parentSchema(error).get("x-rule");
        return text == null ? fallback : text.asText();
    }

    /** The schema object holding the keyword that failed (for a $ref, the referenced definition). */
    private JsonNode parentSchema(Error error) {
        NodePath keywordPath = error.getSchemaLocation().getFragment();
        JsonNode node = tree;
        for (int i = 0; i < keywordPath.getNameCount() - 1; i++) {
            Object element = keywordPath.getElement(i);
            node = element instanceof Integer index ? node.path(index) : node.path(element.toString());
        }
        return node;
    }

    /** {@code /webhook/events/1} → {@code webhook.events[1]}; the root is {@code $}. */
    static String path(NodePath location) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < location.getNameCount(); i++) {
            Object element = location.getElement(i);
            if (element instanceof Integer index) {
                out.append('[').append(index).append(']');
            } else {
                out.append(out.length() == 0 ? "" : ".").append(element);
            }
        }
        return out.length() == 0 ? "$" : out.toString();
    }

    static String child(String parent, String name) {
        if (name.isEmpty()) {
            // An empty key (found by fuzzing): named in JSONPath's bracket form, never as "".
            return parent + "[\"\"]";
        }
        return parent.equals("$") ? name : parent + "." + name;
    }

    /** A value as JSON, shortened: enough to recognise it without echoing an upload. */
    static String quote(JsonNode value) {
        String text = value.toString();
        return text.length() <= QUOTE_LIMIT ? text : text.substring(0, QUOTE_LIMIT) + "…";
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> iterator) {
        return () -> iterator;
    }
}
