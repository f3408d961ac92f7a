package dev.easel.worker;

import dev.easel.config.EngineConfig;
import dev.easel.config.JobLimitsConfig;
import dev.easel.config.ModelsConfig;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/**
 * The worker's loaded models, by the names in {@code easel.models.*}. Bundles load once, at
 * startup, on a thread of their own (loading a real bundle takes seconds and must not hold up the
 * event loop or startup); jobs that arrive meanwhile wait for it in {@link #pipeline}. A bundle that
 * fails to load is logged and left out: the worker keeps serving the others.
 */
@ApplicationScoped
public class ModelRegistry {

    private static final Logger LOG = Logger.getLogger(ModelRegistry.class);

    private final Map<String, Path> bundles;
    /** Configured CLIP directories; a model without one uses its bundle's clip/ folder, if any. */
    private final Map<String, Path> clips;
    private final EngineOptions options;
    private final GenerationLimits limits;
    private final CompletableFuture<Map<String, DiffusionPipeline>> loaded = new CompletableFuture<>();

    @Inject
    ModelRegistry(ModelsConfig models, EngineConfig engine, JobLimitsConfig limits) {
        this(paths(models), clips(models), engine.toEngineOptions(), limits.toJobLimits().generationLimits());
    }

    ModelRegistry(Map<String, Path> bundles, Map<String, Path> clips, EngineOptions options, GenerationLimits limits) {
        this.bundles = Map.copyOf(bundles);
        this.clips = Map.copyOf(clips);
        this.options = options;
        this.limits = limits;
    }

    /** A registry over models already loaded: for tests of the code that uses it. */
    static ModelRegistry of(Map<String, DiffusionPipeline> pipelines) {
        ModelRegistry registry = new ModelRegistry(Map.of(), Map.of(), EngineOptions.cpu(),
                GenerationLimits.defaults());
        registry.loaded.complete(Map.copyOf(pipelines));
        return registry;
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(this::loadAll, "easel-model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        loaded.thenAccept(pipelines -> pipelines.values().forEach(p -> p.model().close()));
    }

    /** Loads every configured bundle, once; the startup observer runs it on its own thread. */
    void loadAll() {
        Map<String, DiffusionPipeline> pipelines = new TreeMap<>();
        for (Map.Entry<String, Path> bundle : new TreeMap<>(bundles).entrySet()) {
            String name = bundle.getKey();
            long start = System.nanoTime();
            try {
                Optional<Path> clip = Optional.ofNullable(clips.get(name)).or(() -> ClipLayout.inBundle(bundle.getValue()));
                StableDiffusionModel model = StableDiffusionModel.load(name, bundle.getValue(), clip, options);
                pipelines.put(name, new DiffusionPipeline(model, limits));
                LOG.infof("model %s loaded from %s%s in %d ms", name, bundle.getValue(),
                        clip.map(dir -> " with CLIP from " + dir).orElse(""), (System.nanoTime() - start) / 1_000_000);
            } catch (BundleException e) {
                LOG.errorf("model %s is unavailable: %s", name, e.getMessage());
            } catch (RuntimeException e) { // ONNX Runtime errors: still only this model's problem
                LOG.errorf(e, "model %s is unavailable: cannot load %s", name, bundle.getValue());
            }
        }
        if (bundles.isEmpty()) {
            LOG.warn("no models configured (easel.models.<name>.path): every job will fail");
        }
        loaded.complete(Map.copyOf(pipelines));
    }

    /** Whether loading has finished (whatever became of each bundle). */
    public boolean ready() {
        return loaded.isDone();
    }

    /** The model's pipeline; waits for startup loading. Empty when the name is unknown or its bundle is broken. */
    public Optional<DiffusionPipeline> pipeline(String name) {
        return Optional.ofNullable(loaded.join().get(name));
    }

    /** The names of the models that loaded; waits for startup loading. */
    public Set<String> available() {
        return new java.util.TreeSet<>(loaded.join().keySet());
    }

    private static Map<String, Path> clips(ModelsConfig config) {
        Map<String, Path> clips = new TreeMap<>();
        config.models().forEach((name, model) -> model.clip().ifPresent(dir -> clips.put(name, dir)));
        return clips;
    }

    private static Map<String, Path> paths(ModelsConfig config) {
        Map<String, Path> paths = new TreeMap<>();
        config.models().forEach((name, model) -> paths.put(name, model.path()));
        return paths;
    }
}
