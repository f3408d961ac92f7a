package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import java.util.Optional;
import java.util.Set;

/**
 * The denoising UNet: {@code sample} [batch, in_channels, h, w], {@code timestep} ([batch] or
 * scalar; float32, float16, int64 or int32) and {@code encoder_hidden_states} [batch, sequence,
 * hidden] → {@code out_sample} [batch, out_channels, h, w]. Float inputs and outputs may be float32
 * or float16; conversion happens at the boundary. Per job, {@link #start} allocates the buffers
 * once; the pipeline then calls {@link UnetRun#predict} every step.
 */
public final class Unet implements UnetSteps, AutoCloseable {

    static final String SAMPLE = "sample";
    static final String TIMESTEP = "timestep";
    static final String TEXT = "encoder_hidden_states";
    static final String OUT = "out_sample";
    static final String TEXT_EMBEDS = "text_embeds";
    static final String TIME_IDS = "time_ids";
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    private static final Set<OnnxJavaType> TIMESTEP_TYPES =
            Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.INT64, OnnxJavaType.INT32);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec sample;
    private final TensorSpec timestep;
    private final TensorSpec text;
    private final TensorSpec out;
    /** SDXL only. */
    private final Optional<TensorSpec> textEmbeds;
    /** SDXL only. */
    private final Optional<TensorSpec> timeIds;

    public Unet(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.sample = model.input(SAMPLE, FLOAT_TYPES, Set.of(4));
        this.timestep = model.input(TIMESTEP, TIMESTEP_TYPES, Set.of(0, 1));
        this.text = model.input(TEXT, FLOAT_TYPES, Set.of(3));
        this.out = model.output(OUT, FLOAT_TYPES, Set.of(4));
        this.textEmbeds = optionalInput(model, TEXT_EMBEDS);
        this.timeIds = optionalInput(model, TIME_IDS);
        if (textEmbeds.isPresent() != timeIds.isPresent()) {
            throw model.error("has " + (textEmbeds.isPresent() ? "'text_embeds' but no 'time_ids'"
                    : "'time_ids' but no 'text_embeds'") + " input; an SDXL UNet takes both");
        }
        model.requireOnlyInputs(Set.of(SAMPLE, TIMESTEP, TEXT, TEXT_EMBEDS, TIME_IDS));
    }

    /** in_channels when the graph fixes it (4, or 9 for inpainting models), else -1. */
    public int inChannels() {
        return (int) sample.dim(1);
    }

    /** out_channels when the graph fixes it, else -1. */
    public int outChannels() {
        return (int) out.dim(1);
    }

    /** The text sequence the UNet attends over when the graph fixes it (77), else -1 (long prompts fit). */
    public int textSequence() {
        return (int) text.dim(1);
    }

    /** The text hidden size the UNet attends over, when fixed, else -1. */
    public int textHiddenSize() {
        return (int) text.dim(2);
    }

    private static Optional<TensorSpec> optionalInput(OnnxModel model, String name) {
        return model.inputs().containsKey(name)
                ? Optional.of(model.input(name, FLOAT_TYPES, Set.of(2))) : Optional.empty();
    }

    /** Whether the UNet takes SDXL's added conditions ({@code text_embeds}, {@code time_ids}). */
    public boolean addedConditions() {
        return textEmbeds.isPresent();
    }

    /** Width of {@code text_embeds} when fixed, else -1 (also when absent). */
    public int textEmbedsSize() {
        return textEmbeds.map(spec -> (int) spec.dim(1)).orElse(-1);
    }

    /** Width of {@code time_ids} (6 base, 5 refiner) when fixed, else -1 (also when absent). */
    public int timeIdsSize() {
        return timeIds.map(spec -> (int) spec.dim(1)).orElse(-1);
    }

    /** Whether the timestep input is a scalar rather than one value per batch entry. */
    public boolean scalarTimestep() {
        return timestep.rank() == 0;
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Allocates one job's tensors and writes its conditioning once.
     *
     * @param shape        the job's UNet batch and latent geometry
     * @param conditioning one row per UNet batch entry
     */
    @Override
    public UnetRun start(UnetRun.Shape shape, UnetConditioning conditioning) {
        check(shape, conditioning);
        return new UnetRun(model, sessions.environment(), types(), shape, conditioning);
    }

    /** The element types of the inputs and the output, and whether the timestep is a scalar. */
    UnetRun.Types types() {
        return new UnetRun.Types(sample.type(), timestep.type(), text.type(), out.type(), scalarTimestep(),
                textEmbeds.map(TensorSpec::type), timeIds.map(TensorSpec::type));
    }

    OnnxSessions sessions() {
        return sessions;
    }

    /**
     * Whether jobs may share a run: the graph leaves the batch dimension of every input and of the
     * output free (an export with a fixed batch runs each job on its own).
     */
    public boolean batchable() {
        boolean fixed = sample.isStatic(0) || text.isStatic(0) || out.isStatic(0)
                || (!scalarTimestep() && timestep.isStatic(0))
                || textEmbeds.map(spec -> spec.isStatic(0)).orElse(false)
                || timeIds.map(spec -> spec.isStatic(0)).orElse(false);
        return !fixed;
    }

    /** Fails when the job's geometry or conditioning does not fit the graph. */
    void check(UnetRun.Shape shape, UnetConditioning conditioning) {
        int hidden = conditioning.width();
        if (sample.isStatic(1) && sample.dim(1) != shape.inChannels()) {
            throw model.error("input " + sample + " takes " + sample.dim(1) + " channels; the pipeline prepared "
                    + shape.inChannels());
        }
        if (text.isStatic(2) && text.dim(2) != hidden) {
            throw model.error("input " + text + " expects hidden size " + text.dim(2)
                    + " but the text encoder produces " + hidden);
        }
        if (addedConditions() != conditioning.textEmbeds().isPresent()
                || addedConditions() != conditioning.timeIds().isPresent()) {
            throw model.error(addedConditions() ? "takes SDXL's 'text_embeds' and 'time_ids', which the pipeline did"
                    + " not prepare" : "takes no 'text_embeds'/'time_ids', but the pipeline prepared them");
        }
        checkWidth(textEmbeds, conditioning.textEmbeds(), shape.batch());
        checkWidth(timeIds, conditioning.timeIds(), shape.batch());
    }

    private void checkWidth(Optional<TensorSpec> spec, Optional<float[]> rows, int batch) {
        if (spec.isPresent() && spec.get().isStatic(1)) {
            int width = UnetConditioning.rowWidth(rows, batch);
            if (width != spec.get().dim(1)) {
                throw model.error("input " + spec.get() + " takes " + spec.get().dim(1) + " values per entry; the"
                        + " pipeline prepared " + width);
            }
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
