package dev.easel.engine.onnx;

import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Rewrites one ONNX TensorProto from float16 to float32. Field numbers are onnx.proto's (checked
 * against the generated {@code OnnxMl.TensorProto}): dims 1, data_type 2, float_data 4,
 * int32_data 5, name 8, raw_data 9, external_data 13, data_location 14.
 */
final class HalfTensors {

    static final int FLOAT = 1;
    static final int FLOAT16 = 10;

    private static final int DATA_TYPE = 2;
    private static final int INT32_DATA = 5;
    private static final int NAME = 8;
    private static final int RAW_DATA = 9;
    private static final int EXTERNAL_DATA = 13;
    private static final int DATA_LOCATION = 14;
    private static final int EXTERNAL = 1;

    private HalfTensors() {
    }

    /** Writes the tensor in {@code src[start, end)} to {@code out}, as float32 if it was float16. */
    static void upcast(byte[] src, int start, int end, WireWriter out) {
        Summary tensor = summarize(src, start, end);
        if (tensor.external()) {
            // A session opened from bytes has no directory to find the data file in, and inlining
            // it could break the 2 GB limit; the VAE decoders this is for keep weights inline.
            throw new IllegalArgumentException("tensor '" + tensor.name() + "' keeps its data in an external file;"
                    + " upcasting to float32 rewrites the model in memory and needs the weights inline in the"
                    + " .onnx file (re-export without external data, or convert the model to float32 on disk)");
        }
        WireReader fields = new WireReader(src, start, end);
        if (tensor.dataType() != FLOAT16) {
            while (fields.hasMore()) {
                out.copy(src, fields.next());
            }
            return;
        }
        HalfValues halves = new HalfValues();
        boolean raw = false;
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == DATA_TYPE && f.isVarint()) {
                out.varintField(DATA_TYPE, FLOAT);
            } else if (f.number() == RAW_DATA && f.isMessage()) {
                raw = true;
                out.bytesField(RAW_DATA, rawToFloats(src, f, tensor.name()));
            } else if (f.number() == INT32_DATA) {
                halves.add(src, f);
            } else {
                out.copy(src, f);
            }
        }
        if (halves.count() > 0) {
            if (raw) {
                throw new IllegalArgumentException("tensor '" + tensor.name() + "' has both raw_data and int32_data");
            }
            // float16 values live in int32_data as their bit patterns; float32 goes to raw_data.
            out.bytesField(RAW_DATA, halves.toFloatBytes());
        }
    }

    private static byte[] rawToFloats(byte[] src, WireField f, String name) {
        if (f.valueLength() % 2 != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': float16 raw_data has an odd length "
                    + f.valueLength());
        }
        byte[] bytes = new byte[f.valueLength() * 2];
        int[] table = FloatBits.TABLE;
        for (int i = f.valueStart(), o = 0; i < f.end(); i += 2, o += 4) {
            int bits = table[(src[i] & 0xFF) | (src[i + 1] & 0xFF) << 8];
            bytes[o] = (byte) bits;
            bytes[o + 1] = (byte) (bits >>> 8);
            bytes[o + 2] = (byte) (bits >>> 16);
            bytes[o + 3] = (byte) (bits >>> 24);
        }
        return bytes;
    }

    /** float32 bits of every float16 bit pattern: a table lookup widens 100 MB in well under a second. */
    private static final class FloatBits {
        static final int[] TABLE = new int[1 << 16];

        static {
            for (int h = 0; h < TABLE.length; h++) {
                TABLE[h] = Float.floatToRawIntBits(Fp16Conversions.fp16ToFloat((short) h));
            }
        }
    }

    /** What the rest of the rewrite needs to know before writing: protobuf fields may come in any order. */
    private record Summary(String name, long dataType, boolean external) {
    }

    private static Summary summarize(byte[] src, int start, int end) {
        String name = "";
        long dataType = 0;
        boolean external = false;
        WireReader fields = new WireReader(src, start, end);
        while (fields.hasMore()) {
            WireField f = fields.next();
            if (f.number() == NAME && f.isMessage()) {
                name = new String(src, f.valueStart(), f.valueLength(), StandardCharsets.UTF_8);
            } else if (f.number() == DATA_TYPE && f.isVarint()) {
                dataType = f.varint();
            } else if (f.number() == DATA_LOCATION && f.isVarint()) {
                external = f.varint() == EXTERNAL;
            } else if (f.number() == EXTERNAL_DATA) {
                external = true;
            }
        }
        return new Summary(name, dataType, external);
    }

    /** float16 bit patterns gathered from int32_data, packed or not. */
    private static final class HalfValues {
        private short[] values = new short[16];
        private int count;

        void add(byte[] src, WireField f) {
            if (f.isVarint()) {
                append(f.varint());
            } else if (f.isMessage()) {
                WireReader packed = new WireReader(src, f.valueStart(), f.end());
                while (packed.hasMore()) {
                    append(packed.readVarint());
                }
            } else {
                throw new IllegalArgumentException("int32_data has wire type " + f.wireType());
            }
        }

        private void append(long bits) {
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2);
            }
            values[count++] = (short) bits; // the low 16 bits are the float16
        }

        int count() {
            return count;
        }

        byte[] toFloatBytes() {
            byte[] bytes = new byte[count * 4];
            FloatBuffer floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            for (int i = 0; i < count; i++) {
                floats.put(Float.intBitsToFloat(FloatBits.TABLE[values[i] & 0xFFFF]));
            }
            return bytes;
        }
    }
}
