package dev.easel.engine.onnx;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds a UNet's cross-attention key and value projections by the graph's structure: the MatMul
 * (or Gemm) nodes that multiply the graph input {@code encoder_hidden_states} — directly or
 * through shape- and type-only ops (Cast for float16 exports, Reshape, Identity, ...) — by a 2-D
 * weight initializer (possibly through a Cast of it). Only the text reaches those nodes, so
 * self-attention and feed-forward layers are never picked, whatever they are named.
 *
 * <p>Key or value: a name containing {@code to_k}/{@code to_v} (node or weight, as diffusers'
 * exports name them) decides; otherwise the structure does: the value's product meets the
 * attention probabilities (a Softmax output) in its next MatMul, the key's meets the queries.
 *
 * <p>Attention pooling of the text counts too: a MatMul of attention probabilities (a Softmax
 * output) by the text itself, followed by a linear layer, is a one-query attention whose value
 * projection is that layer (softmax weights commute with it: W·Σaᵢcᵢ = Σaᵢ·W·cᵢ). Such a pooled
 * summary of the caption (the project's demo UNet adds one to its timestep embedding, as SDXL adds
 * its pooled text embedding) carries the concepts an edit must change, so its layer is edited as a
 * value. Stable Diffusion's own graphs have none: their attention multiplies probabilities by
 * projected values, never by the text itself.
 *
 * <p>Layout: MatMul computes x·S with S stored [in, out]; the math's W ([out, in], y = W·x) is Sᵀ.
 * A Gemm with {@code transB = 1} stores W itself ([out, in]); {@link Projection#transposed} says so.
 */
public final class CrossAttentionProjections {

    /** The UNet input the projections read. */
    public static final String TEXT_INPUT = "encoder_hidden_states";
    /** Ops that pass the text through without mixing tokens or features. */
    private static final Set<String> PASS_THROUGH = Set.of("Cast", "Reshape", "Identity", "Squeeze", "Unsqueeze",
            "Flatten");
    /** Ops walked from a projection's output to the attention MatMul it feeds. */
    private static final Set<String> TOWARD_SCORES = Set.of("Reshape", "Transpose", "Cast", "Identity", "Mul", "Div",
            "Add", "Squeeze", "Unsqueeze");

    /** Which projection of a cross-attention. */
    public enum Kind {
        KEY, VALUE;

        /** "key" or "value". */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One projection.
     *
     * @param node        the MatMul/Gemm node's name (may be empty)
     * @param weight      its weight initializer
     * @param kind        key or value
     * @param in          the text width it takes
     * @param out         the width it projects to
     * @param transposed  whether the weight is stored [out, in] (Gemm transB=1) rather than [in, out]
     * @param dataType    the initializer's ONNX data type (1 float32, 10 float16)
     */
    public record Projection(String node, String weight, Kind kind, int in, int out, boolean transposed,
                             int dataType) {
    }

    private CrossAttentionProjections() {
    }

    /**
     * The model's cross-attention projections in graph order.
     *
     * @throws IllegalArgumentException when the graph has no {@code encoder_hidden_states} input, no
     *         projection of it, or one that cannot be told key from value
     */
    public static List<Projection> find(OnnxGraphIndex graph) {
        if (!graph.graphInputs().contains(TEXT_INPUT)) {
            throw new IllegalArgumentException(graph.modelFile() + ": the model has no input '" + TEXT_INPUT
                    + "', so it has no cross-attention to rewrite (inputs: " + graph.graphInputs() + ")");
        }
        Map<String, List<OnnxGraphIndex.Node>> consumers = consumers(graph.nodes());
        Map<String, OnnxGraphIndex.Node> producers = graph.producers();
        Set<String> text = textValues(consumers);
        List<Projection> found = new ArrayList<>();
        for (OnnxGraphIndex.Node n : graph.nodes()) {
            boolean matmul = n.opType().equals("MatMul");
            boolean gemm = n.opType().equals("Gemm") && n.ints().getOrDefault("transA", 0L) == 0;
            if ((!matmul && !gemm) || n.inputs().size() < 2 || !text.contains(n.inputs().get(0))) {
                continue;
            }
            Optional<OnnxGraphIndex.Initializer> weight = graph.weightBehind(producers, n.inputs().get(1));
            if (weight.isEmpty() || weight.get().dims().length != 2) {
                continue;
            }
            OnnxGraphIndex.Initializer w = weight.get();
            boolean transposed = gemm && n.ints().getOrDefault("transB", 0L) == 1;
            int in = (int) w.dims()[transposed ? 1 : 0];
            int out = (int) w.dims()[transposed ? 0 : 1];
            Kind kind = kind(n, w, consumers, producers).orElseThrow(() -> new IllegalArgumentException(
                    graph.modelFile() + ": cannot tell whether projection '" + n.name() + "' (weight '" + w.name()
                            + "') is a key or a value: it is not named to_k/to_v and does not feed a plain attention"));
            found.add(new Projection(n.name(), w.name(), kind, in, out, transposed, w.dataType()));
        }
        found.addAll(pooledValueProjections(graph, consumers, producers, text));
        if (found.isEmpty()) {
            throw new IllegalArgumentException(graph.modelFile() + ": no MatMul/Gemm multiplies '" + TEXT_INPUT
                    + "' by a weight, so the model has no cross-attention projections to rewrite");
        }
        return found;
    }

    /**
     * The linear layers right after an attention pooling of the text (probabilities · text): the
     * MatMul/Gemm nodes that take the pooled text, through pass-through ops, by a 2-D weight as wide as the text.
     */
    private static List<Projection> pooledValueProjections(OnnxGraphIndex graph,
            Map<String, List<OnnxGraphIndex.Node>> consumers, Map<String, OnnxGraphIndex.Node> producers,
            Set<String> text) {
        List<Projection> found = new ArrayList<>();
        for (OnnxGraphIndex.Node pool : graph.nodes()) {
            if (!pool.opType().equals("MatMul") || pool.inputs().size() < 2 || !text.contains(pool.inputs().get(1))
                    || !fromSoftmax(pool.inputs().get(0), producers)) {
                continue;
            }
            Deque<String> todo = new ArrayDeque<>(pool.outputs());
            Set<String> seen = new HashSet<>(pool.outputs());
            while (!todo.isEmpty()) {
                String value = todo.poll();
                for (OnnxGraphIndex.Node c : consumers.getOrDefault(value, List.of())) {
                    boolean gemm = c.opType().equals("Gemm") && c.ints().getOrDefault("transA", 0L) == 0;
                    if ((c.opType().equals("MatMul") || gemm) && c.inputs().size() >= 2
                            && c.inputs().get(0).equals(value)) {
                        graph.weightBehind(producers, c.inputs().get(1)).filter(w -> w.dims().length == 2).ifPresent(w -> {
                            boolean transposed = gemm && c.ints().getOrDefault("transB", 0L) == 1;
                            found.add(new Projection(c.name(), w.name(), Kind.VALUE, (int) w.dims()[transposed ? 1 : 0],
                                    (int) w.dims()[transposed ? 0 : 1], transposed, w.dataType()));
                        });
                    } else if (PASS_THROUGH.contains(c.opType()) && c.inputs().get(0).equals(value)) {
                        c.outputs().stream().filter(seen::add).forEach(todo::add);
                    }
                }
            }
        }
        return found;
    }

    private static Map<String, List<OnnxGraphIndex.Node>> consumers(List<OnnxGraphIndex.Node> nodes) {
        Map<String, List<OnnxGraphIndex.Node>> consumers = new HashMap<>();
        for (OnnxGraphIndex.Node n : nodes) {
            for (String in : n.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        return consumers;
    }

    /** encoder_hidden_states and every value derived from it by pass-through ops alone. */
    private static Set<String> textValues(Map<String, List<OnnxGraphIndex.Node>> consumers) {
        Set<String> text = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>();
        todo.add(TEXT_INPUT);
        text.add(TEXT_INPUT);
        while (!todo.isEmpty()) {
            String value = todo.poll();
            for (OnnxGraphIndex.Node n : consumers.getOrDefault(value, List.of())) {
                // Only the data input passes the text on (a Reshape's shape input does not).
                if (PASS_THROUGH.contains(n.opType()) && n.inputs().get(0).equals(value)) {
                    for (String o : n.outputs()) {
                        if (text.add(o)) {
                            todo.add(o);
                        }
                    }
                }
            }
        }
        return text;
    }


    private static Optional<Kind> kind(OnnxGraphIndex.Node n, OnnxGraphIndex.Initializer w,
            Map<String, List<OnnxGraphIndex.Node>> consumers, Map<String, OnnxGraphIndex.Node> producers) {
        String names = (n.name() + " " + w.name()).toLowerCase(Locale.ROOT);
        boolean k = names.contains("to_k");
        boolean v = names.contains("to_v");
        if (k != v) {
            return Optional.of(k ? Kind.KEY : Kind.VALUE);
        }
        return byStructure(n, consumers, producers);
    }

    /** Walks forward to the first MatMul; its other operand coming from a Softmax makes this a value. */
    private static Optional<Kind> byStructure(OnnxGraphIndex.Node n, Map<String, List<OnnxGraphIndex.Node>> consumers,
            Map<String, OnnxGraphIndex.Node> producers) {
        String value = n.outputs().get(0);
        for (int step = 0; step < 8; step++) {
            List<OnnxGraphIndex.Node> next = consumers.getOrDefault(value, List.of());
            if (next.size() != 1) {
                return Optional.empty();
            }
            OnnxGraphIndex.Node c = next.get(0);
            if (c.opType().equals("MatMul")) {
                String other = c.inputs().get(0).equals(value) ? c.inputs().get(1) : c.inputs().get(0);
                return Optional.of(fromSoftmax(other, producers) ? Kind.VALUE : Kind.KEY);
            }
            if (!TOWARD_SCORES.contains(c.opType())) {
                return Optional.empty();
            }
            value = c.outputs().get(0);
        }
        return Optional.empty();
    }

    private static boolean fromSoftmax(String value, Map<String, OnnxGraphIndex.Node> producers) {
        String v = value;
        for (int step = 0; step < 8; step++) {
            OnnxGraphIndex.Node p = producers.get(v);
            if (p == null) {
                return false;
            }
            if (p.opType().equals("Softmax")) {
                return true;
            }
            if (!TOWARD_SCORES.contains(p.opType()) || p.inputs().isEmpty()) {
                return false;
            }
            v = p.inputs().get(0);
        }
        return false;
    }
}
