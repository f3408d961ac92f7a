package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A CLIP text encoder: {@code input_ids} [batch, sequence] (int32 or int64) → the hidden states
 * (float32 or float16) the UNet attends over and, for SDXL's second encoder, the projected pooled
 * {@code text_embeds} [batch, projection].
 *
 * <p>SD 1.x/2.x condition on {@code last_hidden_state}; SDXL on the penultimate layer's
 * {@code hidden_states.N} (the second-to-last entry of the exported list, as diffusers'
 * {@code hidden_states[-2]}). Outputs are picked by name: exporters order them differently.
 */
public final class TextEncoder implements AutoCloseable {

    static final String INPUT_IDS = "input_ids";
    static final String HIDDEN_STATE = "last_hidden_state";
    static final String HIDDEN_STATES = "hidden_states.";
    static final String TEXT_EMBEDS = "text_embeds";
    private static final Set<OnnxJavaType> ID_TYPES = Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64);
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    /** Which hidden states condition the UNet. */
    public enum Layer {
        /** {@code last_hidden_state}: after the final LayerNorm (SD 1.x/2.x). */
        LAST,
        /** {@code hidden_states[-2]}: the penultimate layer's output, before any final norm (SDXL). */
        PENULTIMATE
    }

    /**
     * One encoding.
     *
     * @param hidden [batch, sequence, width] row-major
     * @param pooled [batch, projection] when asked for
     */
    public record Encoding(float[] hidden, int width, Optional<float[]> pooled) {
    }

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec ids;
    private final Optional<TensorSpec> last;
    /** hidden_states.N with the second-highest N, when the graph exports the list. */
    private final Optional<TensorSpec> penultimate;
    private final Optional<TensorSpec> textEmbeds;

    public TextEncoder(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.ids = model.input(INPUT_IDS, ID_TYPES, Set.of(2));
        this.last = model.outputs().containsKey(HIDDEN_STATE)
                ? Optional.of(model.output(HIDDEN_STATE, FLOAT_TYPES, Set.of(3))) : Optional.empty();
        int top = -1;
        for (String name : model.outputs().keySet()) {
            top = Math.max(top, layerIndex(name));
        }
        this.penultimate = top >= 1
                ? Optional.of(model.output(HIDDEN_STATES + (top - 1), FLOAT_TYPES, Set.of(3))) : Optional.empty();
        this.textEmbeds = model.outputs().containsKey(TEXT_EMBEDS)
                ? Optional.of(model.output(TEXT_EMBEDS, FLOAT_TYPES, Set.of(2))) : Optional.empty();
        if (last.isEmpty() && penultimate.isEmpty()) {
            throw model.error("expected output '" + HIDDEN_STATE + "' or '" + HIDDEN_STATES + "N' outputs but the"
                    + " model's outputs are " + model.outputs().keySet());
        }
        model.requireOnlyInputs(Set.of(INPUT_IDS));
    }

    private static int layerIndex(String name) {
        if (!name.startsWith(HIDDEN_STATES)) {
            return -1;
        }
        try {
            return Integer.parseInt(name.substring(HIDDEN_STATES.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The output a layer choice reads, or an error naming what the graph lacks. */
    private TensorSpec hiddenOutput(Layer layer) {
        if (layer == Layer.LAST) {
            return last.orElseThrow(() -> model.error("has no output '" + HIDDEN_STATE + "' (outputs: "
                    + model.outputs().keySet() + ")"));
        }
        return penultimate.orElseThrow(() -> model.error("has no '" + HIDDEN_STATES + "N' outputs, which SDXL"
                + " conditions on (export with output_hidden_states; outputs: " + model.outputs().keySet() + ")"));
    }

    /** Hidden size of the chosen layer when the graph fixes it, else -1. */
    public int hiddenSize(Layer layer) {
        return (int) hiddenOutput(layer).dim(2);
    }

    /** Hidden size of {@code last_hidden_state} (or the penultimate layer when that is all there is), else -1. */
    public int hiddenSize() {
        return hiddenSize(last.isPresent() ? Layer.LAST : Layer.PENULTIMATE);
    }

    /** Whether the graph exports the projected pooled {@code text_embeds}. */
    public boolean hasTextEmbeds() {
        return textEmbeds.isPresent();
    }

    /** Width of {@code text_embeds} when fixed, else -1; -1 also when absent. */
    public int textEmbedsSize() {
        return textEmbeds.map(spec -> (int) spec.dim(1)).orElse(-1);
    }

    /** Sequence length when the graph fixes it, else -1. */
    public int sequenceLength() {
        return (int) ids.dim(1);
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Encodes {@code batch} padded id sequences into {@code last_hidden_state}.
     *
     * @param tokenIds [batch, sequence] row-major
     * @return [batch, sequence, hidden] as float32, row-major
     */
    public float[] encode(int[] tokenIds, int batch, int sequence) {
        return encode(tokenIds, new Request(batch, sequence, Layer.LAST, false)).hidden();
    }

    /**
     * What to encode: {@code batch} sequences of {@code sequence} ids, the hidden states of
     * {@code layer}, and the pooled {@code text_embeds} when {@code pooled}.
     */
    public record Request(int batch, int sequence, Layer layer, boolean pooled) {
    }

    /** Encodes {@code request.batch()} padded id sequences ([batch, sequence] row-major). */
    public Encoding encode(int[] tokenIds, Request request) {
        int batch = request.batch();
        int sequence = request.sequence();
        if (tokenIds.length != batch * sequence) {
            throw new IllegalArgumentException("expected " + batch + "x" + sequence + " ids, got " + tokenIds.length);
        }
        if (ids.isStatic(1) && ids.dim(1) != sequence) {
            throw model.error("input " + ids + " takes sequences of " + ids.dim(1) + " tokens, but the tokenizer pads to "
                    + sequence);
        }
        String hiddenName = hiddenOutput(request.layer()).name();
        Set<String> wanted = new LinkedHashSet<>();
        wanted.add(hiddenName);
        if (request.pooled()) {
            wanted.add(textEmbeds.orElseThrow(() -> model.error("has no output '" + TEXT_EMBEDS + "' (the pooled,"
                    + " projected embedding SDXL's UNet takes; outputs: " + model.outputs().keySet() + ")")).name());
        }
        try (DirectTensor input = DirectTensor.allocate(sessions.environment(), ids.type(), batch, sequence)) {
            input.writeIds(tokenIds);
            try (Result result = model.session().run(Map.of(INPUT_IDS, input.tensor()), wanted)) {
                OnnxTensor hidden = (OnnxTensor) result.get(hiddenName).orElseThrow();
                long[] shape = hidden.getInfo().getShape();
                if (shape.length != 3 || shape[0] != batch || shape[1] != sequence) {
                    throw model.error("output '" + hiddenName + "' has shape " + Arrays.toString(shape) + "; expected ["
                            + batch + ", " + sequence + ", hidden]");
                }
                float[] states = new float[(int) (shape[0] * shape[1] * shape[2])];
                DirectTensor.readFloats(hidden, states);
                Optional<float[]> pooled = Optional.empty();
                if (request.pooled()) {
                    OnnxTensor embeds = (OnnxTensor) result.get(TEXT_EMBEDS).orElseThrow();
                    long[] pooledShape = embeds.getInfo().getShape();
                    if (pooledShape.length != 2 || pooledShape[0] != batch) {
                        throw model.error("output '" + TEXT_EMBEDS + "' has shape " + Arrays.toString(pooledShape)
                                + "; expected [" + batch + ", projection]");
                    }
                    float[] values = new float[(int) (pooledShape[0] * pooledShape[1])];
                    DirectTensor.readFloats(embeds, values);
                    pooled = Optional.of(values);
                }
                return new Encoding(states, (int) shape[2], pooled);
            }
        } catch (OrtException e) {
            throw new IllegalStateException(model.file() + ": text encoder run failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
