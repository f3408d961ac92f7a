package dev.easel.engine.onnx;

import dev.easel.engine.lora.LoraAdapter;
import dev.easel.engine.lora.Safetensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The weights of one graph that LoRA modules can adapt, by module path, and the check that an
 * adapter's modules find them and fit them ({@link LoraPatch}'s matching, which merges the
 * values). Holds shapes and names, not the graph's bytes, so a model can keep one per graph and
 * check each job's adapters against it from their headers alone. Immutable; shared between jobs.
 */
public final class LoraTargets {

    /**
     * A weight modules can adapt.
     *
     * @param out    output features (channels)
     * @param in     input features times the kernel area (a linear layer's in)
     * @param kernel the conv kernel [kh, kw], or [1, 1] for linear layers
     * @param inOut  whether it is stored [in, out] (MatMul, Gemm without transB)
     */
    public record Target(OnnxGraphIndex.Initializer initializer, int out, int in, int[] kernel, boolean inOut) {

        /** The shape torch gives the weight, for messages. */
        String torchShape() {
            return kernel[0] == 1 && kernel[1] == 1 && inOut ? "[" + out + ", " + in + "]"
                    : "[" + out + ", " + in / (kernel[0] * kernel[1]) + ", " + kernel[0] + ", " + kernel[1] + "]";
        }
    }


    private final LoraAdapter.Component component;
    /** Canonical module path → the weights it names (more than one: ambiguous). */
    private final Map<String, Map<String, Target>> byPath;

    private LoraTargets(LoraAdapter.Component component, Map<String, Map<String, Target>> byPath) {
        this.component = component;
        this.byPath = byPath;
    }

    /** The adaptable weights of a graph that belongs to {@code component}. */
    public static LoraTargets of(OnnxGraphIndex graph, LoraAdapter.Component component) {
        return new LoraTargets(component, targets(graph));
    }

    /**
     * The adapter's modules for this graph's component, each with the weight it adapts, in the
     * adapter's order. Reads shapes only (an adapter read with its header alone will do).
     *
     * @throws IllegalArgumentException naming the adapter file and tensor when a module matches no
     *         weight, is ambiguous, or its factors do not fit the weight
     */
    public Map<LoraAdapter.Module, Target> match(LoraAdapter adapter) {
        Safetensors file = adapter.file();
        Map<LoraAdapter.Module, Target> matched = new LinkedHashMap<>();
        List<String> unmatched = new ArrayList<>();
        for (LoraAdapter.Module m : adapter.modules()) {
            if (m.component() != component) {
                continue;
            }
            Map<String, Target> found = byPath.getOrDefault(m.path(), Map.of());
            if (found.isEmpty()) {
                unmatched.add(m.key());
                continue;
            }
            if (found.size() > 1) {
                throw new IllegalArgumentException(file.label() + ": module '" + m.key() + "' matches several weights of the "
                        + component.label() + " (" + String.join(", ", found.keySet()) + ")");
            }
            Target t = found.values().iterator().next();
            checkFits(file, m, t);
            matched.put(m, t);
        }
        if (!unmatched.isEmpty()) {
            throw new IllegalArgumentException(file.label() + ": " + unmatched.size() + " LoRA module"
                    + (unmatched.size() == 1 ? " matches" : "s match") + " no MatMul/Gemm/Conv weight of the "
                    + component.label() + ": "
                    + String.join(", ", unmatched.subList(0, Math.min(5, unmatched.size())))
                    + (unmatched.size() > 5 ? ", ..." : "")
                    + " (is the adapter for another model family?)");
        }
        return matched;
    }

    private void checkFits(Safetensors file, LoraAdapter.Module m, Target t) {
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
