package dev.easel.engine.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import dev.easel.engine.bundle.BundleException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;

/** Creates ONNX Runtime sessions with the configured provider, threads and optimisation level. */
public final class OnnxSessions {

    private static final System.Logger LOG = System.getLogger(OnnxSessions.class.getName());

    private final OrtEnvironment env;
    private final EngineOptions options;
    /** Set once CUDA failed to load and we fell back, so the warning is logged once, not per model. */
    private volatile boolean cudaUnavailable;

    /** Present when optimized graphs are kept between starts (CPU only: a CUDA fallback would mix graphs). */
    private final java.util.Optional<OptimizedModelCache> cache;

    public OnnxSessions(EngineOptions options) {
        this.env = OrtEnv.get();
        this.options = options;
        this.cache = options.provider() == ExecutionProvider.CPU
                ? options.optimizedCache().map(dir -> new OptimizedModelCache(dir,
                        OptimizedModelCache.environment(env.getVersion(), options)))
                : java.util.Optional.empty();
    }

    public OrtEnvironment environment() {
        return env;
    }

    public EngineOptions options() {
        return options;
    }

    /** What a session is for: the spinning policy treats the denoising loop's UNet apart. */
    public enum Role {
        /** Run once or twice per job (text encoders, VAE, CLIP). */
        STAGE,
        /** Run every step of the denoising loop (the UNet). */
        LOOP
    }

    /** Opens a model file; external weights beside it are resolved by ONNX Runtime. */
    public OrtSession open(Path modelFile) {
        return open(modelFile, Role.STAGE);
    }

    /** Opens a model file for a role; external weights beside it are resolved by ONNX Runtime. */
    public OrtSession open(Path modelFile, Role role) {
        if (!Files.isRegularFile(modelFile)) {
            throw BundleException.inFile(modelFile, "model file is missing");
        }
        if (cache.isPresent()) {
            return openCached(modelFile, role, cache.get());
        }
        return open(so -> env.createSession(modelFile.toString(), so), modelFile.toString(), role);
    }

    /** A cached optimized graph, loaded with optimization off; else the model, its optimized graph written. */
    private OrtSession openCached(Path modelFile, Role role, OptimizedModelCache cache) {
        java.util.Optional<Path> hit = cache.lookup(modelFile);
        if (hit.isPresent()) {
            try {
                return open(so -> {
                    so.setOptimizationLevel(SessionOptions.OptLevel.NO_OPT);
                    return env.createSession(hit.get().toString(), so);
                }, modelFile.toString(), role);
            } catch (BundleException e) {
                LOG.log(Level.WARNING, "{0}: the cached optimized graph {1} does not load ({2}); optimizing again",
                        modelFile, hit.get(), e.getMessage());
            }
        }
        Path staged;
        try {
            staged = cache.stage(modelFile);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: the ONNX Runtime cache cannot be written ({1}); not cached", modelFile,
                    e.toString());
            return open(so -> env.createSession(modelFile.toString(), so), modelFile.toString(), role);
        }
        try {
            OrtSession session = open(so -> {
                so.setOptimizedModelFilePath(staged.resolve(OptimizedModelCache.MODEL).toString());
                // Weights beside the graph, so a UNet over protobuf's 2 GB limit can be written too.
                so.addConfigEntry("session.optimized_model_external_initializers_file_name", OptimizedModelCache.DATA);
                so.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                return env.createSession(modelFile.toString(), so);
            }, modelFile.toString(), role);
            cache.commit(modelFile, staged);
            return session;
        } finally {
            OptimizedModelCache.deleteQuietly(staged);
        }
    }

    /**
     * Opens a model from its serialized bytes (for example one rewritten by {@link Float32Upcast}),
     * with the same options and CUDA fallback as {@link #open(Path)}. {@code label} names the model
     * in errors, usually the file it came from. External data cannot be resolved from bytes.
     */
    public OrtSession open(byte[] model, String label) {
        return open(so -> env.createSession(model, so), label, Role.STAGE);
    }

    /**
     * Opens a model file with some initializers replaced by {@code replaced} (by name), through
     * {@link SessionOptions#addInitializer} (ONNX Runtime's AddInitializer, which overrides the
     * graph's initializer of that name): the file and its external data stay as they are.
     * ({@code addExternalInitializers} would refuse to replace an initializer stored inline.) The caller keeps the tensors open for the session's life (ONNX Runtime reads them in
     * place). The optimized-graph cache is bypassed: a cached graph holds the original weights.
     * Optimizations that would copy a replaced weight before the replacement applies are held
     * back: constant folding of outputs as large as a replaced tensor, and the layout level when a
     * conv (4-D) weight is replaced; such sessions are optimized at the layout level at most.
     */
    public OrtSession openWithInitializers(Path modelFile, Role role,
                                           java.util.Map<String, ai.onnxruntime.OnnxTensorLike> replaced) {
        if (!Files.isRegularFile(modelFile)) {
            throw BundleException.inFile(modelFile, "model file is missing");
        }
        java.util.Map<String, ai.onnxruntime.OnnxTensorLike> copy = new java.util.LinkedHashMap<>(replaced);
        boolean convWeights = copy.values().stream().anyMatch(t -> t.getInfo().getShape().length == 4);
        long smallest = copy.values().stream().mapToLong(t -> t.getInfo().getNumElements()
                * (t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT16 ? 2 : 4)).min().orElse(Long.MAX_VALUE);
        // The layout level (CPU's NCHWc) reorders conv weights into copies; level "all" crashed ONNX
        // Runtime 1.29 (a native assertion) on a MatMul whose float16 weight's Cast was not folded.
        SessionOptions.OptLevel cap = convWeights ? SessionOptions.OptLevel.EXTENDED_OPT
                : SessionOptions.OptLevel.LAYOUT_OPT;
        return open(so -> {
            // Some optimizations copy weights while the graph is optimized, before these replacements
            // take effect, and the copies keep the file's values: the patch would silently do nothing
            // (LoraPatchTest shows it). Constant folding bakes a weight's Cast (mixed-precision
            // exports) into a new initializer: it is limited to outputs smaller than any replaced
            // tensor (a folded replaced weight is at least its size).
            so.addConfigEntry("optimization.constant_folding_max_output_size_in_bytes",
                    Long.toString(Math.max(0, smallest - 1)));
            if (options.optimization().ordinal() > cap.ordinal()) {
                so.setOptimizationLevel(cap);
            }
            for (java.util.Map.Entry<String, ai.onnxruntime.OnnxTensorLike> e : copy.entrySet()) {
                so.addInitializer(e.getKey(), e.getValue());
            }
            return env.createSession(modelFile.toString(), so);
        }, modelFile.toString(), role);
    }

    /** Creates a session from a path or bytes under the given options. */
    @FunctionalInterface
    private interface SessionSource {
        OrtSession create(SessionOptions options) throws OrtException;
    }

    private OrtSession open(SessionSource source, String label, Role role) {
        try (SessionOptions sessionOptions = baseOptions(role)) {
            boolean cuda = options.provider() == ExecutionProvider.CUDA && !cudaUnavailable && addCuda(sessionOptions);
            try {
                return source.create(sessionOptions);
            } catch (OrtException e) {
                if (cuda && options.fallbackToCpu()) {
                    warnCudaFallback(e);
                    return openOnCpu(source, label, role);
                }
                throw problem(label, "ONNX Runtime could not load the model: " + e.getMessage(), e);
            }
        } catch (OrtException e) {
            throw problem(label, "could not configure the ONNX Runtime session: " + e.getMessage(), e);
        }
    }

    private OrtSession openOnCpu(SessionSource source, String label, Role role) throws OrtException {
        try (SessionOptions cpu = baseOptions(role)) {
            return source.create(cpu);
        } catch (OrtException e) {
            throw problem(label, "ONNX Runtime could not load the model: " + e.getMessage(), e);
        }
    }

    /** Same message shape as {@link BundleException#inFile}: the label (file) first. */
    private static BundleException problem(String label, String problem, Throwable cause) {
        return new BundleException(label + ": " + problem, cause);
    }

    private SessionOptions baseOptions(Role role) throws OrtException {
        SessionOptions so = new SessionOptions();
        so.setOptimizationLevel(options.optimization());
        // A spinning pool keeps its cores after each run: worth it for the UNet, whose runs follow
        // each other, when the job has the cores to itself (docs/benchmarks.md, "Threads and spinning").
        boolean spin = options.spinning() == EngineOptions.Spinning.ALL
                || options.spinning() == EngineOptions.Spinning.LOOP && role == Role.LOOP;
        so.addConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
        // Set, not left to ONNX Runtime: its default counts physical cores and used one thread on a
        // 2-core machine (docs/benchmarks.md, "Threads and spinning").
        so.setIntraOpNumThreads(options.effectiveIntraOpThreads());
        if (options.interOpThreads() > 0) {
            so.setInterOpNumThreads(options.interOpThreads());
        }
        return so;
    }

    /** Adds the CUDA provider; false (after one warning) when it cannot be loaded and fallback is on. */
    private boolean addCuda(SessionOptions so) throws OrtException {
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(options.deviceId())) {
            // Heuristic search avoids EXHAUSTIVE's long first run per new shape; the arena grows only
            // by what is asked so one GPU can hold several bundles.
            cuda.add("cudnn_conv_algo_search", "HEURISTIC");
            cuda.add("arena_extend_strategy", "kSameAsRequested");
            cuda.add("do_copy_in_default_stream", "1");
            so.addCUDA(cuda);
            return true;
        } catch (OrtException | UnsatisfiedLinkError | IllegalStateException e) {
            if (!options.fallbackToCpu()) {
                throw new BundleException("the CUDA execution provider could not be loaded on device "
                        + options.deviceId() + ": " + e.getMessage()
                        + " (needs the onnxruntime_gpu build (-Pgpu), CUDA 12 and cuDNN 9)", e);
            }
            warnCudaFallback(e);
            return false;
        }
    }

    private void warnCudaFallback(Throwable cause) {
        if (!cudaUnavailable) {
            cudaUnavailable = true;
            LOG.log(Level.WARNING, "CUDA execution provider could not be loaded on device " + options.deviceId()
                    + " (" + cause.getMessage() + "); falling back to CPU. Install the onnxruntime_gpu build"
                    + " (-Pgpu) with CUDA 12 and cuDNN 9, or set the provider to cpu to silence this.");
        }
    }
}
