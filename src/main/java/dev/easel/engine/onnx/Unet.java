package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import java.util.Set;

/**
 * The denoising UNet: {@code sample} [batch, in_channels, h, w], {@code timestep} ([batch] or
 * scalar; float32, float16, int64 or int32) and {@code encoder_hidden_states} [batch, sequence,
 * hidden] → {@code out_sample} [batch, out_channels, h, w]. Float inputs and outputs may be float32
 * or float16; conversion happens at the boundary. Per job, {@link #start} allocates the buffers
 * once; the pipeline then calls {@link UnetRun#predict} every step.
 */
public final class Unet implements AutoCloseable {

    static final String SAMPLE = "sample";
    static final String TIMESTEP = "timestep";
    static final String TEXT = "encoder_hidden_states";
    static final String OUT = "out_sample";
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    private static final Set<OnnxJavaType> TIMESTEP_TYPES =
            Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.INT64, OnnxJavaType.INT32);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec sample;
    private final TensorSpec timestep;
    private final TensorSpec text;
    private final TensorSpec out;

    public Unet(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.sample = model.input(SAMPLE, FLOAT_TYPES, Set.of(4));
        this.timestep = model.input(TIMESTEP, TIMESTEP_TYPES, Set.of(0, 1));
        this.text = model.input(TEXT, FLOAT_TYPES, Set.of(3));
        this.out = model.output(OUT, FLOAT_TYPES, Set.of(4));
        model.requireOnlyInputs(Set.of(SAMPLE, TIMESTEP, TEXT));
    }

    /** in_channels when the graph fixes it (4, or 9 for inpainting models), else -1. */
    public int inChannels() {
        return (int) sample.dim(1);
    }

    /** out_channels when the graph fixes it, else -1. */
    public int outChannels() {
        return (int) out.dim(1);
    }

    /** The text hidden size the UNet attends over, when fixed, else -1. */
    public int textHiddenSize() {
        return (int) text.dim(2);
    }

    /** Whether the timestep input is a scalar rather than one value per batch entry. */
    public boolean scalarTimestep() {
        return timestep.rank() == 0;
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Allocates one job's tensors and writes its text embeddings once.
     *
     * @param shape          the job's UNet batch and latent geometry
     * @param textEmbeddings [shape.batch, sequence, hidden] row-major
     */
    public UnetRun start(UnetRun.Shape shape, float[] textEmbeddings, int sequence, int hidden) {
        if (sample.isStatic(1) && sample.dim(1) != shape.inChannels()) {
            throw model.error("input " + sample + " takes " + sample.dim(1) + " channels; the pipeline prepared "
                    + shape.inChannels());
        }
        if (text.isStatic(2) && text.dim(2) != hidden) {
            throw model.error("input " + text + " expects hidden size " + text.dim(2)
                    + " but the text encoder produces " + hidden);
        }
        return new UnetRun(model, sessions.environment(), new UnetRun.Types(sample.type(), timestep.type(),
                text.type(), out.type(), scalarTimestep()), shape, textEmbeddings, sequence, hidden);
    }

    @Override
    public void close() {
        model.close();
    }
}
