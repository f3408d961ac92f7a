package dev.easel.engine.onnx;

/**
 * Reads the fields of one protobuf message from a byte range. Written by hand because the engine
 * has no protobuf library on its classpath; every read is bounds-checked so malformed input gives
 * an {@link IllegalArgumentException}, never an index error or a hang.
 */
final class WireReader {

    private static final int FIXED64 = 1;
    private static final int FIXED32 = 5;

    private final byte[] src;
    private final int end;
    private int pos;

    WireReader(byte[] src, int start, int end) {
        this.src = src;
        this.pos = start;
        this.end = end;
    }

    boolean hasMore() {
        return pos < end;
    }

    WireField next() {
        int start = pos;
        long tag = readVarint();
        int number = (int) (tag >>> 3);
        int wireType = (int) (tag & 7);
        if (number <= 0 || tag >>> 3 > 0x1FFFFFFF) {
            throw malformed("invalid field number " + (tag >>> 3), start);
        }
        switch (wireType) {
            case WireField.VARINT: {
                long value = readVarint();
                return new WireField(number, wireType, start, start, pos, value);
            }
            case FIXED64:
                return skip(number, wireType, start, 8);
            case WireField.LENGTH_DELIMITED: {
                long length = readVarint();
                if (length < 0 || length > end - pos) {
                    throw malformed("field " + number + " claims " + length + " bytes but " + (end - pos)
                            + " remain", start);
                }
                int valueStart = pos;
                pos += (int) length;
                return new WireField(number, wireType, start, valueStart, pos, 0);
            }
            case FIXED32:
                return skip(number, wireType, start, 4);
            default:
                // 3 and 4 are proto2 groups, which ONNX never uses; 6 and 7 do not exist.
                throw malformed("unsupported wire type " + wireType + " for field " + number, start);
        }
    }

    private WireField skip(int number, int wireType, int start, int size) {
        int valueStart = pos;
        if (end - pos < size) {
            throw malformed("field " + number + " is cut off", start);
        }
        pos += size;
        return new WireField(number, wireType, start, valueStart, pos, 0);
    }

    /** Reads a varint at the current position (also used for packed repeated fields). */
    long readVarint() {
        int start = pos;
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw malformed("varint is cut off", start);
            }
            byte b = src[pos++];
            value |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw malformed("varint is longer than 10 bytes", start);
    }

    private static IllegalArgumentException malformed(String problem, int offset) {
        return new IllegalArgumentException("malformed ONNX model (not a valid protobuf ModelProto): " + problem
                + " at byte " + offset);
    }
}
