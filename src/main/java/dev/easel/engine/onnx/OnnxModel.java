package dev.easel.engine.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.easel.engine.bundle.BundleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One ONNX model file and its session, with the model's inputs and outputs read at load. The typed
 * wrappers ({@link TextEncoder}, {@link Unet}, {@link VaeDecoder}, {@link VaeEncoder}) use it to
 * check the contract they need and fail fast naming the file, the tensor and what was expected.
 */
public final class OnnxModel implements AutoCloseable {

    private final Path file;
    private static final java.util.concurrent.atomic.AtomicInteger OPEN = new java.util.concurrent.atomic.AtomicInteger();

    private final OrtSession session;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final Map<String, TensorSpec> inputs;
    private final Map<String, TensorSpec> outputs;
    /** Tensors the session reads in place (replaced initializers): closed after the session. */
    private final java.util.List<ai.onnxruntime.OnnxTensor> weights;

    private OnnxModel(Path file, OrtSession session) throws OrtException {
        this(file, session, java.util.List.of());
    }

    private OnnxModel(Path file, OrtSession session, java.util.List<ai.onnxruntime.OnnxTensor> weights)
            throws OrtException {
        this.file = file;
        this.session = session;
        this.weights = java.util.List.copyOf(weights);
        this.inputs = specs(session.getInputInfo());
        this.outputs = specs(session.getOutputInfo());
        OPEN.incrementAndGet();
    }

    /** Models opened and not yet closed in this process: what a leak check compares before and after. */
    public static int openCount() {
        return OPEN.get();
    }

    /** Opens the model with the given session factory and reads its inputs and outputs. */
    public static OnnxModel open(OnnxSessions sessions, Path file) {
        return open(sessions, file, OnnxSessions.Role.STAGE);
    }

    /** Opens the model for a role (the UNet: {@link OnnxSessions.Role#LOOP}) and reads its inputs and outputs. */
    public static OnnxModel open(OnnxSessions sessions, Path file, OnnxSessions.Role role) {
        OrtSession session = sessions.open(file, role);
        try {
            return new OnnxModel(file, session);
        } catch (OrtException e) {
            closeQuietly(session);
            throw BundleException.inFile(file, "could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
    }

    /**
     * Whether the model file's graph takes a float16 input, read from the file without loading it
     * ({@link OnnxInputTypes}); empty when the file cannot be read that way.
     */
    public static Optional<Boolean> float16Inputs(Path file) {
        return OnnxInputTypes.read(file).map(types -> types.containsValue(OnnxGraphIndex.FLOAT16));
    }

    /**
     * Opens a float16 model as float32: the file is read and rewritten in memory by
     * {@link Float32Upcast} (why: SDXL's VAE overflows in float16), then opened from the bytes.
     * {@link #file()} still names the file for messages. A float32 model opens unchanged.
     */
    public static OnnxModel openUpcast(OnnxSessions sessions, Path file) {
        if (!Files.isRegularFile(file)) {
            throw BundleException.inFile(file, "model file is missing");
        }
        byte[] model;
        try {
            model = Float32Upcast.upcast(file);
        } catch (IOException e) {
            throw BundleException.inFile(file, "could not read the model: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw BundleException.inFile(file, "could not upcast the model to float32: " + e.getMessage(), e);
        }
        OrtSession session = sessions.open(model, file.toString());
        try {
            return new OnnxModel(file, session);
        } catch (OrtException e) {
            closeQuietly(session);
            throw BundleException.inFile(file, "could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
    }

    /**
     * Opens a model file with some initializers replaced (weight patches) without touching the
     * file: the replacements are handed to ONNX Runtime as session initializers, which the session
     * reads in place, so the tensors live as long as the model. The optimized-graph cache is not
     * used (a cached graph would carry the original weights).
     */
    public static OnnxModel openPatched(OnnxSessions sessions, Path file, OnnxSessions.Role role,
                                        java.util.List<WeightPatch> patches) {
        java.util.List<ai.onnxruntime.OnnxTensor> tensors = new java.util.ArrayList<>();
        OrtSession session = null;
        try {
            Map<String, ai.onnxruntime.OnnxTensorLike> byName = new LinkedHashMap<>();
            for (WeightPatch patch : patches) {
                ai.onnxruntime.OnnxTensor tensor = patch.toTensor(sessions.environment());
                tensors.add(tensor);
                byName.put(patch.initializer(), tensor);
            }
            session = sessions.openWithInitializers(file, role, byName);
            return new OnnxModel(file, session, tensors);
        } catch (OrtException e) {
            if (session != null) {
                closeQuietly(session);
            }
            tensors.forEach(ai.onnxruntime.OnnxTensor::close);
            throw BundleException.inFile(file, "could not open the patched model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            tensors.forEach(ai.onnxruntime.OnnxTensor::close);
            throw e;
        }
    }

    private static Map<String, TensorSpec> specs(Map<String, NodeInfo> nodes) {
        Map<String, TensorSpec> specs = new LinkedHashMap<>();
        nodes.forEach((name, node) -> specs.put(name, TensorSpec.of(node)));
        return Collections.unmodifiableMap(specs);
    }

    public Path file() {
        return file;
    }

    OrtSession session() {
        return session;
    }

    public Map<String, TensorSpec> inputs() {
        return inputs;
    }

    public Map<String, TensorSpec> outputs() {
        return outputs;
    }

    /** The named input, checked for element type and rank. */
    public TensorSpec input(String name, Set<OnnxJavaType> types, Set<Integer> ranks) {
        return check("input", inputs, name, types, ranks);
    }

    /** The named output, checked for element type and rank. */
    public TensorSpec output(String name, Set<OnnxJavaType> types, Set<Integer> ranks) {
        return check("output", outputs, name, types, ranks);
    }

    /** Fails when the model has inputs beyond the ones the wrapper feeds. */
    public void requireOnlyInputs(Set<String> fed) {
        for (String name : inputs.keySet()) {
            if (!fed.contains(name)) {
                throw error("unexpected input " + inputs.get(name) + "; this model type takes only "
                        + String.join(", ", fed));
            }
        }
    }

    private TensorSpec check(String kind, Map<String, TensorSpec> tensors, String name,
                             Set<OnnxJavaType> types, Set<Integer> ranks) {
        TensorSpec spec = tensors.get(name);
        if (spec == null) {
            throw error("expected " + kind + " '" + name + "' but the model's " + kind + "s are " + describe(tensors));
        }
        if (!types.contains(spec.type())) {
            throw error(kind + " " + spec + " has element type " + TensorSpec.typeName(spec.type())
                    + "; expected " + types.stream().map(TensorSpec::typeName).sorted().collect(Collectors.joining(" or ")));
        }
        if (!ranks.contains(spec.rank())) {
            throw error(kind + " " + spec + " has rank " + spec.rank() + "; expected rank "
                    + ranks.stream().sorted().map(String::valueOf).collect(Collectors.joining(" or ")));
        }
        return spec;
    }

    private static String describe(Map<String, TensorSpec> tensors) {
        return tensors.values().stream().map(TensorSpec::toString).collect(Collectors.joining(", "));
    }

    /** An error about this model file. */
    public BundleException error(String problem) {
        return BundleException.inFile(file, problem);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeQuietly(session);
        weights.forEach(ai.onnxruntime.OnnxTensor::close);
        OPEN.decrementAndGet();
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // Closing a session only fails on an already-broken native handle; nothing to recover.
        }
    }
}
