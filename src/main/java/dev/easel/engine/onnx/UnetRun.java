package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One job's UNet tensors: allocated once, reused every step. ONNX Runtime reads the inputs from
 * and writes {@code out_sample} into direct buffers (a pinned output), so a step costs two bulk
 * copies at the float32 boundary and the session run.
 */
public final class UnetRun implements UnetStep {

    /**
     * @param batch       UNet batch (2 × images with classifier-free guidance)
     * @param inChannels  4, or 9 for inpainting UNets (latents ‖ mask ‖ masked-image latents)
     * @param outChannels latent channels
     */
    public record Shape(int batch, int inChannels, int outChannels, int height, int width) {
        /** Values per batch row of {@code sample}. */
        int inputRow() {
            return inChannels * height * width;
        }

        /** Values per batch row of {@code out_sample}. */
        int outputRow() {
            return outChannels * height * width;
        }

        int inputSize() {
            return batch * inChannels * height * width;
        }

        int outputSize() {
            return batch * outChannels * height * width;
        }
    }

    record Types(OnnxJavaType sample, OnnxJavaType timestep, OnnxJavaType text, OnnxJavaType out,
                 boolean scalarTimestep, Optional<OnnxJavaType> textEmbeds, Optional<OnnxJavaType> timeIds) {
    }

    private final OnnxModel model;
    private final Shape shape;
    /** [batch, inChannels, height, width] */
    private final DirectTensor sample;
    /** [batch] or [] */
    private final DirectTensor timestep;
    /** [batch, sequence, hidden], written once */
    private final DirectTensor text;
    /** [batch, outChannels, height, width], pinned output */
    private final DirectTensor out;
    /** Every tensor above, and SDXL's [batch, projection] and [batch, 5 or 6] written once: closed together. */
    private final List<DirectTensor> owned = new ArrayList<>();
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> pinned;

    UnetRun(OnnxModel model, OrtEnvironment env, Types types, Shape shape, UnetConditioning conditioning) {
        int sequence = conditioning.sequence();
        int hidden = conditioning.width();
        float[] textEmbeddings = conditioning.hidden();
        if (textEmbeddings.length != shape.batch() * sequence * hidden) {
            throw new IllegalArgumentException("text embeddings hold " + textEmbeddings.length + " values; expected "
                    + shape.batch() + "x" + sequence + "x" + hidden);
        }
        this.model = model;
        this.shape = shape;
        // A later allocation can fail (native memory for a big batch): those made before it are closed.
        try {
            this.sample = own(DirectTensor.allocate(env, types.sample(), shape.batch(), shape.inChannels(),
                    shape.height(), shape.width()));
            this.timestep = own(types.scalarTimestep()
                    ? DirectTensor.allocate(env, types.timestep())
                    : DirectTensor.allocate(env, types.timestep(), shape.batch()));
            this.text = own(DirectTensor.allocate(env, types.text(), shape.batch(), sequence, hidden));
            this.out = own(DirectTensor.allocate(env, types.out(), shape.batch(), shape.outChannels(), shape.height(),
                    shape.width()));
            text.write(textEmbeddings, 0);
            Map<String, OnnxTensor> feeds = new HashMap<>(Map.of(Unet.SAMPLE, sample.tensor(), Unet.TIMESTEP,
                    timestep.tensor(), Unet.TEXT, text.tensor()));
            addRows(env, types.textEmbeds(), conditioning.textEmbeds(), shape.batch()).ifPresent(t -> {
                feeds.put(Unet.TEXT_EMBEDS, t.tensor());
            });
            addRows(env, types.timeIds(), conditioning.timeIds(), shape.batch()).ifPresent(t -> {
                feeds.put(Unet.TIME_IDS, t.tensor());
            });
            this.inputs = Map.copyOf(feeds);
            this.pinned = Map.of(Unet.OUT, out.tensor());
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private DirectTensor own(DirectTensor tensor) {
        owned.add(tensor);
        return tensor;
    }

    /** Allocates and writes one [batch, width] added condition, kept for closing. */
    private Optional<DirectTensor> addRows(OrtEnvironment env, Optional<OnnxJavaType> type, Optional<float[]> rows,
                                           int batch) {
        if (type.isEmpty() || rows.isEmpty()) {
            return Optional.empty();
        }
        DirectTensor tensor = own(DirectTensor.allocate(env, type.get(), batch, rows.get().length / batch));
        tensor.write(rows.get(), 0);
        return Optional.of(tensor);
    }

    public Shape shape() {
        return shape;
    }

    @Override
    public void predict(float[] modelInput, double t, float[] prediction) {
        sample.write(modelInput, 0);
        timestep.fill(t);
        try (Result ignored = model.session().run(inputs, Set.of(), pinned)) {
            out.read(prediction, 0);
        } catch (OrtException e) {
            throw new IllegalStateException(model.file() + ": UNet run failed at timestep " + t + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        owned.forEach(DirectTensor::close);
        owned.clear();
    }
}
