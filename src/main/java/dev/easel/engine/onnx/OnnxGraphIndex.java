package dev.easel.engine.onnx;

import ai.onnxruntime.platform.Fp16Conversions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The main graph of an ONNX model as far as weight patches need it: its nodes (op, name, inputs,
 * outputs, integer attributes), graph input names, and its initializers, whose float values can be
 * read whether they are float32 or float16, in {@code raw_data}, {@code float_data}/{@code int32_data},
 * or external data beside the model (e.g. {@code model.onnx_data}). Read with the engine's
 * hand-written protobuf reader ({@link WireReader}); field numbers are onnx.proto's.
 *
 * <p>Holds the model's bytes until dropped; not thread-safe (used by one edit at a time).
 */
public final class OnnxGraphIndex {

    static final int FLOAT = 1;
    static final int FLOAT16 = 10;

    // ModelProto.graph; GraphProto node, initializer, input; NodeProto input, output, name, op_type, attribute.
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int ATTRIBUTE_NAME = 1;
    private static final int ATTRIBUTE_I = 3;
    private static final int VALUE_INFO_NAME = 1;
    // TensorProto.
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_INT32_DATA = 5;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int ENTRY_KEY = 1;
    private static final int ENTRY_VALUE = 2;

    /** One node of the main graph; {@code ints} are its INT attributes (Gemm's transA/transB). */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs, Map<String, Long> ints) {
    }

    /**
     * One initializer. Its values lie in {@code [start, end)} of the model bytes (raw_data or the
     * repeated float/int32 field, {@code packed} telling which), or in {@code externalFile} at
     * {@code externalOffset} for {@code externalLength} bytes.
     */
    public record Initializer(String name, int dataType, long[] dims, Source source) {

        public long count() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** Where an initializer's values are. */
    record Source(Kind kind, int start, int end, Path externalFile, long externalOffset, long externalLength) {
        enum Kind { RAW, FLOAT_DATA, INT32_DATA, EXTERNAL, NONE }
    }

    private final Path modelFile;
    private final byte[] bytes;
    private final List<Node> nodes = new ArrayList<>();
    private final List<String> inputs = new ArrayList<>();
    private final Map<String, Initializer> initializers = new LinkedHashMap<>();

    private OnnxGraphIndex(Path modelFile, byte[] bytes) {
        this.modelFile = modelFile;
        this.bytes = bytes;
    }

    /** Reads a model file (its graph must fit protobuf's 2 GB; external data may be any size). */
    public static OnnxGraphIndex read(Path modelFile) throws IOException {
        long size = Files.size(modelFile);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(modelFile + " is " + size + " bytes, over protobuf's 2 GB limit");
        }
        OnnxGraphIndex index = new OnnxGraphIndex(modelFile, Files.readAllBytes(modelFile));
        index.parse();
        return index;
    }

    public Path modelFile() {
        return modelFile;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public List<String> graphInputs() {
        return inputs;
    }

    public Map<String, Initializer> initializers() {
        return initializers;
    }

    /** The node that writes each value of the graph, by value name. */
    public Map<String, Node> producers() {
        Map<String, Node> producers = new java.util.HashMap<>();
        for (Node n : nodes) {
            n.outputs().forEach(o -> producers.put(o, n));
        }
        return producers;
    }

    /**
     * The initializer behind a weight input: itself, or the input of a Cast of it (mixed-precision
     * exports); {@code producers} as {@link #producers()} gives them.
     */
    public java.util.Optional<Initializer> weightBehind(Map<String, Node> producers, String input) {
        Initializer direct = initializers.get(input);
        if (direct != null) {
            return java.util.Optional.of(direct);
        }
        Node p = producers.get(input);
        if (p != null && p.opType().equals("Cast") && !p.inputs().isEmpty()) {
            return java.util.Optional.ofNullable(initializers.get(p.inputs().get(0)));
        }
        return java.util.Optional.empty();
    }

    private void parse() {
        WireReader model = new WireReader(bytes, 0, bytes.length);
        boolean found = false;
        while (model.hasMore()) {
            WireField f = model.next();
            if (f.number() == MODEL_GRAPH && f.isMessage()) {
                graph(f);
                found = true;
            }
        }
        if (!found) {
            throw new IllegalArgumentException(modelFile + ": the model has no graph");
        }
    }

    private void graph(WireField g) {
        WireReader fields = new WireReader(bytes, g.valueStart(), g.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (!f.isMessage()) {
                continue;
            }
            if (f.number() == GRAPH_NODE) {
                nodes.add(node(f));
            } else if (f.number() == GRAPH_INITIALIZER) {
                Initializer init = tensor(f);
                initializers.put(init.name(), init);
            } else if (f.number() == GRAPH_INPUT) {
                inputs.add(firstString(f, VALUE_INFO_NAME));
            }
        }
    }

    private Node node(WireField n) {
        String name = "";
        String op = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        Map<String, Long> ints = new HashMap<>();
        WireReader fields = new WireReader(bytes, n.valueStart(), n.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == NODE_INPUT && f.isMessage()) {
                in.add(string(f));
            } else if (f.number() == NODE_OUTPUT && f.isMessage()) {
                out.add(string(f));
            } else if (f.number() == NODE_NAME && f.isMessage()) {
                name = string(f);
            } else if (f.number() == NODE_OP_TYPE && f.isMessage()) {
                op = string(f);
            } else if (f.number() == NODE_ATTRIBUTE && f.isMessage()) {
                attribute(f, ints);
            }
        }
        return new Node(name, op, List.copyOf(in), List.copyOf(out), Map.copyOf(ints));
    }

    private void attribute(WireField a, Map<String, Long> ints) {
        String name = null;
        Long value = null;
        WireReader fields = new WireReader(bytes, a.valueStart(), a.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == ATTRIBUTE_NAME && f.isMessage()) {
                name = string(f);
            } else if (f.number() == ATTRIBUTE_I && f.isVarint()) {
                value = f.varint();
            }
        }
        if (name != null && value != null) {
            ints.put(name, value);
        }
    }

    private Initializer tensor(WireField t) {
        String name = "";
        int type = 0;
        List<Long> dims = new ArrayList<>();
        Source source = new Source(Source.Kind.NONE, 0, 0, null, 0, 0);
        Map<String, String> external = new HashMap<>();
        boolean isExternal = false;
        WireReader fields = new WireReader(bytes, t.valueStart(), t.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            switch (f.number()) {
                case TENSOR_DIMS:
                    if (f.isVarint()) {
                        dims.add(f.varint());
                    } else if (f.isMessage()) {
                        WireReader packed = new WireReader(bytes, f.valueStart(), f.end());
                        while (packed.hasMore()) {
                            dims.add(packed.readVarint());
                        }
                    }
                    break;
                case TENSOR_DATA_TYPE:
                    type = (int) f.varint();
                    break;
                case TENSOR_NAME:
                    name = string(f);
                    break;
                case TENSOR_RAW_DATA:
                    source = new Source(Source.Kind.RAW, f.valueStart(), f.end(), null, 0, 0);
                    break;
                case TENSOR_FLOAT_DATA:
                    source = repeated(source, Source.Kind.FLOAT_DATA, f);
                    break;
                case TENSOR_INT32_DATA:
                    source = repeated(source, Source.Kind.INT32_DATA, f);
                    break;
                case TENSOR_EXTERNAL_DATA:
                    entry(f, external);
                    break;
                case TENSOR_DATA_LOCATION:
                    isExternal = f.varint() == 1;
                    break;
                default:
                    break;
            }
        }
        if (isExternal || !external.isEmpty()) {
            source = externalSource(name, external);
        }
        return new Initializer(name, type, dims.stream().mapToLong(Long::longValue).toArray(), source);
    }

    /** A repeated numeric field may come as several (packed or unpacked) fields: we keep their span. */
    private static Source repeated(Source current, Source.Kind kind, WireField f) {
        int start = current.kind() == kind ? Math.min(current.start(), f.start()) : f.start();
        return new Source(kind, start, f.end(), null, 0, 0);
    }

    private Source externalSource(String tensor, Map<String, String> entries) {
        String location = entries.get("location");
        if (location == null) {
            throw new IllegalArgumentException(modelFile + ": tensor '" + tensor + "' is external but names no location");
        }
        Path dir = modelFile.toAbsolutePath().getParent();
        Path file = dir.resolve(location).normalize();
        if (!file.startsWith(dir)) {
            throw new IllegalArgumentException(modelFile + ": tensor '" + tensor + "' points outside the model's folder");
        }
        long offset = Long.parseLong(entries.getOrDefault("offset", "0"));
        long length = Long.parseLong(entries.getOrDefault("length", "-1"));
        return new Source(Source.Kind.EXTERNAL, 0, 0, file, offset, length);
    }

    private void entry(WireField e, Map<String, String> into) {
        String key = null;
        String value = "";
        WireReader fields = new WireReader(bytes, e.valueStart(), e.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == ENTRY_KEY && f.isMessage()) {
                key = string(f);
            } else if (f.number() == ENTRY_VALUE && f.isMessage()) {
                value = string(f);
            }
        }
        if (key != null) {
            into.put(key, value);
        }
    }

    /**
     * An initializer's values as float32 (float16 widened), row-major in its stored shape.
     *
     * @throws IllegalArgumentException when it is not float32/float16 or its data is missing or short
     */
    public float[] floats(Initializer init) throws IOException {
        if (init.dataType() != FLOAT && init.dataType() != FLOAT16) {
            throw new IllegalArgumentException(modelFile + ": initializer '" + init.name() + "' has data type "
                    + init.dataType() + "; only float32 and float16 weights can be patched");
        }
        int count = Math.toIntExact(init.count());
        float[] out = new float[count];
        Source s = init.source();
        int elementSize = init.dataType() == FLOAT ? 4 : 2;
        switch (s.kind()) {
            case RAW:
                decode(ByteBuffer.wrap(bytes, s.start(), s.end() - s.start()), init, out);
                break;
            case EXTERNAL:
                decode(readExternal(init, (long) count * elementSize), init, out);
                break;
            case FLOAT_DATA:
            case INT32_DATA:
                repeatedValues(init, out);
                break;
            default:
                throw new IllegalArgumentException(modelFile + ": initializer '" + init.name() + "' has no data");
        }
        return out;
    }

    private void decode(ByteBuffer data, Initializer init, float[] out) {
        ByteBuffer le = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        int elementSize = init.dataType() == FLOAT ? 4 : 2;
        if (le.remaining() != out.length * elementSize) {
            throw new IllegalArgumentException(modelFile + ": initializer '" + init.name() + "' has "
                    + le.remaining() + " bytes of data for " + out.length + " values");
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = init.dataType() == FLOAT ? le.getFloat() : Fp16Conversions.fp16ToFloat(le.getShort());
        }
    }

    private ByteBuffer readExternal(Initializer init, long expected) throws IOException {
        Source s = init.source();
        long length = s.externalLength() < 0 ? expected : s.externalLength();
        if (length != expected) {
            throw new IllegalArgumentException(modelFile + ": initializer '" + init.name() + "' has " + length
                    + " bytes of external data for " + expected);
        }
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(length));
        try (FileChannel channel = FileChannel.open(s.externalFile(), StandardOpenOption.READ)) {
            long at = s.externalOffset();
            while (buf.hasRemaining()) {
                int n = channel.read(buf, at);
                if (n < 0) {
                    throw new IllegalArgumentException(s.externalFile() + " ends before initializer '" + init.name()
                            + "' (offset " + s.externalOffset() + ", " + length + " bytes)");
                }
                at += n;
            }
        }
        buf.flip();
        return buf;
    }

    /** float_data (float32, fixed32) or int32_data (float16 bit patterns, varints), packed or not. */
    private void repeatedValues(Initializer init, float[] out) {
        Source s = init.source();
        int fieldNumber = s.kind() == Source.Kind.FLOAT_DATA ? TENSOR_FLOAT_DATA : TENSOR_INT32_DATA;
        int n = 0;
        WireReader fields = new WireReader(bytes, s.start(), s.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() != fieldNumber) {
                continue;
            }
            if (fieldNumber == TENSOR_FLOAT_DATA) {
                ByteBuffer le = ByteBuffer.wrap(bytes, f.valueStart(), f.valueLength()).order(ByteOrder.LITTLE_ENDIAN);
                while (le.remaining() >= 4 && n < out.length) {
                    out[n++] = le.getFloat();
                }
            } else if (f.isVarint()) {
                out[n++] = Fp16Conversions.fp16ToFloat((short) f.varint());
            } else {
                WireReader packed = new WireReader(bytes, f.valueStart(), f.end());
                while (packed.hasMore() && n < out.length) {
                    out[n++] = Fp16Conversions.fp16ToFloat((short) packed.readVarint());
                }
            }
        }
        if (n != out.length) {
            throw new IllegalArgumentException(modelFile + ": initializer '" + init.name() + "' has " + n
                    + " values for shape of " + out.length);
        }
    }

    private String string(WireField f) {
        return new String(bytes, f.valueStart(), f.valueLength(), StandardCharsets.UTF_8);
    }

    private String firstString(WireField message, int number) {
        WireReader fields = new WireReader(bytes, message.valueStart(), message.end());
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == number && f.isMessage()) {
                return string(f);
            }
        }
        return "";
    }
}
