package dev.easel.worker;

import dev.easel.config.EngineConfig;
import dev.easel.config.JobLimitsConfig;
import dev.easel.config.LorasConfig;
import dev.easel.config.ModelsConfig;
import dev.easel.config.WorkerConfig;
import dev.easel.contract.JobDefaults;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.engine.tokenizer.PromptMode;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The worker's loaded models, by the names in {@code easel.models.*}. Bundles load once, at
 * startup, on a thread of their own (loading a real bundle takes seconds and must not hold up the
 * event loop or startup); jobs that arrive meanwhile wait for it in {@link #pipeline}. A bundle that
 * fails to load is logged and left out: the worker keeps serving the others. {@link #statuses()}
 * says where each model stands, for the readiness check ({@link ModelsReadiness}) and the metrics.
 */
@ApplicationScoped
public class ModelRegistry {

    private static final Logger LOG = Logger.getLogger(ModelRegistry.class);

    private final Map<String, Path> bundles;
    /** Configured CLIP directories; a model without one uses its bundle's clip/ folder, if any. */
    private final Map<String, Path> clips;
    /** Configured prompt syntax per model; a model without one reads plain prompts. */
    private final Map<String, PromptMode> syntaxes;
    /** Configured overrides of the bundles' defaults, per model. */
    private final Map<String, ModelsConfig.JobDefaultsConfig> overrides;
    /** Configured variants ({@code easel.models.<name>.base}), built after the bundles load. */
    private final Map<String, Variant> variants = new ConcurrentHashMap<>();
    /** Models rewritten for jobs' rewrite field. */
    private RewrittenModels rewrites;
    /** The adapter files jobs' and variants' loras name. */
    private volatile LoraLibrary loras = LoraLibrary.none();
    private final EngineOptions options;
    private final GenerationLimits limits;
    /** How each model's concurrent jobs share UNet runs. */
    private final UnetBatcher.Settings batching;
    private final CompletableFuture<Map<String, DiffusionPipeline>> loaded = new CompletableFuture<>();
    /**
     * Each configured model's own load (bundle or variant): its pipeline, or empty when it failed. A
     * job waits for its model only, not for a slower one loading after it, and a name this worker
     * does not configure is answered at once.
     */
    private final Map<String, CompletableFuture<Optional<DiffusionPipeline>>> each = new ConcurrentHashMap<>();
    /** Whether each loaded bundle runs once before it counts as loaded ({@code easel.worker.warm-up}). */
    private boolean warmUp;
    private final Map<String, Status> statuses = new ConcurrentHashMap<>();

    /**
     * Where one configured model stands.
     *
     * @param state    loading, loaded or failed
     * @param error    why it failed to load; empty otherwise
     * @param loadTime how long loading took; empty while loading
     */
    public record Status(State state, Optional<String> error, Optional<Duration> loadTime) {

        /** A model's load state. */
        public enum State {
            LOADING, LOADED, FAILED
        }

        static final Status LOADING = new Status(State.LOADING, Optional.empty(), Optional.empty());

        static Status loaded(Duration took) {
            return new Status(State.LOADED, Optional.empty(), Optional.of(took));
        }

        static Status failed(String error, Duration took) {
            return new Status(State.FAILED, Optional.of(error), Optional.of(took));
        }

        /** One line for a health report: {@code loaded in 812 ms}, {@code loading}, {@code failed: ...}. */
        public String describe() {
            return switch (state) {
                case LOADING -> "loading";
                case LOADED -> "loaded in " + loadTime.orElseThrow().toMillis() + " ms";
                case FAILED -> "failed: " + error.orElseThrow();
            };
        }
    }

    /**
     * A configured variant: its base model's name and either the edit of the base's UNet or LoRA
     * adapters (name → scale, applied in name order), the other empty.
     */
    public record Variant(String base, Rewrite rewrite, Map<String, Double> loras) {

        public Variant {
            loras = java.util.Collections.unmodifiableMap(new TreeMap<>(loras));
        }

        /** A rewrite variant. */
        public Variant(String base, Rewrite rewrite) {
            this(base, rewrite, Map.of());
        }
    }

    @Inject
    ModelRegistry(ModelsConfig models, EngineConfig engine, JobLimitsConfig limits, WorkerConfig worker) {
        this(paths(models), clips(models), engine.toEngineOptions(worker.concurrency()),
                limits.toJobLimits().generationLimits(),
                batching(worker));
        variants(models).forEach(this::addVariant);
        this.rewrites = new RewrittenModels(worker.rewrites().maxCached(), this.limits, this.batching);
        this.warmUp = worker.warmUp();
        models.models().forEach((name, model) -> overrides.put(name, model.defaults()));
        models.models().forEach((name, model) -> model.promptSyntax().ifPresent(value -> {
            try {
                syntaxes.put(name, PromptMode.of(value));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("easel.models." + name + ".prompt-syntax: " + e.getMessage(), e);
            }
        }));
    }

    ModelRegistry(Map<String, Path> bundles, Map<String, Path> clips, EngineOptions options, GenerationLimits limits) {
        this(bundles, clips, options, limits, UnetBatcher.Settings.OFF);
    }

    /** Whether loaded models run once before they count as loaded (tests; the worker: {@code easel.worker.warm-up}). */
    ModelRegistry warmingUp(boolean value) {
        this.warmUp = value;
        return this;
    }

    /** {@code easel.models.<name>.defaults.*} for a model (tests; the worker: from its configuration). */
    ModelRegistry withDefaults(String name, ModelsConfig.JobDefaultsConfig configured) {
        overrides.put(name, configured);
        return this;
    }

    ModelRegistry(Map<String, Path> bundles, Map<String, Path> clips, EngineOptions options, GenerationLimits limits,
                  UnetBatcher.Settings batching) {
        this.batching = batching;
        this.bundles = Map.copyOf(bundles);
        this.clips = Map.copyOf(clips);
        this.syntaxes = new ConcurrentHashMap<>();
        this.overrides = new ConcurrentHashMap<>();
        this.options = options;
        this.limits = limits;
        this.bundles.keySet().forEach(name -> statuses.put(name, Status.LOADING));
        this.bundles.keySet().forEach(name -> each.put(name, new CompletableFuture<>()));
        this.rewrites = new RewrittenModels(DEFAULT_MAX_REWRITES, limits, batching);
    }

    /** easel.worker.rewrites.max-cached's default, for the registries tests build. */
    static final int DEFAULT_MAX_REWRITES = 4;

    /** The model's variant configuration, when it is a configured variant. */
    public Optional<Variant> variant(String name) {
        return Optional.ofNullable(variants.get(name));
    }

    /** Models rewritten for jobs: a cache over this registry's models. */
    RewrittenModels rewrites() {
        return rewrites;
    }

    /** Replaces the cache of rewritten models (tests: another size); before any job runs. */
    void rewrites(RewrittenModels cache) {
        cache.loras(loras);
        this.rewrites = cache;
    }

    /** {@code easel.loras.*}, injected after construction (the constructor has its four configurations). */
    @Inject
    void adapters(LorasConfig config) {
        useLoras(new LoraLibrary(config.dir()));
    }

    /** Where LoRA names are looked up; before {@link #loadAll} and any job. */
    void useLoras(LoraLibrary library) {
        this.loras = library;
        rewrites.loras(library);
    }

    /** The adapter files jobs may name. */
    LoraLibrary loras() {
        return loras;
    }

    /** Adds a variant to build in {@link #loadAll}; call before it. */
    void addVariant(String name, Variant variant) {
        if (bundles.containsKey(name)) {
            throw new IllegalArgumentException("easel.models." + name + ": is both a bundle and a variant");
        }
        variants.put(name, variant);
        statuses.put(name, Status.LOADING);
        each.put(name, new CompletableFuture<>());
    }

    /** A registry over models already loaded: for tests of the code that uses it. */
    static ModelRegistry of(Map<String, DiffusionPipeline> pipelines) {
        return of(pipelines, Map.of());
    }

    /** As above, with models that failed to load ({@code failed}: why, by name). */
    static ModelRegistry of(Map<String, DiffusionPipeline> pipelines, Map<String, String> failed) {
        ModelRegistry registry = new ModelRegistry(Map.of(), Map.of(), EngineOptions.cpu(),
                GenerationLimits.defaults());
        pipelines.keySet().forEach(name -> registry.statuses.put(name, Status.loaded(Duration.ZERO)));
        failed.forEach((name, why) -> registry.statuses.put(name, Status.failed(why, Duration.ZERO)));
        pipelines.forEach((name, p) -> registry.each.put(name, CompletableFuture.completedFuture(Optional.of(p))));
        failed.keySet().forEach(name -> registry.each.put(name, CompletableFuture.completedFuture(Optional.empty())));
        registry.loaded.complete(Map.copyOf(pipelines));
        return registry;
    }

    /**
     * First among startup observers (before the messaging channels and the HTTP server are set up):
     * the load is what readiness waits for, so it starts as early as it can.
     */
    void onStart(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent event) {
        Thread loader = new Thread(this::loadAll, "easel-model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    /**
     * After the running jobs have drained: closing a session under a running job crashes the JVM in
     * native code. A job still busy past the drain's cut-off wait (decoding many large candidates,
     * building a rewritten model) keeps the models open: the process is exiting anyway.
     */
    void onStop(@Observes @Priority(WorkerLifecycle.AFTER_DRAIN_PRIORITY) ShutdownEvent event, WorkerLifecycle lifecycle) {
        int running = lifecycle.runningJobs();
        if (running > 0) {
            LOG.warnf("%d job(s) still running at shutdown: the models are left open, not closed under them", running);
            return;
        }
        // Variants first: a variant's model borrows its base's sessions (StableDiffusionModel#rewritten).
        loaded.thenAccept(pipelines -> {
            rewrites.closeAll();
            pipelines.forEach((name, p) -> {
                if (variants.containsKey(name)) {
                    p.model().close();
                }
            });
            pipelines.forEach((name, p) -> {
                if (!variants.containsKey(name)) {
                    p.model().close();
                }
            });
        });
    }

    /** Loads every configured bundle, once; the startup observer runs it on its own thread. */
    void loadAll() {
        Map<String, DiffusionPipeline> pipelines = new TreeMap<>();
        try {
            loadEach(pipelines);
        } finally {
            // Whatever escaped: jobs wait on these, and would wait for ever.
            each.forEach((name, f) -> f.complete(Optional.ofNullable(pipelines.get(name))));
            loaded.complete(Map.copyOf(pipelines));
        }
    }

    private void loadEach(Map<String, DiffusionPipeline> pipelines) {
        for (Map.Entry<String, Path> bundle : new TreeMap<>(bundles).entrySet()) {
            String name = bundle.getKey();
            long start = System.nanoTime();
            StableDiffusionModel model = null; // loaded, and not yet the pipelines': closed if what follows fails
            try {
                Optional<Path> clip = Optional.ofNullable(clips.get(name)).or(() -> ClipLayout.inBundle(bundle.getValue()));
                model = StableDiffusionModel.load(name, bundle.getValue(), clip, options);
                DiffusionPipeline pipeline = new DiffusionPipeline(model, limits, batching);
                if (warmUp) {
                    warmUp(name, pipeline, defaults(pipeline).model());
                }
                pipelines.put(name, pipeline);
                model = null;
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                statuses.put(name, Status.loaded(took));
                LOG.infof("model %s loaded from %s%s in %d ms", name, bundle.getValue(),
                        clip.map(dir -> " with CLIP from " + dir).orElse(""), took.toMillis());
            } catch (BundleException e) {
                statuses.put(name, Status.failed(e.getMessage(), Duration.ofNanos(System.nanoTime() - start)));
                LOG.errorf("model %s is unavailable: %s", name, e.getMessage());
            } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
                // ONNX Runtime errors, a native library that will not link (a GPU build on a node
                // without CUDA), a model too big for the memory left (direct buffers of patched
                // weights): still only this model's problem, and loading must finish, or jobs and the
                // readiness check would wait for it for ever.
                statuses.put(name, Status.failed("cannot load " + bundle.getValue() + ": " + e,
                        Duration.ofNanos(System.nanoTime() - start)));
                LOG.errorf(e, "model %s is unavailable: cannot load %s", name, bundle.getValue());
            } finally {
                if (model != null) {
                    model.close(); // its sessions would otherwise hold their memory for the worker's life
                }
                each.get(name).complete(Optional.ofNullable(pipelines.get(name))); // its jobs go on now
            }
        }
        new TreeMap<>(variants).forEach((name, variant) -> {
            try {
                loadVariant(name, variant, pipelines);
            } finally {
                each.get(name).complete(Optional.ofNullable(pipelines.get(name)));
            }
        });
        if (bundles.isEmpty()) {
            LOG.warn("no models configured (easel.models.<name>.path): every job will fail");
        }
    }

    /**
     * One step at the size and guidance a job that leaves them out gets ({@code d}: the bundle's
     * defaults with {@code easel.models.<name>.defaults.*} over them), thrown away: ONNX Runtime's
     * first run of a session at those shapes (arena growth, kernel choice) and the pipeline's cold
     * code are paid here, before readiness, instead of by the first job. A failure only costs the
     * first job that time again.
     */
    static void warmUp(String name, DiffusionPipeline pipeline, ModelDefaults d) {
        long start = System.nanoTime();
        try {
            pipeline.generate(GenerationRequest.builder("warm-up").size(d.width(), d.height()).steps(1)
                    .guidanceScale(d.guidanceScale()).seed(0).build(), ProgressListener.NONE, Cancellation.NONE);
            LOG.infof("model %s warmed up (1 step at %dx%d) in %d ms", name, d.width(), d.height(),
                    (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException e) {
            LOG.warnf(e, "model %s: warm-up run failed (jobs are not affected)", name);
        }
    }

    /** Builds one variant on its loaded base; a missing base or a failed edit fails only this variant. */
    private void loadVariant(String name, Variant variant, Map<String, DiffusionPipeline> pipelines) {
        long start = System.nanoTime();
        DiffusionPipeline base = pipelines.get(variant.base());
        if (base == null || variants.containsKey(variant.base())) {
            String why = variants.containsKey(variant.base()) ? "base " + variant.base() + " is itself a variant"
                    : bundles.containsKey(variant.base()) ? "base " + variant.base() + " failed to load"
                    : "base " + variant.base() + " is not a configured model";
            statuses.put(name, Status.failed(why, Duration.ZERO));
            LOG.errorf("model %s is unavailable: %s", name, why);
            return;
        }
        if (!variant.loras().isEmpty()) {
            loadLoraVariant(name, variant, base, pipelines);
            return;
        }
        try {
            StableDiffusionModel model = base.model().rewritten(variant.rewrite());
            pipelines.put(name, new DiffusionPipeline(model, limits, batching));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            statuses.put(name, Status.loaded(took));
            LOG.infof("model %s built from %s in %d ms", name, variant.base(), took.toMillis());
        } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
            String why = "cannot rewrite " + variant.base() + ": " + (e instanceof InvalidRequestException invalid
                    ? "easel.models." + name + ".rewrite." + rewriteKey(invalid) + ": " + invalid.problem()
                    : e.toString());
            statuses.put(name, Status.failed(why, Duration.ofNanos(System.nanoTime() - start)));
            LOG.errorf(e, "model %s is unavailable: %s", name, why);
        }
    }

    /** Builds a LoRA variant; an adapter that is missing or does not fit fails it naming its key. */
    private void loadLoraVariant(String name, Variant variant, DiffusionPipeline base,
                                 Map<String, DiffusionPipeline> pipelines) {
        long start = System.nanoTime();
        List<String> names = List.copyOf(variant.loras().keySet());
        String why;
        Throwable cause = null;
        try {
            List<dev.easel.engine.pipeline.Lora> adapters = new java.util.ArrayList<>();
            for (String lora : names) {
                adapters.add(loras.lora(lora, variant.loras().get(lora)).orElseThrow(() -> new InvalidRequestException(
                        dev.easel.contract.Job.Lora.nameField(adapters.size()), "no adapter file " + lora
                                + LoraLibrary.EXTENSION + " (" + loras.known() + ")")));
            }
            StableDiffusionModel model = base.model().withLoras(adapters);
            pipelines.put(name, new DiffusionPipeline(model, limits, batching));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            statuses.put(name, Status.loaded(took));
            LOG.infof("model %s built from %s with LoRA %s in %d ms", name, variant.base(), variant.loras(),
                    took.toMillis());
            return;
        } catch (InvalidRequestException e) {
            // The engine names the adapter as loras[i].name, i in name order: the key says it here.
            int index = loraIndex(e.field());
            String key = index >= 0 && index < names.size() ? "easel.models." + name + ".loras." + names.get(index)
                    : "easel.models." + name + ".loras";
            why = "cannot apply LoRA to " + variant.base() + ": " + key + ": " + e.problem();
            cause = e;
        } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
            why = "cannot apply LoRA to " + variant.base() + ": " + e;
            cause = e;
        }
        statuses.put(name, Status.failed(why, Duration.ofNanos(System.nanoTime() - start)));
        LOG.errorf(cause, "model %s is unavailable: %s", name, why);
    }

    /** i of {@code loras[i].name}; -1 for another field. */
    static int loraIndex(String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("loras\\[(\\d+)\\]\\.name").matcher(field);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** Whether loading has finished (whatever became of each bundle). */
    public boolean ready() {
        return loaded.isDone();
    }

    /** Every configured model's status, by name; does not wait. */
    public Map<String, Status> statuses() {
        return new TreeMap<>(statuses);
    }

    /**
     * Why a configured model failed to load, when it did; waits for startup loading. Empty for a
     * model that loaded and for a name this worker does not configure.
     */
    public Optional<String> failure(String name) {
        CompletableFuture<Optional<DiffusionPipeline>> load = each.get(name);
        if (load == null) {
            return Optional.empty();
        }
        load.join();
        Status status = statuses.get(name);
        return status != null && status.state() == Status.State.FAILED ? status.error() : Optional.empty();
    }

    /**
     * The model's pipeline; waits for that model's load only. Empty at once for a name this worker
     * does not configure, and once loaded for a model whose bundle is broken.
     */
    public Optional<DiffusionPipeline> pipeline(String name) {
        CompletableFuture<Optional<DiffusionPipeline>> load = each.get(name);
        return load == null ? Optional.empty() : load.join();
    }

    /** What the model gives the parameters a job leaves out: its bundle's size, steps, guidance; its prompt syntax. */
    public JobDefaults defaults(DiffusionPipeline pipeline) {
        String name = pipeline.model().name();
        ModelsConfig.JobDefaultsConfig configured = overrides.get(name);
        ModelDefaults bundle = pipeline.model().defaults();
        return new JobDefaults(configured == null ? bundle : overridden(bundle, configured),
                syntaxes.getOrDefault(name, PromptMode.PLAIN));
    }

    /** The bundle's defaults with what the configuration sets instead. */
    static ModelDefaults overridden(ModelDefaults bundle, ModelsConfig.JobDefaultsConfig configured) {
        return new ModelDefaults(configured.width().orElse(bundle.width()), configured.height().orElse(bundle.height()),
                configured.steps().orElse(bundle.steps()),
                configured.guidanceScale().map(Double::floatValue).orElse(bundle.guidanceScale()));
    }

    /** The models loaded so far, each as soon as it has. Does not wait. */
    public Map<String, DiffusionPipeline> loadedNow() {
        Map<String, DiffusionPipeline> now = new TreeMap<>();
        each.forEach((name, load) -> load.getNow(Optional.empty()).ifPresent(p -> now.put(name, p)));
        return now;
    }

    /** The names of the models this worker is configured with, loaded or not; does not wait. */
    public Set<String> configured() {
        return new java.util.TreeSet<>(each.keySet());
    }

    /** The names of the models that loaded; waits for startup loading. */
    public Set<String> available() {
        return new java.util.TreeSet<>(loaded.join().keySet());
    }

    /** {@code easel.worker.batch.*} as the engine takes it. */
    static UnetBatcher.Settings batching(WorkerConfig worker) {
        try {
            return new UnetBatcher.Settings(worker.batch().maxJobs(), worker.batch().maxWait());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("easel.worker.batch: " + e.getMessage(), e);
        }
    }

    private static Map<String, Path> clips(ModelsConfig config) {
        Map<String, Path> clips = new TreeMap<>();
        config.models().forEach((name, model) -> model.clip().ifPresent(dir -> clips.put(name, dir)));
        return clips;
    }

    private static Map<String, Path> paths(ModelsConfig config) {
        Map<String, Path> paths = new TreeMap<>();
        config.models().forEach((name, model) -> model.path().ifPresent(path -> paths.put(name, path)));
        return paths;
    }

    /** The configured variants; checks that each model has exactly one of path and base. */
    static Map<String, Variant> variants(ModelsConfig config) {
        Map<String, Variant> variants = new TreeMap<>();
        config.models().forEach((name, model) -> {
            String key = "easel.models." + name;
            if (model.path().isPresent() == model.base().isPresent()) {
                throw new IllegalArgumentException(key + ": set exactly one of " + key + ".path (a bundle) and "
                        + key + ".base (a variant of another model)");
            }
            ModelsConfig.RewriteConfig edit = model.rewrite();
            boolean edits = edit.replace().isPresent() || edit.erase().isPresent() || edit.preserve().isPresent()
                    || edit.lambda().isPresent() || edit.rows().isPresent() || edit.contexts().isPresent()
                    || edit.preserveScale().isPresent() || edit.projections().isPresent()
                    || edit.preserveUnconditional().isPresent();
            Map<String, Double> adapters = model.loras() == null ? Map.of() : model.loras();
            if (model.path().isPresent()) {
                if (edits) {
                    throw new IllegalArgumentException(key + ".rewrite: only a variant (" + key + ".base) has one");
                }
                if (!adapters.isEmpty()) {
                    throw new IllegalArgumentException(key + ".loras: only a variant (" + key + ".base) has them");
                }
                return;
            }
            if (!adapters.isEmpty()) {
                if (edits) {
                    // Both patch the UNet from its file: the second would drop the first.
                    throw new IllegalArgumentException(key + ": set either " + key + ".rewrite.* or " + key
                            + ".loras.*, not both");
                }
                adapters.forEach((lora, scale) -> {
                    if (!LoraLibrary.NAME.matcher(lora).matches()) {
                        throw new IllegalArgumentException(key + ".loras." + lora + ": not an adapter name (1-64"
                                + " characters of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
                    }
                    if (scale == null || !Double.isFinite(scale)) {
                        throw new IllegalArgumentException(key + ".loras." + lora + ": the scale must be a finite"
                                + " number, got " + scale);
                    }
                });
                variants.put(name, new Variant(model.base().orElseThrow(), Rewrite.none(), adapters));
                return;
            }
            variants.put(name, new Variant(model.base().orElseThrow(), rewrite(key + ".rewrite", edit)));
        });
        return variants;
    }

    /** The rewrite key (replace, erase, preserve, lambda, rows, contexts, ...) the engine's field stands for. */
    static String rewriteKey(InvalidRequestException e) {
        switch (e.field()) {
            case "erase":
                return "erase";
            case "preserve":
                return "preserve";
            case "rewrite-lambda":
                return "lambda";
            case "rewrite-rows":
                return "rows";
            case "rewrite-context":
                return "contexts";
            case "preserve-scale":
                return "preserve-scale";
            case "preserve-unconditional":
                return "preserve-unconditional";
            case "rewrite-projections":
                return "projections";
            default:
                return "replace";
        }
    }

    /** {@code easel.models.<name>.rewrite.*} as the engine takes it; errors name the key. */
    static Rewrite rewrite(String key, ModelsConfig.RewriteConfig config) {
        Rewrite rewrite = Rewrite.none();
        for (String pair : config.replace().orElse(List.of())) {
            int eq = pair.indexOf('=');
            if (eq <= 0 || eq == pair.length() - 1) {
                throw new IllegalArgumentException(key + ".replace: '" + pair + "' is not source=target");
            }
            rewrite = rewrite.replace(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        for (String concept : config.erase().orElse(List.of())) {
            rewrite = rewrite.erase(concept.trim());
        }
        for (String concept : config.preserve().orElse(List.of())) {
            rewrite = rewrite.preserve(concept.trim());
        }
        if (rewrite.isEmpty()) {
            throw new IllegalArgumentException(key + ": a variant needs " + key + ".replace or " + key + ".erase"
                    + " (or LoRA adapters instead: easel.models.<name>.loras.<lora>=<scale>)");
        }
        try {
            rewrite = rewrite.withLambda(config.lambda().orElse(Rewrite.DEFAULT_LAMBDA));
        } catch (InvalidRequestException e) {
            throw new IllegalArgumentException(key + ".lambda: " + e.getMessage(), e);
        }
        try {
            if (config.rows().isPresent()) {
                rewrite = rewrite.withRows(Rewrite.Rows.of(config.rows().get().trim()));
            }
            if (config.contexts().isPresent()) {
                rewrite = rewrite.withContexts(config.contexts().get());
            }
            if (config.preserveScale().isPresent()) {
                rewrite = rewrite.withPreserveScale(config.preserveScale().get());
            }
            if (config.preserveUnconditional().isPresent()) {
                rewrite = rewrite.withPreserveUnconditional(config.preserveUnconditional().get());
            }
            if (config.projections().isPresent()) {
                rewrite = rewrite.withProjections(Rewrite.projectionsOf(config.projections().get()));
            }
        } catch (InvalidRequestException e) {
            throw new IllegalArgumentException(key + "." + rewriteKey(e) + ": " + e.problem(), e);
        }
        return rewrite;
    }
}
