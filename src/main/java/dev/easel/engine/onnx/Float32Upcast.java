package dev.easel.engine.onnx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/**
 * Rewrites an ONNX model in memory so that every float16 becomes float32: initializers and tensor
 * attributes (Constant, ConstantOfShape) are widened, graph inputs/outputs/value_info are retyped,
 * and dtype attributes (Cast {@code to}, RandomNormal/EyeLike {@code dtype}, ...) that name float16
 * name float32 instead. Subgraphs (If/Loop/Scan), sparse initializers and model-local functions
 * are rewritten too; everything else is copied through byte for byte, so a model without float16
 * comes out identical.
 *
 * <p>Why: SDXL's VAE overflows in float16 ({@code force_upcast} in its config); diffusers runs it in
 * float32. A float16 ONNX export can be decoded the same way by opening a session on the upcast
 * bytes, without writing a second copy of the bundle.
 *
 * <p>The model is read with a hand-written protobuf wire-format reader (the engine has no protobuf
 * library). Weights must be inline: a tensor stored as external data fails with an
 * {@link IllegalArgumentException}, because a session opened from bytes cannot resolve the data
 * file and inlining it could break protobuf's 2 GB limit. VAE decoders (about 100 MB in float16)
 * are exported inline. Malformed input also fails with an {@link IllegalArgumentException}.
 * The rewrite holds the input and about twice its size in heap while it runs (100 MB of float16
 * weights widen in about 0.2 s). bfloat16 is left alone.
 *
 * <p>Field numbers are onnx.proto's, checked against the generated {@code OnnxMl} classes.
 */
public final class Float32Upcast {

    /** Like protobuf-java's default recursion limit; stops stack overflows on hostile nesting. */
    private static final int MAX_DEPTH = 100;
    /**
     * INT attributes that name an element type: Cast {@code to}; RandomNormal[Like],
     * RandomUniform[Like], EyeLike, Multinomial, Bernoulli {@code dtype}; {@code output_dtype}.
     * Matched by name in any domain; only the value 10 (FLOAT16) is changed.
     */
    private static final Set<String> DTYPE_ATTRIBUTES = Set.of("to", "dtype", "output_dtype");

    private final byte[] src;
    private int depth;

    private Float32Upcast(byte[] src) {
        this.src = src;
    }

    /** The model with every float16 turned into float32; the input array is not modified. */
    public static byte[] upcast(byte[] model) {
        Objects.requireNonNull(model, "model");
        return new Float32Upcast(model).model();
    }

    /** Reads a model file and upcasts it; see {@link #upcast(byte[])}. */
    public static byte[] upcast(Path modelFile) throws IOException {
        long size = Files.size(modelFile);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(modelFile + " is " + size + " bytes, over protobuf's 2 GB limit;"
                    + " upcasting needs a model with its weights inline");
        }
        return upcast(Files.readAllBytes(modelFile));
    }

    /** Rewrites one field; false leaves it to be copied unchanged. */
    @FunctionalInterface
    private interface FieldRule {
        boolean apply(WireField field, WireWriter out);
    }

    /** Rewrites one message in {@code src[start, end)}. */
    @FunctionalInterface
    private interface MessageRule {
        void apply(int start, int end, WireWriter out);
    }

    private byte[] model() {
        WireWriter out = new WireWriter(2L * src.length + 64);
        boolean[] graph = {false};
        walk(0, src.length, out, (f, w) -> {
            // ModelProto: graph 7, training_info 20, functions 25.
            if (f.number() == 7 && f.isMessage()) {
                graph[0] = true;
                return nested(f, w, this::graph);
            }
            if (f.number() == 20) {
                return nested(f, w, this::trainingInfo);
            }
            return f.number() == 25 && nested(f, w, this::function);
        });
        if (!graph[0]) {
            throw new IllegalArgumentException("not an ONNX model: the bytes hold no graph");
        }
        return out.toByteArray();
    }

    private void graph(int start, int end, WireWriter out) {
        walk(start, end, out, (f, w) -> {
            switch (f.number()) {
                case 1: // node
                    return nested(f, w, this::node);
                case 5: // initializer
                    return nested(f, w, this::tensor);
                case 15: // sparse_initializer
                    return nested(f, w, this::sparseTensor);
                case 11: // input
                case 12: // output
                case 13: // value_info
                    return nested(f, w, this::valueInfo);
                default:
                    return false;
            }
        });
    }

    private void trainingInfo(int start, int end, WireWriter out) {
        // TrainingInfoProto: initialization 1 and algorithm 2 are graphs.
        walk(start, end, out, (f, w) -> (f.number() == 1 || f.number() == 2) && nested(f, w, this::graph));
    }

    private void function(int start, int end, WireWriter out) {
        // FunctionProto: node 7, attribute_proto 11 (defaults), value_info 12.
        walk(start, end, out, (f, w) -> {
            switch (f.number()) {
                case 7:
                    return nested(f, w, this::node);
                case 11:
                    return nested(f, w, this::attribute);
                case 12:
                    return nested(f, w, this::valueInfo);
                default:
                    return false;
            }
        });
    }

    private void node(int start, int end, WireWriter out) {
        // NodeProto: attribute 5.
        walk(start, end, out, (f, w) -> f.number() == 5 && nested(f, w, this::attribute));
    }

    private void attribute(int start, int end, WireWriter out) {
        boolean dtype = DTYPE_ATTRIBUTES.contains(attributeName(start, end));
        walk(start, end, out, (f, w) -> {
            switch (f.number()) {
                case 3: // i
                    if (dtype && f.isVarint() && f.varint() == HalfTensors.FLOAT16) {
                        w.varintField(3, HalfTensors.FLOAT);
                        return true;
                    }
                    return false;
                case 5: // t
                case 10: // tensors
                    return nested(f, w, this::tensor);
                case 6: // g
                case 11: // graphs
                    return nested(f, w, this::graph);
                case 22: // sparse_tensor
                case 23: // sparse_tensors
                    return nested(f, w, this::sparseTensor);
                case 14: // tp
                case 15: // type_protos
                    return nested(f, w, this::type);
                default:
                    return false;
            }
        });
    }

    /** The attribute's name (field 1), read first because fields may come in any order. */
    private String attributeName(int start, int end) {
        WireReader fields = new WireReader(src, start, end);
        String name = "";
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == 1 && f.isMessage()) {
                name = new String(src, f.valueStart(), f.valueLength(), StandardCharsets.UTF_8);
            }
        }
        return name;
    }

    private void tensor(int start, int end, WireWriter out) {
        HalfTensors.upcast(src, start, end, out);
    }

    private void sparseTensor(int start, int end, WireWriter out) {
        // SparseTensorProto: values 1 is a tensor; indices 2 are int64.
        walk(start, end, out, (f, w) -> f.number() == 1 && nested(f, w, this::tensor));
    }

    private void valueInfo(int start, int end, WireWriter out) {
        // ValueInfoProto: type 2.
        walk(start, end, out, (f, w) -> f.number() == 2 && nested(f, w, this::type));
    }

    private void type(int start, int end, WireWriter out) {
        walk(start, end, out, (f, w) -> {
            switch (f.number()) {
                case 1: // tensor_type
                case 8: // sparse_tensor_type: elem_type 1, shape 2, like tensor_type
                    return nested(f, w, this::tensorType);
                case 4: // sequence_type: elem_type 1 is a TypeProto
                case 9: // optional_type: elem_type 1 is a TypeProto
                    return nested(f, w, (s, e, o) -> typeIn(1, s, e, o));
                case 5: // map_type: key_type 1 is an int, value_type 2 a TypeProto
                    return nested(f, w, (s, e, o) -> typeIn(2, s, e, o));
                default:
                    return false;
            }
        });
    }

    /** A message whose field {@code number} is a TypeProto (Sequence, Optional, Map). */
    private void typeIn(int number, int start, int end, WireWriter out) {
        walk(start, end, out, (f, w) -> f.number() == number && nested(f, w, this::type));
    }

    private void tensorType(int start, int end, WireWriter out) {
        walk(start, end, out, (f, w) -> {
            if (f.number() == 1 && f.isVarint() && f.varint() == HalfTensors.FLOAT16) {
                w.varintField(1, HalfTensors.FLOAT);
                return true;
            }
            return false;
        });
    }

    private void walk(int start, int end, WireWriter out, FieldRule rule) {
        WireReader fields = new WireReader(src, start, end);
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (!rule.apply(f, out)) {
                out.copy(src, f);
            }
        }
    }

    /** Rewrites a length-delimited field as a nested message; false (copy it) for other wire types. */
    private boolean nested(WireField field, WireWriter out, MessageRule rule) {
        if (!field.isMessage()) {
            return false;
        }
        if (++depth > MAX_DEPTH) {
            throw new IllegalArgumentException("malformed ONNX model: messages nested deeper than " + MAX_DEPTH);
        }
        // Room for float16 data to double; the writer grows if int32_data packs tighter.
        WireWriter message = new WireWriter(2L * field.valueLength() + 16);
        rule.apply(field.valueStart(), field.end(), message);
        out.messageField(field.number(), message);
        depth--;
        return true;
    }
}
