package dev.easel.contract;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.easel.engine.pipeline.ClipLimits;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.tokenizer.PromptMode;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * The checks the schema cannot express: the deployment's {@link JobLimits}, rules between fields,
 * the clock, and prompt length in tokens. Runs on the JSON tree after schema validation and skips
 * fields the schema already rejected, so each problem is reported once.
 */
final class JobRules {

    /** RFC 3339 allows lower-case 't' and 'z'; java.time's ISO parser does not without this. */
    private static final DateTimeFormatter RFC_3339 = new DateTimeFormatterBuilder()
            .parseCaseInsensitive().append(DateTimeFormatter.ISO_OFFSET_DATE_TIME).toFormatter();

    private final JobLimits limits;
    private final Clock clock;
    private final JobParser.ModelFacts model;

    JobRules(JobLimits limits, Clock clock, JobParser.ModelFacts model) {
        this.limits = limits;
        this.clock = clock;
        this.model = model;
    }

    /** The run's steps: the job's, else its model's default, when the model is known. */
    private Optional<BigDecimal> steps(Checks c) {
        if (c.job.has("steps")) {
            return c.number("steps");
        }
        return model.defaults().map(d -> BigDecimal.valueOf(d.steps()));
    }

    /**
     * A side of the picture: the job's; else an initImage's, when its header is inline; else, with
     * no initImage, the model's default when the model is known.
     */
    private Optional<BigDecimal> side(Checks c, String field) {
        int index = field.equals("width") ? 0 : 1;
        if (c.job.has(field)) {
            return c.number(field);
        }
        if (c.job.has("initImage")) {
            return inlineSize(c, "initImage", false).map(size -> BigDecimal.valueOf(size[index]));
        }
        return model.defaults().map(d -> BigDecimal.valueOf(index == 0 ? d.width() : d.height()));
    }

    /** A field's value as an int, where it is one (a side past int's range is refused by its own limit). */
    private static Optional<Integer> intValue(Checks c, String field) {
        return c.number(field).filter(v -> v.signum() >= 0 && v.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) <= 0)
                .map(BigDecimal::intValue);
    }

    /**
     * An inline image's [width, height], read from its PNG header; with {@code report}, a header that
     * is no PNG's is a violation. Empty for a stored image (read when the job runs) or a bad field.
     */
    private Optional<int[]> inlineSize(Checks c, String field, boolean report) {
        Optional<String> text = c.text(field).filter(t -> t.startsWith(ImageReference.DATA_URI_PREFIX));
        // Refused already (too big): its payload stays undecoded, even its header.
        if (text.isEmpty() || c.violations.stream().anyMatch(v -> v.field().equals(field))) {
            return Optional.empty();
        }
        Validated<Optional<int[]>> size = ImageInputs.inlineSize(field, (ImageReference.DataUri) ImageReference.parse(text.get()),
                limits.pngLimits());
        if (size instanceof Validated.Invalid<Optional<int[]>> invalid) {
            if (report) {
                c.violations.addAll(invalid.rejection().violations());
            }
            return Optional.empty();
        }
        return ((Validated.Valid<Optional<int[]>>) size).value();
    }

    /**
     * Checks a job whose schema defaults are filled in; rewrites {@code deadline} to the canonical
     * UTC form Jackson reads.
     *
     * @param flagged fields the schema rejected
     */
    List<Violation> check(ObjectNode job, Set<String> flagged) {
        Checks c = new Checks(job, flagged);
        c.text("id").filter(id -> id.length() > limits.maxIdLength()).ifPresent(id -> c.add("id",
                "must be at most " + limits.maxIdLength() + " characters, got " + id.length(),
                "≤ " + limits.maxIdLength() + " characters"));
        c.atMost("width", limits.maxWidth());
        c.atMost("height", limits.maxHeight());
        // A side the job leaves out is its model's: 1216 wide on a 1024 × 1024 model is 1216 × 1024.
        side(c, "width").ifPresent(w -> side(c, "height").ifPresent(h -> {
            BigDecimal pixels = w.multiply(h);
            if (pixels.compareTo(BigDecimal.valueOf(limits.maxPixels())) > 0) {
                boolean both = c.job.has("width") && c.job.has("height");
                boolean fromImage = !both && c.job.has("initImage");
                String field = c.job.has("width") ? "width" : c.job.has("height") ? "height" : fromImage ? "initImage"
                        : "width";
                c.add(field, "width × height = " + w + " × " + h + " = " + pixels.toPlainString() + " pixels is too many"
                        + (both ? "" : fromImage ? " (initImage's size stands for the side the job leaves out)"
                                : " (the side left out is the model's default)"), "≤ " + limits.maxPixels() + " pixels");
            }
        }));
        c.atMost("steps", limits.maxSteps());
        c.atMost("numImages", limits.maxImages());
        c.atMost("guidanceScale", limits.maxGuidance());
        images(c);
        c.present("metadata").ifPresent(metadata -> {
            int bytes = metadata.toString().getBytes(StandardCharsets.UTF_8).length;
            if (bytes > limits.maxMetadataBytes()) {
                c.add("metadata", "is " + bytes + " bytes as compact JSON", "≤ " + limits.maxMetadataBytes() + " bytes");
            }
        });
        c.text("deadline").ifPresent(text -> deadline(c, job, text));
        c.text("webhook.url").ifPresent(url -> webhookUrl(c, url));
        clip(c);
        // A preview after every n-th step: n past the run's steps would ask for previews and get none.
        c.number("previews.every").ifPresent(every -> steps(c).filter(steps -> every.compareTo(steps) > 0)
                .ifPresent(steps -> c.add("previews.every", "is " + every + " but the run takes " + steps + " steps",
                        "≤ steps (" + steps + ")")));
        // The schema bounds each list; an edit needs something to change (preserve only constrains one).
        c.present("rewrite").filter(r -> !r.has("replace") && !r.has("erase") && !c.flagged.contains("rewrite"))
                .ifPresent(r -> c.add("rewrite", "has neither replace nor erase", "at least one of replace, erase"));
        rewriteSize(c);
        loras(c);
        refiner(c);
        for (String field : TEXT_FIELDS) {
            c.text(field).ifPresent(text -> controlCharacters(c, field, text));
        }
        model.tokenCounter().ifPresent(counter -> {
            tokens(c, "prompt", counter);
            tokens(c, "negativePrompt", counter);
            rewriteConcepts(c, counter);
        });
        model.chunking().ifPresent(chunking -> chunks(c, chunking));
        model.schedule().ifPresent(rule -> schedule(c, rule));
        return c.violations;
    }

    /**
     * {@code rewrite}: every concept is encoded and edited in every context, so the work (text
     * encoder runs, and rows of the closed-form edit, up to 76 each) grows with contexts × concepts;
     * the schema bounds each list alone, this their product.
     */
    private void rewriteSize(Checks c) {
        JsonNode rewrite = c.job.get("rewrite");
        if (rewrite == null || !rewrite.isObject() || c.flagged.stream().anyMatch(f -> f.startsWith("rewrite"))) {
            return;
        }
        int contexts = Math.max(1, rewrite.path("contexts").size());
        int concepts = rewrite.path("replace").size() + rewrite.path("erase").size() + rewrite.path("preserve").size();
        if ((long) contexts * concepts > MAX_REWRITE_ENCODINGS) {
            c.add("rewrite", contexts + " contexts × " + concepts + " concepts (replace, erase and preserve) = "
                    + contexts * concepts + " concepts in context, each encoded and edited",
                    "≤ " + MAX_REWRITE_ENCODINGS + " concepts in context per job");
        }
    }

    /**
     * {@code loras}: each adapter once, and not with {@code rewrite} (both patch the UNet from its
     * file; the engine cannot stack them). The schema bounds the count, names and scales.
     */
    private void loras(Checks c) {
        JsonNode loras = c.job.get("loras");
        if (loras == null || !loras.isArray() || c.flagged.stream().anyMatch(f -> f.startsWith("loras"))) {
            return;
        }
        if (c.job.has("rewrite")) {
            c.add("loras", "cannot be combined with rewrite in one job", "either rewrite or loras");
        }
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < loras.size(); i++) {
            String name = loras.get(i).path("name").asText();
            int first = seen.indexOf(name);
            if (first >= 0) {
                c.add(Job.Lora.nameField(i), "repeats loras[" + first + "].name \"" + name + "\"",
                        "each adapter once (add the scales instead)");
            }
            seen.add(name);
        }
    }

    /**
     * What a refiner cannot go with, as the engine refuses it (RequestValidator), known from the
     * job alone: the refiner takes over the base's latents after switchAt, so inpainting's mask and
     * the steering that runs inside the base's loop (verifier, clipGuidanceScale) have no place.
     */
    private void refiner(Checks c) {
        if (c.present("refiner").isEmpty()) {
            return;
        }
        c.present("mask").ifPresent(m -> c.add("refiner", "is set with a mask", "not for inpainting"));
        for (String field : List.of("verifier", "clipGuidanceScale")) {
            c.present(field).ifPresent(v -> c.add("refiner", "is set with " + field + ", which steers the base's loop"
                    + " only", "without verifier and clipGuidanceScale"));
        }
    }

    private void images(Checks c) {
        dataUriSize(c, "initImage");
        dataUriSize(c, "mask");
        boolean init = c.job.has("initImage");
        if (!init) {
            c.present("strength").ifPresent(s -> c.add("strength", "is set but there is no initImage",
                    "only with initImage"));
            c.present("mask").ifPresent(m -> c.add("mask", "is set but there is no initImage", "only with initImage"));
            return;
        }
        vaeEncoder(c);
        // Inline images' sizes are in their headers: the rules the job would meet when it runs, now.
        Optional<int[]> initSize = inlineSize(c, "initImage", true);
        Optional<int[]> maskSize = inlineSize(c, "mask", true);
        // A side the job states but that broke its own rule has its violation; judged as left out, it
        // would read as a job that leaves its size to the image.
        boolean sidesUsable = (!c.job.has("width") || intValue(c, "width").isPresent())
                && (!c.job.has("height") || intValue(c, "height").isPresent());
        if (sidesUsable) {
            c.violations.addAll(ImageInputs.sizeRules(new ImageInputs.Sizes(intValue(c, "width"), intValue(c, "height"),
                    initSize, maskSize)));
        }
        if (c.flagged.contains("strength")) {
            return;
        }
        steps(c).ifPresent(steps -> {
            BigDecimal strength = c.number("strength").orElse(BigDecimal.valueOf(Job.DEFAULT_STRENGTH));
            // The engine runs floor(steps × strength) steps of the schedule; zero would return the input unchanged.
            if (strength.signum() > 0 && steps.multiply(strength).compareTo(BigDecimal.ONE) < 0) {
                c.add("strength", "strength " + strength + " × " + steps + " steps leaves no denoising step",
                        "strength × steps ≥ 1");
            }
        });
    }

    /** The CLIP options: the deployment's limits, the fields they need, and a model that has CLIP. */
    private void clip(Checks c) {
        ClipLimits clip = limits.clip();
        c.atMost("rerank.candidates", clip.maxRerankCandidates());
        c.number("rerank.candidates").ifPresent(n -> c.number("numImages").filter(images -> n.compareTo(images) < 0)
                .ifPresent(images -> c.add("rerank.candidates", "is " + n + ", fewer than numImages " + images,
                        "≥ numImages")));
        c.atMost("clipGuidanceScale", clip.maxGuidanceScale());
        c.present("verifier").ifPresent(v -> verifier(c, v, clip));
        c.present("edit").filter(edit -> c.flagged.stream().noneMatch(f -> f.startsWith("edit."))).ifPresent(edit -> {
            if (!c.job.has("initImage")) {
                c.add("edit", "is set but there is no initImage", "only with initImage");
            }
            if (!c.job.has("rerank") && !c.job.has("verifier")) {
                c.add("edit", "selects images along target − source but neither rerank nor verifier is set",
                        "with rerank or verifier");
            }
            if (edit.path("source").asText().equals(edit.path("target").asText())) {
                c.add("edit.target", "equals edit.source", "a different text");
            }
        });
        model.parts().ifPresent(parts -> {
            String name = "model \"" + c.job.path("model").asText() + "\"";
            if (!parts.clip()) {
                for (String field : CLIP_FIELDS) {
                    c.present(field).filter(v -> !field.equals("clipScore") || v.asBoolean())
                            .ifPresent(v -> c.add(field, "needs a model with CLIP; " + name + " has none",
                                    "a model with a CLIP model (clip/ folder or easel.models.<name>.clip)"));
                }
            } else if (!parts.clipGuidance()) {
                c.present("clipGuidanceScale").ifPresent(v -> c.add("clipGuidanceScale", "needs the CLIP guidance"
                        + " graph; " + name + " has none", "a model with clip_guidance/model.onnx (docs/clip.md)"));
            }
        });
    }

    /** An initImage needs the model's VAE encoder: refused here rather than by the engine after queueing. */
    private void vaeEncoder(Checks c) {
        model.parts().filter(parts -> !parts.vaeEncoder()).flatMap(parts -> c.present("initImage"))
                .ifPresent(v -> c.add("initImage", "needs a VAE encoder; model \"" + c.job.path("model").asText()
                        + "\" has none", "a model with vae_encoder/model.onnx (image-to-image, inpainting)"));
    }

    /**
     * Most concepts in context in one job's {@code rewrite} (contexts × (replace + erase +
     * preserve)): 64 keeps one edit's build to seconds on an SD-1.5-sized model; a bigger edit
     * belongs in a named model variant, built once at start-up.
     */
    public static final int MAX_REWRITE_ENCODINGS = 64;

    /** Texts that end up in the images' PNG text chunks, where a control character cannot go. */
    static final List<String> TEXT_FIELDS = List.of("prompt", "negativePrompt", "edit.source", "edit.target");

    /**
     * Control characters other than tab and line breaks: PNG text cannot hold NUL, and none of them
     * means anything to a tokenizer. Refused here, before any work, rather than after generation.
     */
    private static void controlCharacters(Checks c, String field, String text) {
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (Character.getType(ch) == Character.CONTROL && ch != '\t' && ch != '\n' && ch != '\r') {
                c.add(field, "contains the control character U+" + String.format("%04X", (int) ch) + " at index " + i,
                        "no control characters other than tab, line feed and carriage return");
                return;
            }
        }
    }

    /** The CLIP fields of the contract. */
    static final List<String> CLIP_FIELDS = List.of("clipScore", "rerank", "verifier", "clipGuidanceScale", "edit");

    private void verifier(Checks c, JsonNode verifier, ClipLimits clip) {
        boolean every = verifier.has("every");
        boolean at = verifier.has("atSteps");
        if (every == at) {
            c.add("verifier", every ? "has both every and atSteps" : "has neither every nor atSteps",
                    "exactly one of every, atSteps");
            return;
        }
        if (c.job.has("mask")) {
            c.add("verifier", "is set with a mask", "not for inpainting");
        }
        Optional<BigDecimal> steps = steps(c);
        if (steps.isEmpty() || c.flagged.contains("strength") || c.number("verifier.branches").isEmpty()) {
            return;
        }
        // The run takes floor(steps × strength) steps with an initImage, as the engine counts them.
        BigDecimal strength = c.job.has("initImage")
                ? c.number("strength").orElse(BigDecimal.valueOf(Job.DEFAULT_STRENGTH)) : BigDecimal.ONE;
        long total = steps.get().multiply(strength).longValue();
        long points;
        if (every) {
            long n = verifier.path("every").asLong();
            points = n >= 1 ? (total - 1) / n : 0;
        } else {
            points = 0;
            for (JsonNode s : verifier.path("atSteps")) {
                if (s.asLong() >= total) {
                    c.add("verifier.atSteps", "holds step " + s.asLong() + " but the run takes " + total + " steps",
                            "each 1 … " + (total - 1) + " (the last step cannot branch)");
                    return;
                }
                points++;
            }
        }
        if (points == 0) {
            c.add("verifier", "selects no step of the run's " + total + " steps to branch after",
                    "at least one step before the last");
            return;
        }
        long evaluations = points * c.number("verifier.branches").get().longValue();
        if (evaluations > clip.maxVerifierEvaluations()) {
            c.add("verifier", points + " branch points × " + c.number("verifier.branches").get() + " branches = "
                    + evaluations + " candidate evaluations per image", "≤ " + clip.maxVerifierEvaluations());
        }
    }

    private void dataUriSize(Checks c, String field) {
        c.text(field).filter(uri -> uri.startsWith(ImageReference.DATA_URI_PREFIX))
                .map(uri -> (ImageReference.DataUri) ImageReference.parse(uri))
                .flatMap(data -> ImageInputs.sizeViolation(field, data, limits))
                .ifPresent(c.violations::add);
    }

    private void deadline(Checks c, ObjectNode job, String text) {
        Instant deadline;
        try {
            deadline = OffsetDateTime.parse(text, RFC_3339).toInstant();
        } catch (DateTimeParseException e) {
            // The schema's date-time check admits leap seconds (23:59:60), which java.time cannot represent.
            c.add("deadline", "must be a date-time without a leap second, got " + JobSchema.quote(job.get("deadline")),
                    "RFC 3339 date-time, seconds 00-59");
            return;
        }
        Instant now = clock.instant();
        if (!deadline.isAfter(now)) {
            c.add("deadline", "is " + deadline + ", not after the time of submission " + now, "in the future");
            return;
        }
        job.set("deadline", TextNode.valueOf(deadline.toString()));
    }

    /** The schema's uri format and pattern admit a few strings java.net.URI refuses; the notifier needs a URI. */
    private static void webhookUrl(Checks c, String url) {
        String problem;
        try {
            URI uri = new URI(url);
            problem = uri.getHost() == null ? "has no host name, got " + JobSchema.quote(TextNode.valueOf(url)) : null;
        } catch (URISyntaxException e) {
            problem = "is not a URI Java can read (" + e.getReason() + ")";
        }
        if (problem != null) {
            c.add("webhook.url", problem, "an absolute http:// or https:// URL with a host");
        }
    }

    private void tokens(Checks c, String field, ToIntFunction<String> counter) {
        boolean weighted = weighted(c);
        if (weighted && model.chunking().isPresent()) {
            // The chunks are the engine's own bound; the raw count would also count "(word:1.2)"'s
            // brackets and weight and refuse prompts the engine runs.
            return;
        }
        c.text(field).ifPresent(text -> {
            int count = counter.applyAsInt(text);
            if (weighted && count > limits.maxPromptTokens() * WEIGHTED_CHUNKS) {
                c.add(field, "is " + count + " tokens (counted on the text as written, weights and brackets included);"
                        + " weighted prompts take at most " + WEIGHTED_CHUNKS + " chunks of " + limits.maxPromptTokens(),
                        "≤ " + limits.maxPromptTokens() * WEIGHTED_CHUNKS + " tokens");
            } else if (!weighted && count > limits.maxPromptTokens()) {
                c.add(field, "is " + count + " tokens; the model reads only the first " + limits.maxPromptTokens()
                        + " (promptSyntax \"weighted\" encodes longer prompts in chunks)",
                        "≤ " + limits.maxPromptTokens() + " tokens");
            }
        });
    }

    /**
     * The run's schedule as the engine sets it up, where the fields it depends on passed their own
     * rules: the job's (or model's) scheduler and steps, and whether the run starts late.
     */
    private void schedule(Checks c, ScheduleRule rule) {
        if (c.violations.stream().anyMatch(v -> List.of("scheduler", "steps", "eta", "strength").contains(v.field()))
                || List.of("scheduler", "steps", "eta", "strength").stream().anyMatch(c.flagged::contains)) {
            return;
        }
        Optional<BigDecimal> steps = steps(c);
        if (steps.isEmpty()) {
            return;
        }
        BigDecimal strength = c.number("strength").orElse(BigDecimal.valueOf(Job.DEFAULT_STRENGTH));
        // As the engine compares it: in float, so 0.999999999 is full strength there and here.
        Optional<String> late = c.job.has("initImage") && strength.floatValue() < 1f
                ? Optional.of("an initImage with strength below 1")
                : c.present("verifier").isPresent() ? Optional.of("a verifier, which restarts from a branch point")
                : Optional.empty();
        rule.check(c.text("scheduler"), steps.get().intValue(), c.number("eta").map(BigDecimal::doubleValue).orElse(0.0),
                late).ifPresent(c.violations::add);
    }

    /**
     * A rewrite's concepts as the engine encodes them (ConceptEncoder): each must be words the
     * tokenizer sees (" " or "\u200b" pass the schema's length but make no token); a replacement's
     * target may be empty (the anchor "").
     */
    private void rewriteConcepts(Checks c, ToIntFunction<String> counter) {
        JsonNode rewrite = c.job.get("rewrite");
        if (rewrite == null || !rewrite.isObject() || c.flagged.stream().anyMatch(f -> f.startsWith("rewrite"))) {
            return;
        }
        List<String[]> concepts = new ArrayList<>();
        for (int i = 0; i < rewrite.path("replace").size(); i++) {
            concepts.add(new String[] {"rewrite.replace[" + i + "].source", rewrite.path("replace").get(i).path("source").asText()});
        }
        for (String list : List.of("erase", "preserve")) {
            for (int i = 0; i < rewrite.path(list).size(); i++) {
                concepts.add(new String[] {"rewrite." + list + "[" + i + "]", rewrite.path(list).get(i).asText()});
            }
        }
        for (String[] concept : concepts) {
            if (counter.applyAsInt(concept[1]) == 0) {
                c.add(concept[0], "\"" + concept[1] + "\" has no tokens", "a concept in words");
            }
        }
    }

    /**
     * A weighted prompt's chunks, tokens and weights, as the engine reads them (BREAK starts a chunk
     * whatever the tokens; weights and brackets are no tokens); the negative prompt only where it is
     * encoded (guidance above 1). The UNet's fixed text sequence is judged on the longer of the two,
     * as the engine pads both to it. Not where a field is already refused.
     */
    private void chunks(Checks c, PromptChunking chunking) {
        boolean weighted = weighted(c);
        if (!weighted) {
            return;
        }
        int longest = 0;
        String longestField = "prompt";
        for (String field : guided(c) ? List.of("prompt", "negativePrompt") : List.of("prompt")) {
            Optional<String> text = c.text(field);
            if (text.isEmpty() || c.violations.stream().anyMatch(v -> v.field().equals(field))) {
                continue;
            }
            PromptChunking.Chunked read = chunking.read().apply(text.get());
            float w = read.extreme();
            int tokens = limits.maxPromptTokens() * WEIGHTED_CHUNKS;
            if (!Float.isFinite(w) || Math.abs(w) > GenerationLimits.MAX_PROMPT_WEIGHT) {
                c.add(field, "has an attention weight " + (Float.isFinite(w) ? "of " + w : "that is not a finite number"),
                        "weights finite and within ±" + GenerationLimits.MAX_PROMPT_WEIGHT + ", e.g. (word:1.3)");
            } else if (read.count() > WEIGHTED_CHUNKS) {
                c.add(field, "spans " + read.count() + " chunks (BREAK starts a chunk)", "≤ " + WEIGHTED_CHUNKS + " chunks");
            } else if (read.tokens() > tokens) {
                c.add(field, "is " + read.tokens() + " tokens (weights and brackets not counted); weighted prompts take"
                        + " at most " + WEIGHTED_CHUNKS + " chunks of " + limits.maxPromptTokens(), "≤ " + tokens + " tokens");
            } else if (read.count() > longest) {
                longest = read.count();
                longestField = field;
            }
        }
        if (longest > 1 && !chunking.fits().test(longest)) {
            c.add(longestField, "spans " + longest + " chunks (BREAK starts a chunk), but model \""
                    + c.job.path("model").asText() + "\" takes a fixed text sequence (its UNet's encoder_hidden_states)",
                    "1 chunk");
        }
    }

    /** Whether the job's prompts are read in the weighted syntax: its own promptSyntax, else its model's. */
    private boolean weighted(Checks c) {
        return c.text("promptSyntax").map(PromptMode::of).orElse(model.promptSyntax()) == PromptMode.WEIGHTED;
    }

    /** Whether the negative prompt is encoded: guidance above 1, the job's or its model's (unknown: assumed). */
    private boolean guided(Checks c) {
        Optional<BigDecimal> guidance = c.number("guidanceScale")
                .or(() -> model.defaults().map(d -> new BigDecimal(Float.toString(d.guidanceScale()))));
        return guidance.map(g -> g.compareTo(BigDecimal.ONE) > 0).orElse(true);
    }

    /** How many chunks of maxPromptTokens a weighted prompt may span (AUTOMATIC1111 has no bound; a job does). */
    static final int WEIGHTED_CHUNKS = GenerationLimits.MAX_PROMPT_CHUNKS;

    /** Access to the job's fields that the schema accepted, and the violations found so far. */
    private static final class Checks {
        final ObjectNode job;
        final Set<String> flagged;
        final List<Violation> violations = new ArrayList<>();

        Checks(ObjectNode job, Set<String> flagged) {
            this.job = job;
            this.flagged = flagged;
        }

        void add(String field, String problem, String limit) {
            violations.add(new Violation(field, problem, limit));
        }

        /** The node at a dotted path, unless absent, null or rejected by the schema. */
        Optional<JsonNode> present(String path) {
            if (flagged.contains(path)) {
                return Optional.empty();
            }
            JsonNode node = job;
            for (String name : path.split("\\.")) {
                node = node.path(name);
            }
            return node.isMissingNode() || node.isNull() ? Optional.empty() : Optional.of(node);
        }

        Optional<String> text(String path) {
            return present(path).filter(JsonNode::isTextual).map(JsonNode::asText);
        }

        /** Exact, so 1e30 is compared as 1e30 and not as a saturated int. */
        Optional<BigDecimal> number(String path) {
            return present(path).filter(JsonNode::isNumber).map(JsonNode::decimalValue);
        }

        void atMost(String field, double max) {
            BigDecimal limit = BigDecimal.valueOf(max).stripTrailingZeros();
            number(field).filter(v -> v.compareTo(limit) > 0).ifPresent(v -> add(field,
                    "must be at most " + limit.toPlainString() + ", got " + v, "≤ " + limit.toPlainString()));
        }
    }
}
