package dev.easel.engine.onnx;

/**
 * One protobuf field as read by {@link WireReader}: where it lies in the source bytes, so that a
 * field we do not rewrite is copied through byte for byte.
 *
 * @param number     the field number
 * @param wireType   0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
 * @param start      offset of the field's tag
 * @param valueStart offset of the value (after the tag, and after the length for wire type 2)
 * @param end        offset just past the field
 * @param varint     the value of a varint field (0 for other wire types)
 */
record WireField(int number, int wireType, int start, int valueStart, int end, long varint) {

    static final int VARINT = 0;
    static final int LENGTH_DELIMITED = 2;

    boolean isMessage() {
        return wireType == LENGTH_DELIMITED;
    }

    boolean isVarint() {
        return wireType == VARINT;
    }

    int valueLength() {
        return end - valueStart;
    }
}
