package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtEnvironment;
import org.junit.jupiter.api.Test;

class OrtEnvTest {

    @Test
    void thePreloadedEnvironmentIsOnnxRuntimesOwn() {
        OrtEnv.preload();
        assertThat(OrtEnv.get()).isSameAs(OrtEnvironment.getEnvironment());
        assertThat(new OnnxSessions(EngineOptions.cpu()).environment()).isSameAs(OrtEnv.get());
    }

    @Test
    void aCommandLineLongEnoughToCrashOnnxRuntimeIsNamedFirst() {
        assertThat(OrtEnv.commandLineWarning(600)).isEmpty();
        assertThat(OrtEnv.commandLineWarning(OrtEnv.LONG_COMMAND_LINE - 1)).isEmpty();
        assertThat(OrtEnv.commandLineWarning(5_000)).hasValueSatisfying(warning -> assertThat(warning)
                .contains("5000 bytes", "ONNX Runtime 1.29", "@argfile"));
    }
}
