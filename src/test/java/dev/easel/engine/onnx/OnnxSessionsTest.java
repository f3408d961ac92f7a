package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA path as far as a CPU-only machine can take it: the CPU build of ONNX Runtime has no
 * CUDA provider, so asking for it must either fall back to the CPU (the default) or fail with a
 * message that says what is missing.
 */
class OnnxSessionsTest {

    @Test
    void cudaFallsBackToCpuWhenItCannotLoad(@TempDir Path dir) throws IOException {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir);
        EngineOptions cuda = new EngineOptions(ExecutionProvider.CUDA, 0, true, 1, 1, OptLevel.BASIC_OPT);
        try (StableDiffusionModel model = StableDiffusionModel.load(bundle, cuda)) {
            assertThat(model.geometry().latentChannels()).isEqualTo(4);
        }
    }

    @Test
    void cudaWithoutFallbackSaysWhatIsMissing(@TempDir Path dir) throws IOException {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir);
        EngineOptions cuda = new EngineOptions(ExecutionProvider.CUDA, 1, false, 0, 0, OptLevel.ALL_OPT);
        BundleException e = assertThrows(BundleException.class, () -> StableDiffusionModel.load(bundle, cuda));
        assertThat(e.getMessage()).contains("CUDA execution provider could not be loaded on device 1",
                "onnxruntime_gpu", "CUDA 12");
    }

    @Test
    void optionsAreValidated() {
        assertThrows(IllegalArgumentException.class,
                () -> new EngineOptions(ExecutionProvider.CPU, -1, true, 0, 0, OptLevel.ALL_OPT));
        assertThrows(IllegalArgumentException.class,
                () -> new EngineOptions(ExecutionProvider.CPU, 0, true, -2, 0, OptLevel.ALL_OPT));
    }
}
