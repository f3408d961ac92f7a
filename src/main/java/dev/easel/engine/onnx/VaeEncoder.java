package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.Map;
import java.util.Set;

/**
 * The VAE encoder: {@code sample} [1, 3, H, W] in [-1, 1] → either {@code latent_sample}
 * [1, C, H/f, W/f] (the older diffusers export, a sample of the posterior) or Optimum's
 * {@code latent_parameters} [1, 2C, H/f, W/f] (mean ‖ log-variance), of which the mean is used.
 * diffusers samples the posterior with the job's generator instead; the mean keeps image inputs
 * deterministic and differs only by the posterior's small spread, far below the noise that any
 * useful strength adds.
 */
public final class VaeEncoder implements AutoCloseable {

    static final String SAMPLE = "sample";
    static final String LATENT_SAMPLE = "latent_sample";
    static final String LATENT_PARAMETERS = "latent_parameters";
    private static final Set<OnnxJavaType> FLOAT_TYPES = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec image;
    private final TensorSpec latent;
    private final boolean parameters;

    public VaeEncoder(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.image = model.input(SAMPLE, FLOAT_TYPES, Set.of(4));
        model.requireOnlyInputs(Set.of(SAMPLE));
        this.parameters = model.outputs().containsKey(LATENT_PARAMETERS);
        this.latent = model.output(parameters ? LATENT_PARAMETERS : LATENT_SAMPLE, FLOAT_TYPES, Set.of(4));
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Encodes one image.
     *
     * @param pixels [3, H, W] in [-1, 1]
     * @param out    [latentChannels, H/f, W/f], overwritten with the latent mean (unscaled)
     */
    public void encode(float[] pixels, int height, int width, int latentChannels, float[] out) {
        try (DirectTensor in = DirectTensor.allocate(sessions.environment(), image.type(), 1, 3, height, width)) {
            in.write(pixels, 0);
            try (Result result = model.session().run(Map.of(SAMPLE, in.tensor()))) {
                OnnxTensor tensor = (OnnxTensor) result.get(latent.name()).orElseThrow();
                long[] shape = tensor.getInfo().getShape();
                int expectedChannels = parameters ? 2 * latentChannels : latentChannels;
                if (shape.length != 4 || shape[1] != expectedChannels || (long) out.length * expectedChannels
                        != shape[1] * shape[2] * shape[3] * latentChannels) {
                    throw model.error("output '" + latent.name() + "' has shape " + java.util.Arrays.toString(shape)
                            + "; expected [1, " + expectedChannels + ", " + "H/f, W/f] for a " + height + "x" + width
                            + " image");
                }
                // The whole latent, or the mean half of the parameters.
                DirectTensor.readFloats(tensor, out);
            }
        } catch (OrtException e) {
            throw new IllegalStateException(model.file() + ": VAE encoder run failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
