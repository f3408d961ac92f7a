package dev.easel.engine.onnx;

import dev.easel.engine.patch.ClosedFormEdit;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Applies a {@link ClosedFormEdit} to a UNet's cross-attention projections: reads each chosen
 * projection's weight (float32 or float16, inline or external), edits it in float64 and returns
 * the new values as {@link WeightPatch}es in the weight's own layout and type. Other initializers
 * are not touched. Stateless.
 */
public final class CrossAttentionPatch {

    private CrossAttentionPatch() {
    }

    /**
     * Patches for the projections of the given kinds.
     *
     * @throws IllegalArgumentException when a projection's width is not the edit's text width
     */
    public static List<WeightPatch> compute(OnnxGraphIndex graph, List<CrossAttentionProjections.Projection> found,
                                            Set<CrossAttentionProjections.Kind> kinds, ClosedFormEdit edit)
            throws IOException {
        List<WeightPatch> patches = new ArrayList<>();
        Set<String> done = new LinkedHashSet<>();
        for (CrossAttentionProjections.Projection p : found) {
            // A weight shared by two projections is edited once.
            if (!kinds.contains(p.kind()) || !done.add(p.weight())) {
                continue;
            }
            if (p.in() != edit.width()) {
                throw new IllegalArgumentException(graph.modelFile() + ": projection '" + p.weight() + "' takes "
                        + p.in() + " text features but the concept embeddings have " + edit.width());
            }
            OnnxGraphIndex.Initializer init = graph.initializers().get(p.weight());
            float[] stored = graph.floats(init);
            double[] s = inOutLayout(stored, p);
            double[] edited = edit.apply(s, p.out());
            patches.add(new WeightPatch(p.weight(), p.dataType(), init.dims(), storedLayout(edited, p)));
        }
        return patches;
    }

    /** The weight as S [in, out] in float64 (a Gemm transB=1 weight is stored [out, in]). */
    private static double[] inOutLayout(float[] stored, CrossAttentionProjections.Projection p) {
        double[] s = new double[stored.length];
        for (int i = 0; i < p.in(); i++) {
            for (int o = 0; o < p.out(); o++) {
                s[i * p.out() + o] = stored[p.transposed() ? o * p.in() + i : i * p.out() + o];
            }
        }
        return s;
    }

    private static float[] storedLayout(double[] s, CrossAttentionProjections.Projection p) {
        float[] out = new float[s.length];
        for (int i = 0; i < p.in(); i++) {
            for (int o = 0; o < p.out(); o++) {
                out[p.transposed() ? o * p.in() + i : i * p.out() + o] = (float) s[i * p.out() + o];
            }
        }
        return out;
    }
}
