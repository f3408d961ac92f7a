package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The gradient graph of CLIP guidance, a bundle's {@code clip_guidance/model.onnx}: the VAE
 * decoder, CLIP's cutouts and preprocessing, the vision tower and the loss, with the backward pass
 * written out as forward operators (ONNX Runtime inference has no autograd; docs/decisions.md).
 * <pre>
 * latent_sample [batch, C, h, w] float32   latents as the VAE decoder takes them (x0 / scaling_factor)
 * text_embeds   [batch, D]       float32   the target text embedding (unit length)
 *   → loss [batch] float32                  spherical distance loss, mean over the graph's cutouts
 *   → grad [batch, C, h, w] float32         d loss / d latent_sample
 * </pre>
 * Thread-safe: each call allocates its own tensors.
 */
public final class ClipGuidanceModel implements AutoCloseable {

    static final String LATENT = "latent_sample";
    static final String TEXT = "text_embeds";
    static final String LOSS = "loss";
    static final String GRAD = "grad";
    private static final Set<OnnxJavaType> FLOAT = Set.of(OnnxJavaType.FLOAT);
    private static final Set<String> OUTPUTS = Set.of(LOSS, GRAD);

    private final OnnxModel model;
    private final OnnxSessions sessions;
    private final TensorSpec latent;
    private final TensorSpec text;

    public ClipGuidanceModel(OnnxModel model, OnnxSessions sessions) {
        this.model = model;
        this.sessions = sessions;
        this.latent = model.input(LATENT, FLOAT, Set.of(4));
        this.text = model.input(TEXT, FLOAT, Set.of(2));
        model.output(LOSS, FLOAT, Set.of(1));
        TensorSpec grad = model.output(GRAD, FLOAT, Set.of(4));
        model.requireOnlyInputs(Set.of(LATENT, TEXT));
        for (int axis = 1; axis < 4; axis++) {
            if (latent.isStatic(axis) && grad.isStatic(axis) && latent.dim(axis) != grad.dim(axis)) {
                throw model.error("output " + grad + " must have the shape of input " + latent);
            }
        }
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * The latent size the graph was built for, when it fixes it (a graph whose cutouts or vision
     * tower take one picture size does): {@code [C, h, w]}, each -1 where the graph leaves it open.
     */
    public int[] latentShape() {
        return new int[] {(int) latent.dim(1), (int) latent.dim(2), (int) latent.dim(3)};
    }

    /** The text embedding size when the graph fixes it, else -1. */
    public int textDim() {
        return (int) text.dim(1);
    }

    /**
     * The loss and its gradient for one image (allocates its tensors; a job's loop uses {@link #start}).
     *
     * @param latents    [C, h, w] (decoder input scale) from {@code offset}
     * @param textEmbeds [D] unit-length target
     * @param grad       [C, h, w] overwritten with d loss / d latents
     * @return the loss
     */
    public float lossAndGradient(float[] latents, int offset, int channels, int height, int width,
                                 float[] textEmbeds, float[] grad) {
        try (GuidanceRun run = start(channels, height, width, textEmbeds)) {
            return run.lossAndGradient(latents, offset, grad);
        }
    }

    /** One job's tensors (batch 1), the target written once; reused for every step and image. */
    public GuidanceRun start(int channels, int height, int width, float[] textEmbeds) {
        return new GuidanceRun(channels, height, width, textEmbeds);
    }

    /** Per-job tensors of the gradient graph. */
    public final class GuidanceRun implements AutoCloseable {
        private final long[] shape;
        private final DirectTensor in;
        private final DirectTensor target;
        private final Map<String, OnnxTensor> inputs;
        private final float[] loss = new float[1];

        private GuidanceRun(int channels, int height, int width, float[] textEmbeds) {
            shape = new long[] {1, channels, height, width};
            in = DirectTensor.allocate(sessions.environment(), OnnxJavaType.FLOAT, shape);
            target = DirectTensor.allocate(sessions.environment(), OnnxJavaType.FLOAT, 1, textEmbeds.length);
            target.write(textEmbeds, 0);
            inputs = Map.of(LATENT, in.tensor(), TEXT, target.tensor());
        }

        /**
         * @param latents [C, h, w] (decoder input scale) from {@code offset}
         * @param grad    [C, h, w] overwritten with d loss / d latents
         * @return the loss
         */
        public float lossAndGradient(float[] latents, int offset, float[] grad) {
            in.write(latents, offset);
            try (Result result = model.session().run(inputs, OUTPUTS)) {
                OnnxTensor g = (OnnxTensor) result.get(GRAD).orElseThrow();
                if (!Arrays.equals(g.getInfo().getShape(), shape)) {
                    throw model.error("output '" + GRAD + "' has shape " + Arrays.toString(g.getInfo().getShape())
                            + "; expected " + Arrays.toString(shape));
                }
                DirectTensor.readFloats(g, grad);
                DirectTensor.readFloats((OnnxTensor) result.get(LOSS).orElseThrow(), loss);
                return loss[0];
            } catch (OrtException e) {
                throw new IllegalStateException(model.file() + ": CLIP guidance run failed: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            in.close();
            target.close();
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
