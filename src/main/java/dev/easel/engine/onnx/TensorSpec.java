package dev.easel.engine.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import java.util.Arrays;

/**
 * An input or output of a model as ONNX Runtime reports it.
 *
 * @param name  tensor name in the graph
 * @param type  element type
 * @param shape dimensions; -1 for symbolic (run-time) dimensions
 */
public record TensorSpec(String name, OnnxJavaType type, long[] shape) {

    static TensorSpec of(NodeInfo node) {
        if (!(node.getInfo() instanceof TensorInfo info)) {
            return new TensorSpec(node.getName(), OnnxJavaType.UNKNOWN, new long[0]);
        }
        return new TensorSpec(node.getName(), info.type, info.getShape());
    }

    public int rank() {
        return shape.length;
    }

    /** The dimension when fixed in the graph, else -1. */
    public long dim(int axis) {
        return shape[axis];
    }

    public boolean isStatic(int axis) {
        return shape[axis] > 0;
    }

    @Override
    public String toString() {
        return "'" + name + "' " + typeName(type) + Arrays.toString(shape);
    }

    /** ONNX-style element type names for messages. */
    static String typeName(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> "float32";
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            case DOUBLE -> "float64";
            case INT64 -> "int64";
            case INT32 -> "int32";
            case INT16 -> "int16";
            case INT8 -> "int8";
            case UINT8 -> "uint8";
            case BOOL -> "bool";
            case STRING -> "string";
            default -> type.name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
