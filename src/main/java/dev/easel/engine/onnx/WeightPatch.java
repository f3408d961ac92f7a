package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * New values for one initializer, in its stored shape and element type (float32, or float16 to
 * which the values are rounded), to be handed to a session in place of the file's.
 *
 * @param initializer the initializer's name
 * @param dataType    ONNX data type: 1 float32, 10 float16
 * @param dims        its shape
 * @param values      row-major values in that shape
 */
public record WeightPatch(String initializer, int dataType, long[] dims, float[] values) {

    public WeightPatch {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("patch of '" + initializer + "': " + values.length
                    + " values for " + n + " elements");
        }
        if (dataType != OnnxGraphIndex.FLOAT && dataType != OnnxGraphIndex.FLOAT16) {
            throw new IllegalArgumentException("patch of '" + initializer + "': only float32 and float16 are supported");
        }
        dims = dims.clone();
    }

    /** A tensor over a direct buffer, which ONNX Runtime reads in place: the caller closes it after the session. */
    OnnxTensor toTensor(OrtEnvironment env) throws OrtException {
        boolean half = dataType == OnnxGraphIndex.FLOAT16;
        ByteBuffer buf = ByteBuffer.allocateDirect(values.length * (half ? 2 : 4)).order(ByteOrder.nativeOrder());
        for (float v : values) {
            if (half) {
                buf.putShort(Fp16Conversions.floatToFp16(v));
            } else {
                buf.putFloat(v);
            }
        }
        buf.rewind();
        return OnnxTensor.createTensor(env, buf, dims, half ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT);
    }
}
