package dev.easel.engine.onnx;

import dev.easel.engine.lora.LoraAdapter;
import dev.easel.engine.lora.Safetensors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    /**
     * A weight modules can adapt.
     *
     * @param out    output features (channels)
     * @param in     input features times the kernel area (a linear layer's in)
     * @param kernel the conv kernel [kh, kw], or [1, 1] for linear layers
     * @param inOut  whether it is stored [in, out] (MatMul, Gemm without transB)
     */
    record Target(OnnxGraphIndex.Initializer initializer, int out, int in, int[] kernel, boolean inOut) {

        /** The shape torch gives the weight, for messages. */
        String torchShape() {
            return kernel[0] == 1 && kernel[1] == 1 && inOut ? "[" + out + ", " + in + "]"
                    : "[" + out + ", " + in / (kernel[0] * kernel[1]) + ", " + kernel[0] + ", " + kernel[1] + "]";
        }
    }

    private final OnnxGraphIndex graph;
    private final LoraAdapter.Component component;
    /** Canonical module path → the weights it names (more than one: ambiguous). */
    private final Map<String, Map<String, Target>> targets;
    /** What each adapted initializer gets, by name, in the order adapters were added. */
    private final Map<String, List<Contribution>> contributions = new LinkedHashMap<>();

    /** Indexes the graph's adaptable weights. */
    public LoraPatch(OnnxGraphIndex graph, LoraAdapter.Component component) {
        this.graph = graph;
        this.component = component;
        this.targets = targets(graph);
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
        List<String> unmatched = new ArrayList<>();
        for (LoraAdapter.Module m : adapter.modules()) {
            if (m.component() != component) {
                continue;
            }
            Map<String, Target> found = targets.getOrDefault(m.path(), Map.of());
            if (found.isEmpty()) {
                unmatched.add(m.key());
                continue;
            }
            if (found.size() > 1) {
                throw new IllegalArgumentException(file.label() + ": module '" + m.key() + "' matches several weights of the "
                        + component.label() + " (" + String.join(", ", found.keySet()) + ")");
            }
            addModule(file, m, found.values().iterator().next(), scale);
        }
        if (!unmatched.isEmpty()) {
            throw new IllegalArgumentException(file.label() + ": " + unmatched.size() + " LoRA module"
                    + (unmatched.size() == 1 ? " matches" : "s match") + " no MatMul/Gemm/Conv weight of the "
                    + component.label() + ": "
                    + String.join(", ", unmatched.subList(0, Math.min(5, unmatched.size())))
                    + (unmatched.size() > 5 ? ", ..." : "")
                    + " (is the adapter for another model family?)");
        }
    }

    private void addModule(Safetensors file, LoraAdapter.Module m, Target t, double scale) {
        Safetensors.Tensor down = file.tensors().get(m.down());
        Safetensors.Tensor up = file.tensors().get(m.up());
        long[] d = down.shape();
        long[] u = up.shape();
        String both = "module '" + m.key() + "' (" + m.down() + " " + down.shapeText() + ", " + m.up() + " "
                + up.shapeText() + ")";
        if ((d.length != 2 && d.length != 4) || (u.length != 2 && u.length != 4)) {
            throw new IllegalArgumentException(file.label() + ": " + both + ": factors must be 2-D (linear) or 4-D (conv)");
        }
        if (u.length == 4 && (u[2] != 1 || u[3] != 1)) {
            throw new IllegalArgumentException(file.label() + ": tensor '" + m.up() + "' " + up.shapeText()
                    + " is a " + u[2] + "×" + u[3] + " up factor; only 1×1 up factors (LoCon) are supported");
        }
        long rank = d[0];
        boolean kernelFits = d.length == 4 ? d[2] == t.kernel()[0] && d[3] == t.kernel()[1]
                : t.kernel()[0] == 1 && t.kernel()[1] == 1;
        long inFlat = d.length == 4 ? d[1] * d[2] * d[3] : d[1];
        if (rank <= 0 || u[1] != rank || u[0] != t.out() || inFlat != t.in() || !kernelFits) {
            throw new IllegalArgumentException(file.label() + ": " + both + " does not fit the " + component.label()
                    + "'s weight '" + t.initializer().name() + "' of shape " + t.torchShape()
                    + " (torch's order); expected down [rank, in(, kh, kw)] and up [out, rank(, 1, 1)]");
        }
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
            Target t = e.getValue().get(0).target();
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
    private record Contribution(Target target, float[] down, float[] up, int rank, double factor) {

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

    /** Every MatMul/Gemm/Conv weight, by the module paths its name and its node's name give. */
    static Map<String, Map<String, Target>> targets(OnnxGraphIndex graph) {
        Map<String, OnnxGraphIndex.Node> producers = graph.producers();
        Map<String, Map<String, Target>> byPath = new HashMap<>();
        for (OnnxGraphIndex.Node n : graph.nodes()) {
            if (n.inputs().size() < 2) {
                continue;
            }
            Optional<OnnxGraphIndex.Initializer> weight = graph.weightBehind(producers, n.inputs().get(1));
            if (weight.isEmpty()) {
                continue;
            }
            Optional<Target> target = target(n, weight.get());
            if (target.isEmpty()) {
                continue;
            }
            String name = weight.get().name();
            if (name.endsWith(".weight")) {
                put(byPath, LoraAdapter.canonical(name.substring(0, name.length() - ".weight".length())), target.get());
            }
            int slash = n.name().lastIndexOf('/');
            if (slash > 0) {
                put(byPath, LoraAdapter.canonical(n.name().substring(0, slash)), target.get());
            }
        }
        return byPath;
    }

    private static void put(Map<String, Map<String, Target>> byPath, String path, Target t) {
        byPath.computeIfAbsent(path, k -> new LinkedHashMap<>()).putIfAbsent(t.initializer().name(), t);
    }

    private static Optional<Target> target(OnnxGraphIndex.Node n, OnnxGraphIndex.Initializer w) {
        long[] dims = w.dims();
        if (w.dataType() != OnnxGraphIndex.FLOAT && w.dataType() != OnnxGraphIndex.FLOAT16) {
            return Optional.empty();
        }
        int[] one = {1, 1};
        switch (n.opType()) {
            case "MatMul":
                return dims.length == 2 ? Optional.of(new Target(w, (int) dims[1], (int) dims[0], one, true))
                        : Optional.empty();
            case "Gemm":
                if (dims.length != 2 || n.ints().getOrDefault("transA", 0L) != 0) {
                    return Optional.empty();
                }
                boolean transB = n.ints().getOrDefault("transB", 0L) == 1;
                return Optional.of(transB ? new Target(w, (int) dims[0], (int) dims[1], one, false)
                        : new Target(w, (int) dims[1], (int) dims[0], one, true));
            case "Conv":
                // Grouped convolutions are not what LoRA factors describe.
                if (dims.length != 4 || n.ints().getOrDefault("group", 1L) != 1) {
                    return Optional.empty();
                }
                return Optional.of(new Target(w, (int) dims[0], (int) (dims[1] * dims[2] * dims[3]),
                        new int[] {(int) dims[2], (int) dims[3]}, false));
            default:
                return Optional.empty();
        }
    }

}
