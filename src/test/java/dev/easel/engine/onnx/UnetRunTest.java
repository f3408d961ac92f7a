package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A job's UNet tensors: all closed with the run, and none left open when building the run fails part way. */
class UnetRunTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final UnetRun.Shape SHAPE = new UnetRun.Shape(2, 4, 4, 8, 8);
    private static final UnetConditioning TEXT = UnetConditioning.text(new float[2 * 77 * 32], 77, 32);

    @Test
    void closingTheRunClosesEveryTensorItAllocated() {
        long before = DirectTensor.open();
        UnetRun run = new UnetRun(null, ENV, types(OnnxJavaType.FLOAT), SHAPE, TEXT);
        assertThat(DirectTensor.open()).isEqualTo(before + 4);

        run.close();
        run.close(); // twice is harmless

        assertThat(DirectTensor.open()).isEqualTo(before);
    }

    /** The output is allocated last; when it cannot be (here: a type no tensor has), the three before it are closed. */
    @Test
    void aFailedAllocationLeavesNoTensorOpen() {
        long before = DirectTensor.open();

        assertThatThrownBy(() -> new UnetRun(null, ENV, types(OnnxJavaType.STRING), SHAPE, TEXT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("STRING");

        assertThat(DirectTensor.open()).isEqualTo(before);
    }

    private static UnetRun.Types types(OnnxJavaType out) {
        return new UnetRun.Types(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT, OnnxJavaType.FLOAT, out, false,
                Optional.empty(), Optional.empty());
    }
}
