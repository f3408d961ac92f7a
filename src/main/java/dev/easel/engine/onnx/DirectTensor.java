package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tensor over a direct buffer that ONNX Runtime reads and writes in place (no copies on its
 * side): allocated once per job, refilled every step, used as an input or as a pinned output.
 * Converts at the boundary between the engine's float32 arrays and the model's element type
 * (float32, float16, int64 or int32).
 */
final class DirectTensor implements AutoCloseable {

    private static final AtomicLong OPEN = new AtomicLong();

    private final OnnxJavaType type;
    private final int size;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final OnnxTensor tensor;
    private final FloatBuffer floats;
    private final ShortBuffer halves;
    private final LongBuffer longs;
    private final IntBuffer ints;

    private DirectTensor(OrtEnvironment env, OnnxJavaType type, long[] shape) throws OrtException {
        this.type = type;
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (count > Integer.MAX_VALUE / 8) {
            throw new IllegalArgumentException("tensor of " + count + " elements is too large");
        }
        this.size = (int) count;
        ByteBuffer bytes = ByteBuffer.allocateDirect(Math.max(1, size) * type.size).order(ByteOrder.nativeOrder());
        switch (type) {
            case FLOAT -> {
                floats = bytes.asFloatBuffer();
                halves = null;
                longs = null;
                ints = null;
                tensor = OnnxTensor.createTensor(env, floats, shape);
            }
            case FLOAT16 -> {
                floats = null;
                halves = bytes.asShortBuffer();
                longs = null;
                ints = null;
                tensor = OnnxTensor.createTensor(env, halves, shape, OnnxJavaType.FLOAT16);
            }
            case INT64 -> {
                floats = null;
                halves = null;
                longs = bytes.asLongBuffer();
                ints = null;
                tensor = OnnxTensor.createTensor(env, longs, shape);
            }
            case INT32 -> {
                floats = null;
                halves = null;
                longs = null;
                ints = bytes.asIntBuffer();
                tensor = OnnxTensor.createTensor(env, ints, shape);
            }
            default -> throw new IllegalArgumentException("unsupported tensor element type " + type);
        }
    }

    static DirectTensor allocate(OrtEnvironment env, OnnxJavaType type, long... shape) {
        try {
            DirectTensor tensor = new DirectTensor(env, type, shape);
            OPEN.incrementAndGet();
            return tensor;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not create a " + type + " tensor: " + e.getMessage(), e);
        }
    }

    OnnxTensor tensor() {
        return tensor;
    }

    int size() {
        return size;
    }

    /** Writes {@code src[offset .. offset+size)} into the tensor, converting to its element type. */
    void write(float[] src, int offset) {
        switch (type) {
            case FLOAT -> floats.put(0, src, offset, size);
            case FLOAT16 -> {
                for (int i = 0; i < size; i++) {
                    halves.put(i, Fp16Conversions.floatToFp16(src[offset + i]));
                }
            }
            case INT64 -> {
                for (int i = 0; i < size; i++) {
                    longs.put(i, Math.round(src[offset + i]));
                }
            }
            default -> {
                for (int i = 0; i < size; i++) {
                    ints.put(i, Math.round(src[offset + i]));
                }
            }
        }
    }

    /** Sets every element to {@code value} (a timestep for the whole batch). */
    void fill(double value) {
        for (int i = 0; i < size; i++) {
            put(i, value);
        }
    }

    /** Sets element {@code index} to {@code value} (one batch row's timestep), converted as {@link #fill} does. */
    void put(int index, double value) {
        switch (type) {
            case FLOAT -> floats.put(index, (float) value);
            case FLOAT16 -> halves.put(index, Fp16Conversions.floatToFp16((float) value));
            case INT64 -> longs.put(index, Math.round(value));
            default -> ints.put(index, (int) Math.round(value));
        }
    }

    /**
     * Writes {@code src[srcOffset .. srcOffset+length)} into elements {@code [at .. at+length)},
     * converting as {@link #write(float[], int)} does: some rows of a batch.
     */
    void write(float[] src, int srcOffset, int at, int length) {
        switch (type) {
            case FLOAT -> floats.put(at, src, srcOffset, length);
            case FLOAT16 -> {
                for (int i = 0; i < length; i++) {
                    halves.put(at + i, Fp16Conversions.floatToFp16(src[srcOffset + i]));
                }
            }
            case INT64 -> {
                for (int i = 0; i < length; i++) {
                    longs.put(at + i, Math.round(src[srcOffset + i]));
                }
            }
            default -> {
                for (int i = 0; i < length; i++) {
                    ints.put(at + i, Math.round(src[srcOffset + i]));
                }
            }
        }
    }

    /** Writes token ids (int32 or int64 tensors). */
    void writeIds(int[] ids) {
        if (ids.length != size) {
            throw new IllegalArgumentException("expected " + size + " ids, got " + ids.length);
        }
        for (int i = 0; i < size; i++) {
            if (type == OnnxJavaType.INT64) {
                longs.put(i, ids[i]);
            } else {
                ints.put(i, ids[i]);
            }
        }
    }

    /** Reads the whole tensor into {@code dst[offset ..]} as float32. */
    void read(float[] dst, int offset) {
        if (type == OnnxJavaType.FLOAT) {
            floats.get(0, dst, offset, size);
        } else {
            for (int i = 0; i < size; i++) {
                dst[offset + i] = Fp16Conversions.fp16ToFloat(halves.get(i));
            }
        }
    }

    /** Reads elements {@code [at .. at+length)} into {@code dst[dstOffset ..]} as float32: some rows of a batch. */
    void read(int at, float[] dst, int dstOffset, int length) {
        if (type == OnnxJavaType.FLOAT) {
            floats.get(at, dst, dstOffset, length);
        } else {
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = Fp16Conversions.fp16ToFloat(halves.get(at + i));
            }
        }
    }

    /**
     * Copies the first {@code out.length} values of a tensor ONNX Runtime allocated (float32 or
     * float16) into {@code out} as float32.
     */
    static void readFloats(OnnxTensor tensor, float[] out) {
        if (tensor.getInfo().type == OnnxJavaType.FLOAT) {
            tensor.getFloatBuffer().get(out);
        } else {
            ShortBuffer halves = tensor.getShortBuffer();
            for (int i = 0; i < out.length; i++) {
                out[i] = Fp16Conversions.fp16ToFloat(halves.get(i));
            }
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            tensor.close();
            OPEN.decrementAndGet();
        }
    }

    /** Tensors allocated and not closed, in this process: tests check that a failed build leaves none open. */
    static long open() {
        return OPEN.get();
    }
}
