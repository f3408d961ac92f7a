package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The CLIP text encoder: {@code input_ids} [batch, sequence] (int32 or int64) →
 * {@code last_hidden_state} [batch, sequence, hidden] (float32 or float16).
 */
public final class TextEncoder implements AutoCloseable {

    static final String INPUT_IDS = "input_ids";
    static final String HIDDEN_STATE = "last_hidden_state";
    private static final Set<OnnxJavaType> ID_TYPES = Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64);
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec ids;
    private final TensorSpec hidden;

    public TextEncoder(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.ids = model.input(INPUT_IDS, ID_TYPES, Set.of(2));
        this.hidden = model.output(HIDDEN_STATE, FLOAT_TYPES, Set.of(3));
        model.requireOnlyInputs(Set.of(INPUT_IDS));
    }

    /** Hidden size when the graph fixes it, else -1. */
    public int hiddenSize() {
        return (int) hidden.dim(2);
    }

    /** Sequence length when the graph fixes it, else -1. */
    public int sequenceLength() {
        return (int) ids.dim(1);
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Encodes {@code batch} padded id sequences.
     *
     * @param tokenIds [batch, sequence] row-major
     * @return last_hidden_state as float32, [batch, sequence, hidden] row-major
     */
    public float[] encode(int[] tokenIds, int batch, int sequence) {
        if (tokenIds.length != batch * sequence) {
            throw new IllegalArgumentException("expected " + batch + "x" + sequence + " ids, got " + tokenIds.length);
        }
        if (ids.isStatic(1) && ids.dim(1) != sequence) {
            throw model.error("input " + ids + " takes sequences of " + ids.dim(1) + " tokens, but the tokenizer pads to "
                    + sequence);
        }
        try (DirectTensor input = DirectTensor.allocate(sessions.environment(), ids.type(), batch, sequence)) {
            input.writeIds(tokenIds);
            try (Result result = model.session().run(Map.of(INPUT_IDS, input.tensor()), Set.of(HIDDEN_STATE))) {
                return toFloats(result.get(0), batch, sequence);
            }
        } catch (OrtException e) {
            throw new IllegalStateException(model.file() + ": text encoder run failed: " + e.getMessage(), e);
        }
    }

    private float[] toFloats(OnnxValue value, int batch, int sequence) {
        OnnxTensor tensor = (OnnxTensor) value;
        long[] shape = tensor.getInfo().getShape();
        if (shape.length != 3 || shape[0] != batch || shape[1] != sequence) {
            throw model.error("output '" + HIDDEN_STATE + "' has shape " + Arrays.toString(shape) + "; expected ["
                    + batch + ", " + sequence + ", hidden]");
        }
        float[] out = new float[(int) (shape[0] * shape[1] * shape[2])];
        DirectTensor.readFloats(tensor, out);
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}
