package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.bundle.ClipPreprocessorConfig;
import dev.easel.engine.image.ClipImageProcessor;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A CLIP model over ONNX Runtime, in either export layout ({@link ClipLayout}): embeds prompts and
 * images into the shared space, L2-normalised so that a dot product is the cosine similarity.
 *
 * <p>Contract, checked at load (names, element types, ranks, fixed sizes), failing with the file
 * and tensor named:
 * <pre>
 * text:   input_ids [batch, seq] int32|int64, optional attention_mask [batch, seq] int32|int64
 *           → text_embeds [batch, D] float32|float16
 * vision: pixel_values [batch, 3, H, W] float32|float16 → image_embeds [batch, D] float32|float16
 * </pre>
 * In the combined layout one model takes all three inputs and gives both outputs; embedding one side
 * then feeds the other a placeholder of the same batch (zeros), so the split layout is cheaper.
 * Thread-safe: sessions are shared, each call allocates its own tensors.
 */
public final class ClipModel implements AutoCloseable {

    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String PIXEL_VALUES = "pixel_values";
    static final String TEXT_EMBEDS = "text_embeds";
    static final String IMAGE_EMBEDS = "image_embeds";
    private static final Set<OnnxJavaType> ID_TYPES = Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64);
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final ClipLayout layout;
    private final OnnxSessions sessions;
    private final OnnxModel text;
    private final OnnxModel vision;
    private final boolean combined;
    private final ClipTokenizer tokenizer;
    private final ClipImageProcessor processor;
    private final TensorSpec ids;
    private final TensorSpec mask;
    private final TensorSpec pixels;
    private final int sequenceLength;
    private final int dim;

    private ClipModel(ClipLayout layout, OnnxSessions sessions, OnnxModel text, OnnxModel vision,
                      ClipTokenizer tokenizer) {
        this.layout = layout;
        this.sessions = sessions;
        this.text = text;
        this.vision = vision;
        this.combined = text == vision;
        this.tokenizer = tokenizer;
        this.processor = new ClipImageProcessor(ClipPreprocessorConfig.read(layout.preprocessorConfig()));
        this.ids = text.input(INPUT_IDS, ID_TYPES, Set.of(2));
        this.mask = text.inputs().containsKey(ATTENTION_MASK) ? text.input(ATTENTION_MASK, ID_TYPES, Set.of(2)) : null;
        this.pixels = vision.input(PIXEL_VALUES, FLOAT_TYPES, Set.of(4));
        TensorSpec textOut = text.output(TEXT_EMBEDS, FLOAT_TYPES, Set.of(2));
        TensorSpec imageOut = vision.output(IMAGE_EMBEDS, FLOAT_TYPES, Set.of(2));
        if (combined) {
            text.requireOnlyInputs(Set.of(INPUT_IDS, ATTENTION_MASK, PIXEL_VALUES));
        } else {
            text.requireOnlyInputs(Set.of(INPUT_IDS, ATTENTION_MASK));
            vision.requireOnlyInputs(Set.of(PIXEL_VALUES));
        }
        checkPixels();
        this.sequenceLength = sequenceLength(layout, tokenizer);
        this.dim = embeddingDim(layout, textOut, imageOut);
    }

    /**
     * Loads the CLIP model of {@code layout}.
     *
     * @throws BundleException naming the file and tensor when the model does not fit the contract
     */
    public static ClipModel load(ClipLayout layout, OnnxSessions sessions) {
        ClipTokenizer tokenizer = ClipTokenizer.load(layout.tokenizer());
        if (layout.models() instanceof ClipLayout.Combined c) {
            OnnxModel model = OnnxModel.open(sessions, c.model());
            try {
                return new ClipModel(layout, sessions, model, model, tokenizer);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
        ClipLayout.Split split = (ClipLayout.Split) layout.models();
        OnnxModel text = OnnxModel.open(sessions, split.textModel());
        OnnxModel vision = null;
        try {
            vision = OnnxModel.open(sessions, split.visionModel());
            return new ClipModel(layout, sessions, text, vision, tokenizer);
        } catch (RuntimeException e) {
            text.close();
            if (vision != null) {
                vision.close();
            }
            throw e;
        }
    }

    private void checkPixels() {
        if (pixels.isStatic(1) && pixels.dim(1) != 3) {
            throw vision.error("input " + pixels + " has " + pixels.dim(1) + " channels; expected 3 (RGB)");
        }
        if ((pixels.isStatic(2) && pixels.dim(2) != processor.height())
                || (pixels.isStatic(3) && pixels.dim(3) != processor.width())) {
            throw vision.error("input " + pixels + " takes " + pixels.dim(2) + "x" + pixels.dim(3) + " images but "
                    + layout.preprocessorConfig() + " crops to " + processor.height() + "x" + processor.width());
        }
    }

    /** The graph's fixed sequence length, else config.json's, else the tokenizer's. */
    private int sequenceLength(ClipLayout layout, ClipTokenizer tokenizer) {
        OptionalInt configured = layout.maxPositionEmbeddings();
        if (ids.isStatic(1)) {
            if (configured.isPresent() && configured.getAsInt() != ids.dim(1)) {
                throw text.error("input " + ids + " takes " + ids.dim(1) + " tokens but " + layout.config().orElseThrow()
                        + " says max_position_embeddings " + configured.getAsInt());
            }
            return (int) ids.dim(1);
        }
        return configured.orElse(tokenizer.maxLength());
    }

    private int embeddingDim(ClipLayout layout, TensorSpec textOut, TensorSpec imageOut) {
        long t = textOut.dim(1);
        long v = imageOut.dim(1);
        if (t > 0 && v > 0 && t != v) {
            throw vision.error("output " + imageOut + " has " + v + " dimensions but " + text.file() + " output "
                    + textOut + " has " + t + "; both must be the shared projection size");
        }
        OptionalInt projection = layout.projectionDim();
        long known = t > 0 ? t : v;
        if (projection.isPresent() && known > 0 && projection.getAsInt() != known) {
            throw text.error("output " + (t > 0 ? textOut : imageOut) + " has " + known + " dimensions but "
                    + layout.config().orElseThrow() + " says projection_dim " + projection.getAsInt());
        }
        if (known > 0) {
            return (int) known;
        }
        // Fully dynamic graphs: one probe embedding tells.
        return embedTexts(List.of("")).length;
    }

    /** Embedding dimension D. */
    public int dim() {
        return dim;
    }

    /** Tokens per prompt the text tower reads. */
    public int sequenceLength() {
        return sequenceLength;
    }

    public ClipImageProcessor processor() {
        return processor;
    }

    public ClipLayout layout() {
        return layout;
    }

    /**
     * Token ids for the text tower: start token, the prompt's tokens, end token, padding, cut to
     * {@link #sequenceLength()} with the end token kept last (as Hugging Face truncation does).
     *
     * @return [sequenceLength] ids; {@code lengths[0]} receives the count before padding
     */
    int[] tokenIds(String prompt, int[] lengths) {
        int[] raw = tokenizer.encode(prompt);
        int[] out = new int[sequenceLength];
        Arrays.fill(out, tokenizer.padId());
        int n = Math.min(raw.length, sequenceLength);
        System.arraycopy(raw, 0, out, 0, n);
        if (raw.length > sequenceLength) {
            out[sequenceLength - 1] = tokenizer.eosId();
        }
        lengths[0] = n;
        return out;
    }

    /** L2-normalised text embeddings, [texts.size(), D] row-major. */
    public float[] embedTexts(List<String> prompts) {
        int batch = prompts.size();
        int seq = sequenceLength;
        int[] tokenIds = new int[batch * seq];
        int[] maskValues = new int[batch * seq];
        int[] length = new int[1];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(tokenIds(prompts.get(b), length), 0, tokenIds, b * seq, seq);
            Arrays.fill(maskValues, b * seq, b * seq + length[0], 1);
        }
        try (DirectTensor idTensor = DirectTensor.allocate(sessions.environment(), ids.type(), batch, seq);
             DirectTensor maskTensor = mask == null ? null
                     : DirectTensor.allocate(sessions.environment(), mask.type(), batch, seq);
             DirectTensor placeholder = combined ? DirectTensor.allocate(sessions.environment(), pixels.type(), batch, 3,
                     processor.height(), processor.width()) : null) {
            idTensor.writeIds(tokenIds);
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(INPUT_IDS, idTensor.tensor());
            if (maskTensor != null) {
                maskTensor.writeIds(maskValues);
                inputs.put(ATTENTION_MASK, maskTensor.tensor());
            }
            if (placeholder != null) {
                inputs.put(PIXEL_VALUES, placeholder.tensor());
            }
            return run(text, inputs, TEXT_EMBEDS, batch);
        }
    }

    /**
     * L2-normalised image embeddings, [count, D] row-major.
     *
     * @param rgb01 {@code [count, 3, height, width]} in [0, 1]
     */
    public float[] embedImages(float[] rgb01, int count, int width, int height) {
        int per = processor.size();
        float[] values = new float[count * per];
        for (int i = 0; i < count; i++) {
            processor.process(rgb01, i * 3 * width * height, width, height, values, i * per);
        }
        return embedPixelValues(values, count);
    }

    /** Image embeddings from already preprocessed {@code pixel_values} [count, 3, crop h, crop w]. */
    public float[] embedPixelValues(float[] values, int count) {
        try (DirectTensor in = DirectTensor.allocate(sessions.environment(), pixels.type(), count, 3,
                processor.height(), processor.width());
             DirectTensor placeholderIds = combined
                     ? DirectTensor.allocate(sessions.environment(), ids.type(), count, sequenceLength) : null;
             DirectTensor placeholderMask = combined && mask != null
                     ? DirectTensor.allocate(sessions.environment(), mask.type(), count, sequenceLength) : null) {
            in.write(values, 0);
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(PIXEL_VALUES, in.tensor());
            if (placeholderIds != null) {
                int[] empty = new int[count * sequenceLength];
                int[] length = new int[1];
                int[] one = tokenIds("", length);
                for (int b = 0; b < count; b++) {
                    System.arraycopy(one, 0, empty, b * sequenceLength, sequenceLength);
                }
                placeholderIds.writeIds(empty);
                inputs.put(INPUT_IDS, placeholderIds.tensor());
                if (placeholderMask != null) {
                    int[] ones = new int[count * sequenceLength];
                    for (int b = 0; b < count; b++) {
                        Arrays.fill(ones, b * sequenceLength, b * sequenceLength + length[0], 1);
                    }
                    placeholderMask.writeIds(ones);
                    inputs.put(ATTENTION_MASK, placeholderMask.tensor());
                }
            }
            return run(vision, inputs, IMAGE_EMBEDS, count);
        }
    }

    private float[] run(OnnxModel model, Map<String, OnnxTensor> inputs, String output, int batch) {
        try (Result result = model.session().run(inputs, Set.of(output))) {
            OnnxTensor tensor = (OnnxTensor) result.get(0);
            long[] shape = tensor.getInfo().getShape();
            if (shape.length != 2 || shape[0] != batch || (dim > 0 && shape[1] != dim)) {
                throw model.error("output '" + output + "' has shape " + Arrays.toString(shape) + "; expected ["
                        + batch + ", " + (dim > 0 ? dim : "D") + "]");
            }
            float[] out = new float[(int) (shape[0] * shape[1])];
            DirectTensor.readFloats(tensor, out);
            normalise(out, (int) shape[1]);
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException(model.file() + ": CLIP run failed: " + e.getMessage(), e);
        }
    }

    /** Scales each row of {@code rows} ([n, d]) to unit length (zero rows stay zero). */
    public static void normalise(float[] rows, int d) {
        for (int r = 0; r < rows.length / d; r++) {
            double sum = 0;
            for (int k = 0; k < d; k++) {
                sum += (double) rows[r * d + k] * rows[r * d + k];
            }
            double inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
            for (int k = 0; k < d; k++) {
                rows[r * d + k] = (float) (rows[r * d + k] * inv);
            }
        }
    }

    @Override
    public void close() {
        text.close();
        if (!combined) {
            vision.close();
        }
    }
}
