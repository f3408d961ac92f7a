package dev.easel.engine.onnx;

import dev.easel.engine.lora.LoraAdapter;
import dev.easel.engine.lora.Safetensors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges LoRA adapters into one ONNX graph's weights: W' = W + Σ scale · (alpha / rank) · up · down
 * for every module of the adapters that belongs to this graph, computed in float64 from the
 * stored weight (float32 or float16, inline or external) and returned as {@link WeightPatch}es in
 * the weight's own layout and type. Weights no adapter touches get no patch.
 *
 * <p>Which weight a module adapts: exporters rename initializers (a MatMul's weight becomes
 * {@code onnx::MatMul_123}, stored transposed), so modules are matched by path against every
 * MatMul, Gemm and Conv node's weight (directly or through a Cast): by the weight's name
 * {@code <module>.weight}, or by the node's name {@code /<module as a/b.0/c>/<Op>}, as torch's
 * exporter names nodes. Layouts: MatMul and Gemm without transB store [in, out]; Gemm with transB
 * and Conv store torch's [out, in(, kh, kw)].
 *
 * <p>Conv LoRA (LoCon): down [r, in, kh, kw] with a 1×1 up [out, r, 1, 1] is merged exactly; a k×k
 * up factor is refused. Not thread-safe; one per graph and model build.
 */
public final class LoraPatch {

    private final OnnxGraphIndex graph;
    private final LoraTargets targets;
    /** What each adapted initializer gets, by name, in the order adapters were added. */
    private final Map<String, List<Contribution>> contributions = new LinkedHashMap<>();

    /** Indexes the graph's adaptable weights. */
    public LoraPatch(OnnxGraphIndex graph, LoraAdapter.Component component) {
        this.graph = graph;
        this.targets = LoraTargets.of(graph, component);
    }

    /**
     * Adds one adapter's modules for this graph's component, times {@code scale} (0 checks them
     * and adds nothing).
     *
     * @throws IllegalArgumentException naming the adapter file and tensor when a module matches no
     *         weight, is ambiguous, or its factors do not fit the weight
     */
    public void add(LoraAdapter adapter, double scale) {
        Safetensors file = adapter.file();
        for (Map.Entry<LoraAdapter.Module, LoraTargets.Target> e : targets.match(adapter).entrySet()) {
            addModule(file, e.getKey(), e.getValue(), scale);
        }
    }

    /** One module, its factors' shapes already checked against the weight ({@link LoraTargets#match}). */
    private void addModule(Safetensors file, LoraAdapter.Module m, LoraTargets.Target t, double scale) {
        long rank = file.tensors().get(m.down()).shape()[0];
        double alpha = rank;
        if (m.alpha().isPresent()) {
            float[] a = file.floats(m.alpha().get());
            if (a.length != 1 || !Float.isFinite(a[0])) {
                throw new IllegalArgumentException(file.label() + ": tensor '" + m.alpha().get()
                        + "' must hold one finite number, the module's alpha");
            }
            alpha = a[0];
        }
        float[] downValues = file.floats(m.down());
        float[] upValues = file.floats(m.up());
        if (scale == 0) {
            return; // checked, nothing to add: scale 0 leaves the weights bit for bit
        }
        contributions.computeIfAbsent(t.initializer().name(), k -> new ArrayList<>())
                .add(new Contribution(t, downValues, upValues, (int) rank, scale * alpha / rank));
    }

    /**
     * The adapted weights, stored weight plus the summed deltas (in float64, rounded once), in
     * their own layout and type. Deltas are formed row by row here rather than kept whole: a
     * float64 copy of every adapted weight of a real UNet would take gigabytes.
     */
    public List<WeightPatch> patches() throws IOException {
        List<WeightPatch> patches = new ArrayList<>();
        for (Map.Entry<String, List<Contribution>> e : contributions.entrySet()) {
            OnnxGraphIndex.Initializer init = graph.initializers().get(e.getKey());
            float[] values = graph.floats(init);
            LoraTargets.Target t = e.getValue().get(0).target();
            int in = t.in();
            int out = t.out();
            double[] row = new double[in];
            for (int o = 0; o < out; o++) {
                Arrays.fill(row, 0);
                for (Contribution c : e.getValue()) {
                    c.addRow(o, row);
                }
                for (int j = 0; j < in; j++) {
                    int at = t.inOut() ? j * out + o : o * in + j;
                    values[at] = (float) (values[at] + row[j]);
                }
            }
            patches.add(new WeightPatch(init.name(), init.dataType(), init.dims(), values));
        }
        return patches;
    }

    /** One module's factors on a weight: its delta's row o is factor · Σₖ up[o, k] · down[k, :]. */
    private record Contribution(LoraTargets.Target target, float[] down, float[] up, int rank, double factor) {

        void addRow(int o, double[] row) {
            int in = row.length;
            for (int k = 0; k < rank; k++) {
                double w = up[o * rank + k] * factor;
                if (w == 0) {
                    continue;
                }
                int base = k * in;
                for (int j = 0; j < in; j++) {
                    row[j] += w * down[base + j];
                }
            }
        }
    }
}
