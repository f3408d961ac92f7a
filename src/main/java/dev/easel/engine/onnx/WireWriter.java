package dev.easel.engine.onnx;

import java.util.Arrays;

/** A growable buffer that writes protobuf fields; the counterpart of {@link WireReader}. */
final class WireWriter {

    /** Java arrays (and protobuf messages) stop just short of 2 GiB. */
    private static final long MAX_SIZE = Integer.MAX_VALUE - 8;

    private byte[] buf;
    private int size;

    WireWriter(long capacityHint) {
        buf = new byte[(int) Math.max(16, Math.min(capacityHint, MAX_SIZE))];
    }

    int size() {
        return size;
    }

    /** Copies a field (tag and value) unchanged from its source. */
    void copy(byte[] src, WireField field) {
        write(src, field.start(), field.end() - field.start());
    }

    void varintField(int number, long value) {
        varint((long) number << 3 | WireField.VARINT);
        varint(value);
    }

    void bytesField(int number, byte[] data) {
        lengthPrefix(number, data.length);
        write(data, 0, data.length);
    }

    /** Writes a nested message built in another writer. */
    void messageField(int number, WireWriter message) {
        lengthPrefix(number, message.size);
        write(message.buf, 0, message.size);
    }

    byte[] toByteArray() {
        return size == buf.length ? buf : Arrays.copyOf(buf, size);
    }

    private void lengthPrefix(int number, int length) {
        varint((long) number << 3 | WireField.LENGTH_DELIMITED);
        varint(length);
    }

    private void varint(long value) {
        ensure(10);
        long v = value;
        while ((v & ~0x7FL) != 0) {
            buf[size++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        buf[size++] = (byte) v;
    }

    private void write(byte[] src, int offset, int length) {
        ensure(length);
        System.arraycopy(src, offset, buf, size, length);
        size += length;
    }

    private void ensure(int more) {
        long needed = (long) size + more;
        if (needed <= buf.length) {
            return;
        }
        if (needed > MAX_SIZE) {
            throw new IllegalArgumentException("the float32 model would exceed protobuf's 2 GB limit;"
                    + " it cannot be upcast in memory");
        }
        buf = Arrays.copyOf(buf, (int) Math.min(MAX_SIZE, Math.max(needed, buf.length * 2L)));
    }
}
