package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.Map;
import java.util.Set;

/**
 * The VAE decoder: {@code latent_sample} [batch, latent_channels, h, w] →
 * {@code sample} [batch, 3, h·f, w·f] in [-1, 1], f being the VAE scale factor (8 for SD).
 * Decodes one image at a time: the decoder's activations at full resolution dominate memory.
 */
public final class VaeDecoder implements AutoCloseable {

    static final String LATENT = "latent_sample";
    static final String SAMPLE = "sample";
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec latent;
    private final TensorSpec image;

    public VaeDecoder(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.latent = model.input(LATENT, FLOAT_TYPES, Set.of(4));
        this.image = model.output(SAMPLE, FLOAT_TYPES, Set.of(4));
        model.requireOnlyInputs(Set.of(LATENT));
        if (image.isStatic(1) && image.dim(1) != 3) {
            throw model.error("output " + image + " has " + image.dim(1) + " channels; expected 3 (RGB)");
        }
    }

    /** latent_channels when the graph fixes it, else -1. */
    public int latentChannels() {
        return (int) latent.dim(1);
    }

    /**
     * The latent size [height, width] to run a small probe at: {@code preferred} on axes the graph
     * leaves free, the graph's own size on axes it fixes.
     */
    public int[] probeSize(int preferred) {
        return new int[]{latent.isStatic(2) ? (int) latent.dim(2) : preferred,
                latent.isStatic(3) ? (int) latent.dim(3) : preferred};
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * The scale factor from the graph: the ratio of fixed output to input sizes if both are static,
     * else measured by decoding an 8×8 latent of zeros once.
     */
    public int measureScaleFactor(int latentChannels) {
        if (latent.isStatic(2) && image.isStatic(2)) {
            return (int) (image.dim(2) / latent.dim(2));
        }
        int probe = 8;
        try (DirectTensor in = DirectTensor.allocate(sessions.environment(), latent.type(), 1, latentChannels, probe, probe);
             Result result = model.session().run(Map.of(LATENT, in.tensor()))) {
            long[] shape = ((OnnxTensor) result.get(0)).getInfo().getShape();
            if (shape.length != 4 || shape[2] % probe != 0) {
                throw model.error("output '" + SAMPLE + "' for an 8x8 latent has shape " + java.util.Arrays.toString(shape)
                        + "; expected [1, 3, 8*f, 8*f]");
            }
            return (int) (shape[2] / probe);
        } catch (OrtException e) {
            throw model.error("decoding an 8x8 probe latent failed: " + e.getMessage());
        }
    }

    /** Allocates one job's decoder buffers (batch 1). */
    public DecoderRun start(int latentChannels, int height, int width, int scaleFactor) {
        return new DecoderRun(latentChannels, height, width, scaleFactor);
    }

    /** One job's decoder tensors, reused for each image of the job. */
    public final class DecoderRun implements AutoCloseable {
        /** [1, latentChannels, height, width] */
        private final DirectTensor in;
        /** [1, 3, height·f, width·f], pinned output */
        private final DirectTensor out;
        private final Map<String, OnnxTensor> inputs;
        private final Map<String, OnnxTensor> pinned;

        private DecoderRun(int latentChannels, int height, int width, int scaleFactor) {
            in = DirectTensor.allocate(sessions.environment(), latent.type(), 1, latentChannels, height, width);
            try { // the output is the big one: if it cannot be allocated, the input is not left open
                out = DirectTensor.allocate(sessions.environment(), image.type(), 1, 3, (long) height * scaleFactor,
                        (long) width * scaleFactor);
            } catch (RuntimeException | Error e) {
                in.close();
                throw e;
            }
            inputs = Map.of(LATENT, in.tensor());
            pinned = Map.of(SAMPLE, out.tensor());
        }

        /**
         * @param latents  [n, latentChannels, h, w]; image {@code index} is decoded (already divided
         *                 by the scaling factor)
         * @param pixels   [3, h·f, w·f], overwritten with values in about [-1, 1]
         */
        public void decode(float[] latents, int index, float[] pixels) {
            in.write(latents, index * in.size());
            try (Result ignored = model.session().run(inputs, Set.of(), pinned)) {
                out.read(pixels, 0);
            } catch (OrtException e) {
                throw new IllegalStateException(model.file() + ": VAE decoder run failed: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            in.close();
            out.close();
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
