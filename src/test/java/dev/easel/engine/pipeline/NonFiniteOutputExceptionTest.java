package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** NaN or infinite model output fails the job instead of becoming a black picture. */
class NonFiniteOutputExceptionTest {

    @Test
    void finiteValuesPass() {
        assertThatCode(() -> NonFiniteOutputException.check(new float[] {0f, -3.5f, Float.MAX_VALUE}, "latents"))
                .doesNotThrowAnyException();
    }

    @Test
    void nanOrInfinityIsNamedWithWhereAndHowMany() {
        assertThatThrownBy(() -> NonFiniteOutputException.check(new float[] {1f, Float.NaN, Float.POSITIVE_INFINITY, 2f},
                "the denoised latents")).isInstanceOf(NonFiniteOutputException.class)
                .hasMessage("the denoised latents hold 2 of 4 values that are NaN or infinite (the first at 1, NaN):"
                        + " the model overflowed; nothing was stored");
    }
}
