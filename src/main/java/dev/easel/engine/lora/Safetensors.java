package dev.easel.engine.lora;

import ai.onnxruntime.platform.Fp16Conversions;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.json.JsonTrees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of JSON {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {k: v}}}, then
 * the tensors' bytes, offsets relative to the end of the header. Every length and offset is
 * checked against the file before anything is read, so a truncated or garbled file is an
 * {@link IllegalArgumentException} naming the file, never a huge allocation or a read past the end.
 *
 * <p>The whole file is held in memory (LoRA adapters are megabytes, not gigabytes), or only its
 * header ({@link #readHeader}). Immutable.
 */
public final class Safetensors {

    /** The format's own cap on the header (safetensors refuses larger ones too). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** Files are read whole into a Java array. */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    static final String METADATA = "__metadata__";

    private static final Map<String, Integer> ELEMENT_BYTES = Map.ofEntries(
            Map.entry("F64", 8), Map.entry("F32", 4), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I64", 8), Map.entry("I32", 4), Map.entry("I16", 2), Map.entry("I8", 1),
            Map.entry("U64", 8), Map.entry("U32", 4), Map.entry("U16", 2), Map.entry("U8", 1),
            Map.entry("BOOL", 1), Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1));

    /**
     * One tensor's entry.
     *
     * @param begin offset of its first byte in the data section
     * @param end   offset after its last byte
     */
    public record Tensor(String name, String dtype, long[] shape, long begin, long end) {

        public long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** The shape as the error messages print it: {@code [4, 320]}. */
        public String shapeText() {
            return Arrays.toString(shape);
        }
    }

    private final String label;
    private final byte[] bytes;
    private final int dataStart;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private Safetensors(String label, byte[] bytes, int dataStart, Map<String, Tensor> tensors,
                        Map<String, String> metadata) {
        this.label = label;
        this.bytes = bytes;
        this.dataStart = dataStart;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Reads and checks a file; errors name its path. */
    public static Safetensors read(Path file) throws IOException {
        return read(file, file.toString());
    }

    /** Reads and checks a file; errors name it as {@code label} (e.g. its file name alone, for clients). */
    public static Safetensors read(Path file, String label) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new IllegalArgumentException(label + ": " + size + " bytes, over the " + MAX_FILE_BYTES
                    + "-byte limit for an adapter");
        }
        return parse(label, Files.readAllBytes(file));
    }

    /**
     * Reads and checks a file's header alone (names, dtypes, shapes, offsets against the file's
     * size), not its data: what checking that an adapter fits a model needs, at the cost of the
     * header. {@link #floats} of the result throws.
     */
    public static Safetensors readHeader(Path file, String label) throws IOException {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file)) {
            long size = channel.size();
            if (size > MAX_FILE_BYTES) { // as read() refuses it: the merge would
                throw bad(label, size + " bytes, over the " + MAX_FILE_BYTES + "-byte limit for an adapter");
            }
            if (size < 8) {
                throw bad(label, "is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, length, 0);
            long headerLength = checkHeaderLength(label, length.getLong(0), size);
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(channel, header, 8);
            return index(label, null, new String(header.array(), StandardCharsets.UTF_8), 8 + (int) headerLength,
                    size - 8 - headerLength);
        }
    }

    private static void readFully(java.nio.channels.FileChannel channel, ByteBuffer into, long position)
            throws IOException {
        while (into.hasRemaining()) {
            if (channel.read(into, position + into.position()) < 0) {
                throw new java.io.EOFException("the file ended while it was read");
            }
        }
    }

    private static long checkHeaderLength(String label, long headerLength, long size) {
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8L) {
            throw bad(label, "header length " + Long.toUnsignedString(headerLength) + " is not within 2.."
                    + Math.min(MAX_HEADER_BYTES, size - 8L) + " (the file's size after the length, at most "
                    + MAX_HEADER_BYTES + "): not a safetensors file, or truncated");
        }
        return headerLength;
    }

    /**
     * Checks and indexes a file's bytes; {@code label} names it in errors.
     *
     * @throws IllegalArgumentException when the header length, JSON, a dtype, shape or offsets are invalid
     */
    public static Safetensors parse(String label, byte[] bytes) {
        if (bytes.length < 8) {
            throw bad(label, "is " + bytes.length + " bytes, shorter than the 8-byte header length");
        }
        long headerLength = checkHeaderLength(label,
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(), bytes.length);
        int dataStart = 8 + (int) headerLength;
        return index(label, bytes, new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8), dataStart,
                bytes.length - (long) dataStart);
    }

    /** The header's tensors checked against {@code dataLength}; {@code bytes} null for a header read alone. */
    private static Safetensors index(String label, byte[] bytes, String headerText, int dataStart, long dataLength) {
        JsonNode header;
        try {
            header = JsonTrees.parse(headerText, JsonTrees.Duplicates.FAIL);
        } catch (JsonProcessingException e) {
            throw bad(label, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) { // a String has no I/O to fail
            throw bad(label, "header could not be read: " + e.getMessage());
        }
        if (header == null || !header.isObject()) {
            throw bad(label, "header must be a JSON object");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (f.getKey().equals(METADATA)) {
                metadata(label, f.getValue(), metadata);
            } else {
                tensors.put(f.getKey(), tensor(label, f.getKey(), f.getValue(), dataLength));
            }
        }
        checkNoOverlap(label, tensors);
        return new Safetensors(label, bytes, dataStart, tensors, metadata);
    }

    private static void metadata(String label, JsonNode node, Map<String, String> into) {
        if (!node.isObject()) {
            throw bad(label, "'" + METADATA + "' must be an object of strings");
        }
        node.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw bad(label, "'" + METADATA + "." + e.getKey() + "' must be a string");
            }
            into.put(e.getKey(), e.getValue().asText());
        });
    }

    private static Tensor tensor(String label, String name, JsonNode node, long dataLength) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw bad(label, where + " must be an object with dtype, shape and data_offsets");
        }
        JsonNode dtype = node.get("dtype");
        if (dtype == null || !dtype.isTextual() || !ELEMENT_BYTES.containsKey(dtype.asText())) {
            throw bad(label, where + " has dtype " + dtype + "; expected one of " + ELEMENT_BYTES.keySet());
        }
        JsonNode shape = node.get("shape");
        if (shape == null || !shape.isArray() || shape.size() > 8) {
            throw bad(label, where + ": shape must be an array of at most 8 dimensions, got " + shape);
        }
        long[] dims = new long[shape.size()];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shape.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > dataLength) {
                throw bad(label, where + ": shape " + shape + " has an invalid dimension " + d);
            }
            dims[i] = d.asLong();
            count = dims[i] == 0 ? 0 : (count > dataLength / dims[i] ? dataLength + 1 : count * dims[i]);
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong() || !offsets.get(0).isIntegralNumber()
                || !offsets.get(1).isIntegralNumber()) {
            throw bad(label, where + ": data_offsets must be [begin, end], got " + offsets);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLength) {
            throw bad(label, where + ": data_offsets [" + begin + ", " + end + "] are not within the "
                    + dataLength + " data bytes");
        }
        long expected = count > dataLength ? Long.MAX_VALUE : count * ELEMENT_BYTES.get(dtype.asText());
        if (end - begin != expected) {
            throw bad(label, where + ": " + (end - begin) + " data bytes for shape " + shape + " of "
                    + dtype.asText() + (expected == Long.MAX_VALUE ? " (more than the file holds)" : " (" + expected + ")"));
        }
        return new Tensor(name, dtype.asText(), dims, begin, end);
    }

    private static void checkNoOverlap(String label, Map<String, Tensor> tensors) {
        List<Tensor> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(Tensor::begin).thenComparingLong(Tensor::end));
        for (int i = 1; i < sorted.size(); i++) {
            Tensor a = sorted.get(i - 1);
            Tensor b = sorted.get(i);
            if (b.begin() < a.end()) {
                throw bad(label, "tensors '" + a.name() + "' and '" + b.name() + "' overlap in the data section");
            }
        }
    }

    private static IllegalArgumentException bad(String label, String problem) {
        return new IllegalArgumentException(label + ": " + problem);
    }

    /** The file, for messages. */
    public String label() {
        return label;
    }

    /** The tensors by name, in header order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings (empty when there are none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * A float tensor's values as float32 (F16/BF16 widened, F64 rounded), row-major.
     *
     * @throws IllegalArgumentException when it is not a float tensor or does not exist
     */
    public float[] floats(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw bad(label, "has no tensor '" + name + "'");
        }
        if (bytes == null) {
            throw new IllegalStateException(label + " was read with its header alone: no tensor data");
        }
        ByteBuffer le = ByteBuffer.wrap(bytes, dataStart + (int) t.begin(), (int) (t.end() - t.begin()))
                .slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[Math.toIntExact(t.count())];
        switch (t.dtype()) {
            case "F32" -> le.asFloatBuffer().get(out);
            case "F64" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) le.getDouble();
                }
            }
            case "F16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Fp16Conversions.fp16ToFloat(le.getShort());
                }
            }
            case "BF16" -> {
                // bfloat16 is the top half of a float32.
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((le.getShort() & 0xFFFF) << 16);
                }
            }
            default -> throw bad(label, "tensor '" + name + "' has dtype " + t.dtype()
                    + "; LoRA weights must be F32, F16, BF16 or F64");
        }
        return out;
    }
}
