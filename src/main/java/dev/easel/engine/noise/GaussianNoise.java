package dev.easel.engine.noise;

/**
 * A source of independent standard-normal samples. Stochastic schedulers (DDIM with eta &gt; 0,
 * Euler ancestral, LCM) draw their per-step noise from the job's source so that a seed fixes the
 * whole run.
 */
public interface GaussianNoise {

    /** Fills {@code out[offset .. offset+length)} with N(0, 1) samples. */
    void fill(float[] out, int offset, int length);

    /** Fills the whole array. */
    default void fill(float[] out) {
        fill(out, 0, out.length);
    }
}
