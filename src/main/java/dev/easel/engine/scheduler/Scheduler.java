package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;

/**
 * One diffusion sampling algorithm, after the diffusers scheduler contract.
 *
 * <p>Use: {@link #setTimesteps(int)} once per run, then for each index {@code i} of
 * {@link #timesteps()}: scale the sample by {@link #scaleModelInput(int)}, evaluate the UNet at
 * {@code timesteps()[i]}, and call {@link #step}. An instance is stateful (multistep histories) and
 * belongs to one job; it is never shared between threads.
 *
 * <p>Samples are flat float arrays (any batch, channels and size); every operation is elementwise,
 * so the same scheduler serves any latent shape. {@code step} updates the sample in place and
 * allocates nothing after the first call of a run.
 */
public interface Scheduler {

    /** Prepares the timesteps for a run of {@code steps} denoising steps (resets all state). */
    void setTimesteps(int steps);

    /**
     * The timesteps the UNet is evaluated at, in order (descending). May be longer than the number
     * of steps (PLMS repeats one) and may be fractional (sigma-space schedulers).
     */
    double[] timesteps();

    /** Standard deviation of the initial noise: the pipeline multiplies N(0,1) latents by it. */
    float initNoiseSigma();

    /**
     * The factor the sample is multiplied by before the UNet at step {@code stepIndex}
     * (diffusers' {@code scale_model_input}); 1 for DDPM-family schedulers,
     * {@code 1/sqrt(sigma^2+1)} for the sigma-space (Euler/k-diffusion) family.
     */
    float scaleModelInput(int stepIndex);

    /**
     * One reverse step: given the UNet output at {@code timesteps()[stepIndex]} for {@code sample},
     * replaces {@code sample} with the previous (less noisy) sample.
     *
     * @param modelOutput the UNet prediction (epsilon or v, per the config's prediction_type)
     * @param stepIndex   index into {@link #timesteps()}
     * @param sample      current sample; overwritten with the result
     * @param noise       source of fresh noise for stochastic schedulers (unused by others)
     */
    void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise);

    /**
     * Noises clean latents to the noise level of {@code timesteps()[stepIndex]} (diffusers'
     * {@code add_noise}), for img2img starts and inpainting mask blending.
     * {@code out} may be the same array as {@code original}.
     */
    void addNoise(float[] original, float[] noise, int stepIndex, float[] out);

    /**
     * alpha-bar (the signal fraction {@code ᾱ}, Ho et al. 2020 eq. 4) at {@code timesteps()[stepIndex]};
     * for sigma-space schedulers {@code 1 / (1 + sigma^2)}.
     */
    double alphaBar(int stepIndex);

    /**
     * The clean-sample estimate x0 for {@code sample} at {@code timesteps()[stepIndex]} given the
     * model's output there (epsilon, v or sample, per the config); what a scheduler computes inside
     * {@link #step}, without stepping or touching the scheduler's state.
     *
     * @param x0 overwritten with the estimate; same length as {@code sample}
     */
    void predictOriginal(float[] modelOutput, int stepIndex, float[] sample, float[] x0);

    /**
     * d(model output) / d(x0) at step {@code stepIndex} with the sample held fixed: how much the
     * model output must change to move the clean estimate by one unit (epsilon:
     * {@code -sqrt(ᾱ)/sqrt(1-ᾱ)}, v: {@code -1/sqrt(1-ᾱ)}, sample: 1). Guidance that wants to move x0
     * adds {@code this × Δx0} to the output.
     */
    double outputPerOriginal(int stepIndex);

    /**
     * How many entries of {@link #timesteps()} one inference step takes (1 for all the
     * schedulers here); img2img skips {@code order() * (steps - initSteps)} entries.
     */
    default int order() {
        return 1;
    }

    /**
     * Whether a run must take every timestep from the first: PNDM's Runge-Kutta warm-up
     * ({@code skip_prk_steps} false) cannot start later, as img2img, a refiner or a verifier's
     * restart would have it.
     */
    default boolean startsAtTheFirstStepOnly() {
        return false;
    }
}
