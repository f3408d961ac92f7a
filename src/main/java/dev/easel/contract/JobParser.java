package dev.easel.contract;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.tokenizer.PromptMode;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * Reads a job (JSON bytes, from Kafka or HTTP) into a {@link Job} or a {@link JobRejection}
 * listing every violation: first the job-v1 schema, then the deployment's {@link JobLimits} and
 * the rules between fields. Bad input never throws. Immutable and thread-safe; the
 * {@code with…} methods return adjusted copies.
 */
public final class JobParser {

    private final Limited limited;
    private final JobLimits limits;
    private final Clock clock;
    private final Supplier<String> ids;
    private final ModelFacts model;
    private final ObjectMapper mapper;

    /** A parser with the system clock, random ids for jobs without one, and no token counting. */
    public JobParser(JobLimits limits) {
        this(new Limited(limits, mapper(limits)), Clock.systemUTC(), JobIds::generate, ModelFacts.UNKNOWN);
    }

    /** The limits and the JSON mapper made for them, shared by every parser derived from one (a mapper is costly to build). */
    private record Limited(JobLimits limits, ObjectMapper mapper) {
    }

    /**
     * What the parser knows of the job's model, for the rules that depend on it.
     *
     * @param tokenCounter counts prompt tokens with the model's tokenizer
     * @param parts        the model's optional graphs (CLIP, CLIP guidance, VAE encoder) some fields need
     * @param chunking     how the model splits weighted prompts into chunks, and how many it takes
     * @param schedule     whether the model's scheduler runs a schedule
     * @param promptSyntax how the model reads jobs that do not say
     * @param defaults     the model's width, height and steps for a job that gives none: the rules
     *                     that depend on them (the pixel limit; previews.every, strength × steps, the
     *                     verifier's budget) judge such a job by them; empty when the model is not known
     */
    record ModelFacts(Optional<ToIntFunction<String>> tokenCounter, Optional<ModelParts> parts,
                      Optional<PromptChunking> chunking, Optional<ScheduleRule> schedule, PromptMode promptSyntax,
                      Optional<ModelDefaults> defaults) {
        static final ModelFacts UNKNOWN = new ModelFacts(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), PromptMode.PLAIN, Optional.empty());

        ModelFacts withTokenCounter(ToIntFunction<String> value) {
            return new ModelFacts(Optional.of(value), parts, chunking, schedule, promptSyntax, defaults);
        }

        ModelFacts withParts(ModelParts value) {
            return new ModelFacts(tokenCounter, Optional.of(value), chunking, schedule, promptSyntax, defaults);
        }

        ModelFacts withChunking(PromptChunking value) {
            return new ModelFacts(tokenCounter, parts, Optional.of(value), schedule, promptSyntax, defaults);
        }

        ModelFacts withSchedule(ScheduleRule value) {
            return new ModelFacts(tokenCounter, parts, chunking, Optional.of(value), promptSyntax, defaults);
        }

        ModelFacts withPromptSyntax(PromptMode value) {
            return new ModelFacts(tokenCounter, parts, chunking, schedule, value, defaults);
        }

        ModelFacts withDefaults(ModelDefaults value) {
            return new ModelFacts(tokenCounter, parts, chunking, schedule, promptSyntax, Optional.of(value));
        }
    }

    private JobParser(Limited limited, Clock clock, Supplier<String> ids, ModelFacts model) {
        this.limited = limited;
        this.limits = limited.limits();
        this.clock = clock;
        this.ids = ids;
        this.model = model;
        this.mapper = limited.mapper();
    }

    /** Judges {@code deadline} against this clock. */
    public JobParser withClock(Clock value) {
        return new JobParser(limited, value, ids, model);
    }

    /** Supplies the id of a job submitted without one; the default is {@link JobIds#generate()}. */
    public JobParser withIdGenerator(Supplier<String> value) {
        return new JobParser(limited, clock, value, model);
    }

    /**
     * Enforces {@link JobLimits#maxPromptTokens()} on {@code prompt} and {@code negativePrompt}.
     * Counting needs the model's tokenizer, so a worker passes its model's, e.g.
     * {@code ClipTokenizer::countTokens} (BPE tokens without start and end tokens).
     */
    public JobParser withTokenCounter(ToIntFunction<String> value) {
        return new JobParser(limited, clock, ids, model.withTokenCounter(value));
    }

    /**
     * Rejects the fields whose graph the job's model lacks: the CLIP options (clipScore, rerank,
     * verifier, clipGuidanceScale, edit) without CLIP, clipGuidanceScale without the guidance graph,
     * initImage without a VAE encoder; a worker passes what its model has.
     */
    public JobParser withParts(ModelParts value) {
        return new JobParser(limited, clock, ids, model.withParts(value));
    }

    /**
     * Refuses weighted prompts of more chunks than {@link JobRules#WEIGHTED_CHUNKS} (BREAK starts
     * one) or than the model's UNet takes; a worker passes its model's chunking.
     */
    public JobParser withChunking(PromptChunking value) {
        return new JobParser(limited, clock, ids, model.withChunking(value));
    }

    /** Refuses a schedule the model's scheduler cannot run; a worker passes its model's. */
    public JobParser withSchedule(ScheduleRule value) {
        return new JobParser(limited, clock, ids, model.withSchedule(value));
    }

    /**
     * The prompt syntax of jobs that do not say, for the token limit: weighted prompts may run to
     * {@link JobRules#WEIGHTED_CHUNKS} chunks.
     */
    public JobParser withPromptSyntax(PromptMode value) {
        return new JobParser(limited, clock, ids, model.withPromptSyntax(value));
    }

    /**
     * The model's width, height and steps for a job that gives none, for the rules that depend on
     * them (the pixel limit, the run's length).
     */
    public JobParser withDefaults(ModelDefaults value) {
        return new JobParser(limited, clock, ids, model.withDefaults(value));
    }

    /** The job in {@code json} (UTF-8, UTF-16 or UTF-32), or why it is not acceptable. */
    public Validated<Job> parse(byte[] json) {
        Validated<JsonNode> tree = read(json);
        return tree instanceof Validated.Valid<JsonNode> valid ? parse(valid.value())
                : new Validated.Invalid<>(((Validated.Invalid<JsonNode>) tree).rejection());
    }

    /**
     * The bytes as one JSON value, with the parser's strictness (no duplicate keys, nothing
     * trailing) and bounds; the first half of {@link #parse(byte[])}, for a caller that must look
     * at the tree (the job's model) before it is judged.
     */
    public Validated<JsonNode> read(byte[] json) {
        JsonNode tree;
        try {
            tree = mapper.readTree(json);
        } catch (JsonProcessingException e) {
            return reject(Optional.empty(), List.of(new Violation("$", "is not valid JSON: " + e.getOriginalMessage()
                    + at(e.getLocation()), "one JSON object (RFC 8259), no duplicate keys")));
        } catch (IOException e) {
            // No I/O happens here, but not every decoding error is a JsonProcessingException: an
            // invalid UTF-32 character is a CharConversionException (found by JobParserFuzzTest).
            return reject(Optional.empty(), List.of(new Violation("$", "is not valid JSON: " + e.getMessage(),
                    "one JSON object (RFC 8259), no duplicate keys")));
        }
        if (tree == null || tree.isMissingNode()) {
            return reject(Optional.empty(), List.of(new Violation("$", "is empty", "one JSON object (RFC 8259)")));
        }
        return new Validated.Valid<>(tree);
    }

    /**
     * A {@code rewrite} the engine would refuse whatever the model (a context template with two
     * {@code {}}, or one glued to a word): refused here, naming the job's field, before the job is
     * queued, and not only when a worker builds the edit.
     */
    private static Optional<Violation> editViolation(Job job) {
        try {
            job.rewrite().ifPresent(Job.Rewrite::toEngine);
            return Optional.empty();
        } catch (dev.easel.engine.pipeline.InvalidRequestException e) {
            return Optional.of(new Violation(Job.Rewrite.jobField(e.field()), e.problem(), "an edit the engine can make"));
        }
    }

    /** The job in a tree from {@link #read}, or why it is not acceptable; fills in the tree's defaults. */
    public Validated<Job> parse(JsonNode tree) {
        Optional<String> overflow = infiniteNumber(tree, "$");
        if (overflow.isPresent()) {
            return reject(Optional.empty(), List.of(new Violation(overflow.get(),
                    "is a number beyond the range of a 64-bit float", "a finite number (within ±1.8e308)")));
        }
        List<Violation> violations = new ArrayList<>(JobSchema.get().validate(tree));
        if (!(tree instanceof ObjectNode job)) {
            return reject(Optional.empty(), violations);
        }
        Set<String> flagged = violations.stream().map(Violation::field).collect(Collectors.toSet());
        JobSchema.get().applyDefaults(job);
        violations.addAll(new JobRules(limits, clock, model).check(job, flagged));
        Optional<String> id = flagged.contains("id") ? Optional.empty()
                : Optional.ofNullable(job.get("id")).filter(JsonNode::isTextual).map(JsonNode::asText);
        if (!violations.isEmpty()) {
            return reject(id, violations);
        }
        if (id.isEmpty()) {
            job.set("id", TextNode.valueOf(ids.get()));
        }
        try {
            Job parsed = mapper.treeToValue(job, Job.class);
            Optional<Violation> edit = editViolation(parsed);
            return edit.isPresent() ? reject(id, List.of(edit.get())) : new Validated.Valid<>(parsed);
        } catch (JsonProcessingException e) {
            if (numberOutOfRange(e)) {
                // A whole number that no schema bound stops and the Job record cannot hold, e.g. an
                // atSteps entry of 2^80 (found by JobParserFuzzTest): bad input, not a disagreement.
                return reject(id, List.of(new Violation(field(e), "is a number out of range: " + e.getOriginalMessage(),
                        "a whole number the field can hold (an int: within ±2147483647)")));
            }
            if (e instanceof UnrecognizedPropertyException) {
                // The validator lets through members whose names start with '#' despite
                // additionalProperties: false (found by JobParserFuzzTest).
                return reject(id, List.of(new Violation(field(e), "is not a field of job version 1",
                        "the fields of docs/job-contract.md")));
            }
            throw new IllegalStateException("job passed the job-v1 schema but does not map to Job: the schema and "
                    + "the Job record disagree", e);
        }
    }

    /** The job as contract JSON (defaults included), e.g. to forward an HTTP submission to Kafka. */
    public byte[] toJson(Job job) {
        try {
            return mapper.writeValueAsBytes(job);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise job " + job.id(), e);
        }
    }

    /**
     * The SHA-256 (hex) of the job's contract JSON: equal for the same job, whatever its spacing,
     * field order or the defaults it left out, so a second submission of one id can be
     * told from a different job under that id.
     */
    public String digest(Job job) {
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(toJson(job));
            return java.util.HexFormat.of().formatHex(hash);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /**
     * Where the tree holds a number that overflowed to infinity when read (1e999): the schema
     * validator would throw on it (found by JobParserFuzzTest).
     */
    private static Optional<String> infiniteNumber(JsonNode node, String at) {
        if (node.isDouble() || node.isFloat()) {
            return Double.isFinite(node.doubleValue()) ? Optional.empty() : Optional.of(at);
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                Optional<String> found = infiniteNumber(node.get(i), (at.equals("$") ? "" : at) + "[" + i + "]");
                if (found.isPresent()) {
                    return found;
                }
            }
        } else if (node.isObject()) {
            for (var fields = node.fields(); fields.hasNext(); ) {
                var field = fields.next();
                Optional<String> found = infiniteNumber(field.getValue(), JobSchema.child(at, field.getKey()));
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    private static boolean numberOutOfRange(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InputCoercionException) {
                return true;
            }
        }
        return false;
    }

    /** The field a mapping failure is about, named as the violations name fields (verifier.atSteps[0]). */
    private static String field(JsonProcessingException e) {
        String at = "$";
        if (e instanceof JsonMappingException mapping) {
            for (JsonMappingException.Reference step : mapping.getPath()) {
                at = step.getFieldName() != null ? JobSchema.child(at, step.getFieldName())
                        : (at.equals("$") ? "" : at) + "[" + step.getIndex() + "]";
            }
        }
        return at;
    }

    private static <T> Validated<T> reject(Optional<String> id, List<Violation> violations) {
        return new Validated.Invalid<>(new JobRejection(id, violations));
    }

    private static String at(JsonLocation location) {
        return location == null || location.getLineNr() < 0 ? ""
                : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    private static ObjectMapper mapper(JobLimits limits) {
        // An inline PNG of the largest allowed size must fit in one JSON string.
        long dataUriChars = ImageReference.DATA_URI_PREFIX.length() + (limits.maxInputImageBytes() + 2) / 3 * 4;
        int maxString = (int) Math.min(Integer.MAX_VALUE,
                Math.max(StreamReadConstraints.DEFAULT_MAX_STRING_LEN, dataUriChars));
        JsonMapper mapper = JsonMapper.builder()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .addModule(new Jdk8Module())
                .addModule(new JavaTimeModule())
                .build();
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxStringLength(maxString).build());
        return mapper;
    }
}
