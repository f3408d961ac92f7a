package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where the verifier branches: the caller's steps, whatever timesteps the scheduler adds (PNDM). */
class ClipSteeringTest {

    private static BitSet points(ClipOptions.Steps steps, int requestSteps, int first, int count) {
        GenerationRequest request = GenerationRequest.builder("a red circle").steps(requestSteps).build();
        ClipSteering.Job job = new ClipSteering.Job(null, request, null, first, count);
        return ClipSteering.points(new ClipOptions.Verifier(2, steps), job, ClipLimits.defaults());
    }

    @Test
    void stepsMapOntoTheLoopOneToOneForSchedulersWithOneTimestepPerStep() {
        assertThat(points(new ClipOptions.At(List.of(1, 5)), 6, 0, 6)).isEqualTo(bits(0, 4));
        // img2img at strength 0.5 of 10 steps: the run is the last 5.
        assertThat(points(new ClipOptions.Every(2), 10, 5, 10)).isEqualTo(bits(6, 8));
    }

    @Test
    void pndmsExtraTimestepsComeFirstSoStepSEndsOneIndexLater() {
        // 6 steps are 7 timesteps (the warm-up repeats the second): step 1 ends at index 1.
        assertThat(points(new ClipOptions.At(List.of(1, 5)), 6, 0, 7)).isEqualTo(bits(1, 5));
        // Runge–Kutta warm-up: 6 steps are 4·3 + 3 = 15 timesteps, the first 9 extra.
        assertThat(points(new ClipOptions.At(List.of(1)), 6, 0, 15)).isEqualTo(bits(9));
        // A late start of 10 steps at 0.5: diffusers runs 6 of the 11 timesteps for the 5 steps.
        assertThat(points(new ClipOptions.Every(2), 10, 5, 11)).isEqualTo(bits(7, 9));
    }

    private static BitSet bits(int... indices) {
        BitSet b = new BitSet();
        for (int i : indices) {
            b.set(i);
        }
        return b;
    }
}
