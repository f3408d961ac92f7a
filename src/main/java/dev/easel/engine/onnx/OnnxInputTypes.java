package dev.easel.engine.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The element types of an ONNX model's graph inputs, read from the file without loading it: the
 * protobuf is walked field by field and everything else — the weights above all — is skipped by
 * seeking, so a 200 MB graph costs a few reads. Why: whether a VAE must be upcast to float32 was
 * known only after opening a session on it, and the float16 ones were then opened a second time
 * (docs/benchmarks.md, "Loading beside sd4j"). Inputs that are initializers (older exports list
 * weights as inputs) are left out, as ONNX Runtime leaves them out of a session's inputs.
 * Field numbers are onnx.proto's.
 */
final class OnnxInputTypes {

    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int TENSOR_NAME = 8;
    private static final int VALUE_INFO_NAME = 1;
    private static final int VALUE_INFO_TYPE = 2;
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_TYPE_ELEM_TYPE = 1;
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;
    /** A graph input's ValueInfoProto is small; one this big is not what we think it is. */
    private static final int MAX_VALUE_INFO_BYTES = 1 << 20;

    private OnnxInputTypes() {
    }

    /**
     * Input name → TensorProto data type (1 float, 10 float16, …; 0 when it is no tensor), in the
     * file's order; empty when the file cannot be read this way (the caller then opens a session).
     */
    static Optional<Map<String, Integer>> read(Path modelFile) {
        try (FileChannel channel = FileChannel.open(modelFile, StandardOpenOption.READ)) {
            Fields model = new Fields(channel, 0, channel.size(), 64 * 1024);
            while (model.next()) {
                if (model.number() == MODEL_GRAPH && model.wireType() == LENGTH_DELIMITED) {
                    return Optional.of(graphInputs(model.inside()));
                }
                model.skip();
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Map<String, Integer> graphInputs(Fields graph) throws IOException {
        Map<String, Integer> inputs = new LinkedHashMap<>();
        Set<String> initializers = new HashSet<>();
        while (graph.next()) {
            if (graph.number() == GRAPH_INPUT && graph.wireType() == LENGTH_DELIMITED) {
                if (graph.length() > MAX_VALUE_INFO_BYTES) {
                    throw new IllegalStateException("graph input of " + graph.length() + " bytes");
                }
                byte[] bytes = graph.bytes();
                valueInfo(new WireReader(bytes, 0, bytes.length), bytes, inputs);
            } else if (graph.number() == GRAPH_INITIALIZER && graph.wireType() == LENGTH_DELIMITED) {
                Fields tensor = graph.inside();
                while (tensor.next()) {
                    if (tensor.number() == TENSOR_NAME && tensor.wireType() == LENGTH_DELIMITED) {
                        initializers.add(new String(tensor.bytes(), StandardCharsets.UTF_8));
                    } else {
                        tensor.skip();
                    }
                }
            } else {
                graph.skip();
            }
        }
        inputs.keySet().removeAll(initializers);
        return inputs;
    }

    private static void valueInfo(WireReader info, byte[] bytes, Map<String, Integer> inputs) {
        String name = null;
        int type = 0;
        while (info.hasMore()) {
            WireField f = info.next();
            if (f.number() == VALUE_INFO_NAME && f.isMessage()) {
                name = new String(bytes, f.valueStart(), f.valueLength(), StandardCharsets.UTF_8);
            } else if (f.number() == VALUE_INFO_TYPE && f.isMessage()) {
                type = elemType(new WireReader(bytes, f.valueStart(), f.end()), bytes);
            }
        }
        if (name != null) {
            inputs.put(name, type);
        }
    }

    /** TypeProto.tensor_type.elem_type; 0 for a type that is no tensor. */
    private static int elemType(WireReader typeProto, byte[] bytes) {
        while (typeProto.hasMore()) {
            WireField f = typeProto.next();
            if (f.number() == TYPE_TENSOR && f.isMessage()) {
                WireReader tensor = new WireReader(bytes, f.valueStart(), f.end());
                while (tensor.hasMore()) {
                    WireField t = tensor.next();
                    if (t.number() == TENSOR_TYPE_ELEM_TYPE && t.isVarint()) {
                        return (int) t.varint();
                    }
                }
                return 0;
            }
        }
        return 0;
    }

    /** Fields of one message in [position, end) of the file, read through a small window. */
    private static final class Fields {

        private final FileChannel channel;
        private final long end;
        private long position;
        private final ByteBuffer window;
        private long windowStart = -1;
        private int number;
        private int wireType;
        private long length;

        /** @param window bytes read at a time: large for the model and graph, small for one initializer's header */
        Fields(FileChannel channel, long start, long end, int window) {
            this.channel = channel;
            this.position = start;
            this.end = end;
            this.window = ByteBuffer.allocate(window);
        }

        boolean next() throws IOException {
            if (position >= end) {
                return false;
            }
            long tag = varint();
            number = (int) (tag >>> 3);
            wireType = (int) (tag & 7);
            length = wireType == LENGTH_DELIMITED ? varint() : 0;
            if (length < 0 || position + length > end) {
                throw new IllegalStateException("field " + number + " runs past its message");
            }
            return true;
        }

        int number() {
            return number;
        }

        int wireType() {
            return wireType;
        }

        long length() {
            return length;
        }

        /** The length-delimited field's fields (the reader moves past it). */
        Fields inside() {
            // The graph: its nodes and initializers' headers follow each other; an initializer: a few fields.
            Fields inner = new Fields(channel, position, position + length, length > 1 << 20 ? 64 * 1024 : 512);
            position += length;
            return inner;
        }

        byte[] bytes() throws IOException {
            byte[] out = new byte[Math.toIntExact(length)];
            ByteBuffer target = ByteBuffer.wrap(out);
            long at = position;
            while (target.hasRemaining()) {
                int read = channel.read(target, at);
                if (read < 0) {
                    throw new IllegalStateException("file ends inside field " + number);
                }
                at += read;
            }
            position += length;
            return out;
        }

        void skip() throws IOException {
            switch (wireType) {
                case VARINT -> varint();
                case FIXED64 -> position += 8;
                case LENGTH_DELIMITED -> position += length;
                case FIXED32 -> position += 4;
                default -> throw new IllegalStateException("wire type " + wireType + " (groups) in field " + number);
            }
        }

        private long varint() throws IOException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = byteAt(position++);
                value |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
            throw new IllegalStateException("varint longer than 10 bytes");
        }

        private int byteAt(long at) throws IOException {
            if (at >= end) {
                throw new IllegalStateException("message ends inside a varint");
            }
            if (windowStart < 0 || at < windowStart || at >= windowStart + window.limit()) {
                window.clear();
                int read = channel.read(window, at);
                if (read <= 0) {
                    throw new IllegalStateException("file ends at " + at);
                }
                window.flip();
                windowStart = at;
            }
            return window.get((int) (at - windowStart)) & 0xff;
        }
    }
}
