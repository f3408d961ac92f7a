package dev.easel.engine.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files of floats, for reference tensors exchanged with Python (latents,
 * decoder outputs, embeddings).
 *
 * <p>Reads format versions 1.0, 2.0 and 3.0 in C order with dtype float32 ({@code '<f4'} or
 * big-endian {@code '>f4'}), converting float64 ({@code f8}) and float16 ({@code f2}) to float32.
 * Writes version 1.0, {@code '<f4'}, C order, byte for byte as {@code numpy.save} does. Errors are
 * {@link IOException}s whose message starts with the file and names the problem.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
    private static final Pattern FORTRAN = Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /**
     * An array in C (row-major) order.
     *
     * @param shape dimensions, outermost first; empty for a scalar
     * @param data  {@code shape[0] * shape[1] * ...} values; not copied
     */
    public record NpyArray(long[] shape, float[] data) {

        public NpyArray {
            if (elementCount(shape) != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds "
                        + elementCount(shape) + " values, data has " + data.length);
            }
        }

        /** Compares shape and values, not array identity. */
        @Override
        public boolean equals(Object o) {
            return o instanceof NpyArray other && Arrays.equals(shape, other.shape) && Arrays.equals(data, other.data);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "NpyArray" + Arrays.toString(shape);
        }
    }

    /** Reads a {@code .npy} file. */
    public static NpyArray read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 10 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw problem(file, "not a .npy file (bad magic)");
        }
        int major = bytes[6] & 0xFF;
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength;
        int headerStart;
        switch (major) {
            case 1 -> {
                headerLength = in.getShort(8) & 0xFFFF;
                headerStart = 10;
            }
            case 2, 3 -> {
                if (bytes.length < 12) {
                    throw problem(file, "truncated header");
                }
                headerLength = in.getInt(8) & 0xFFFFFFFFL;
                headerStart = 12;
            }
            default -> throw problem(file, "unsupported .npy format version " + major + "." + (bytes[7] & 0xFF));
        }
        if (headerStart + headerLength > bytes.length) {
            throw problem(file, "truncated header (" + headerLength + " bytes announced)");
        }
        // Version 3 allows UTF-8 in the header; the fields parsed here are ASCII in every version.
        String header = new String(bytes, headerStart, (int) headerLength, StandardCharsets.UTF_8);
        String descr = field(file, header, DESCR, "descr");
        if (field(file, header, FORTRAN, "fortran_order").equals("True")) {
            throw problem(file, "fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)");
        }
        long[] shape = parseShape(file, field(file, header, SHAPE, "shape"));
        long count = elementCount(shape);
        if (count > Integer.MAX_VALUE - 8) {
            throw problem(file, "shape " + Arrays.toString(shape) + " has too many elements for one float array");
        }
        int dataStart = headerStart + (int) headerLength;
        ByteOrder order = switch (descr.isEmpty() ? ' ' : descr.charAt(0)) {
            case '<' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            default -> throw problem(file, "dtype '" + descr + "' is not supported; expected '<f4', '>f4', f8 or f2");
        };
        int itemSize = switch (descr.substring(1)) {
            case "f2" -> 2;
            case "f4" -> 4;
            case "f8" -> 8;
            default -> throw problem(file, "dtype '" + descr + "' is not supported; expected '<f4', '>f4', f8 or f2");
        };
        long needed = count * itemSize;
        if (bytes.length - dataStart != needed) {
            throw problem(file, "shape " + Arrays.toString(shape) + " of " + descr + " needs " + needed
                    + " data bytes, file has " + (bytes.length - dataStart));
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) needed).slice().order(order);
        float[] values = new float[(int) count];
        switch (itemSize) {
            case 2 -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = halfToFloat(data.getShort(2 * i));
                }
            }
            case 4 -> data.asFloatBuffer().get(values);
            default -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) data.getDouble(8 * i);
                }
            }
        }
        return new NpyArray(shape, values);
    }

    /** Writes a version 1.0, {@code '<f4'}, C-order {@code .npy} file, as {@code numpy.save} would. */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        if (elementCount(shape) != data.length) {
            throw new IllegalArgumentException(file + ": shape " + Arrays.toString(shape) + " holds "
                    + elementCount(shape) + " values, data has " + data.length);
        }
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            dims.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        if (shape.length == 1) {
            dims.append(',');
        }
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        // numpy pads with spaces and a final newline so the data starts on a 64-byte boundary.
        int unpadded = 10 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteBuffer out = ByteBuffer.allocate(10 + header.length() + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.US_ASCII));
        out.asFloatBuffer().put(data);
        Files.write(file, out.array());
    }

    private static String field(Path file, String header, Pattern pattern, String name) throws IOException {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw problem(file, "header has no valid '" + name + "' entry: " + header.strip());
        }
        return m.group(1);
    }

    private static long[] parseShape(Path file, String tuple) throws IOException {
        String[] parts = tuple.split(",");
        long[] shape = new long[parts.length];
        int n = 0;
        for (String part : parts) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                shape[n] = Long.parseLong(p);
            } catch (NumberFormatException e) {
                throw problem(file, "bad shape (" + tuple + ")");
            }
            if (shape[n] < 0) {
                throw problem(file, "bad shape (" + tuple + ")");
            }
            n++;
        }
        return Arrays.copyOf(shape, n);
    }

    private static long elementCount(long[] shape) {
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                return -1;
            }
            if (d != 0 && count > Long.MAX_VALUE / d) {
                return Long.MAX_VALUE; // overflow: more than any array can hold
            }
            count *= d;
        }
        return count;
    }

    /** IEEE 754 binary16 to float (Float.float16ToFloat arrives only in Java 20). */
    private static float halfToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24, exact in float.
            float v = mantissa * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    private static IOException problem(Path file, String what) {
        return new IOException(file + ": " + what);
    }
}
