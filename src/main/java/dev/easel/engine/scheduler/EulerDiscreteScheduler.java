package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;

/**
 * Euler sampler of the probability-flow ODE in sigma space: Karras, Aittala, Aila &amp; Laine,
 * "Elucidating the Design Space of Diffusion-Based Generative Models" (NeurIPS 2022), Algorithm 2
 * with {@code S_churn = 0} and without the second-order correction:
 *
 * <pre>
 * d = (x - D(x; sigma_i)) / sigma_i,    x_{i+1} = x + (sigma_{i+1} - sigma_i) d
 * </pre>
 *
 * where {@code x = x_vp sqrt(sigma^2 + 1)} is the variance-exploding sample and {@code D} the
 * denoised estimate. The model sees {@code x / sqrt(sigma^2 + 1)} ({@link #scaleModelInput}).
 * Sigmas are the training sigmas at the spaced timesteps ("linspace" by default, fractional), or
 * Karras' rho-schedule (eq. 5) between the same ends with {@code use_karras_sigmas}; the last step
 * goes to sigma 0 (or the smallest training sigma with {@code final_sigmas_type} "sigma_min").
 */
public final class EulerDiscreteScheduler extends SigmaSpaceScheduler {

    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public void setTimesteps(int count) {
        TimestepSpacing spacing = config.timestepSpacing() == null ? TimestepSpacing.LINSPACE : config.timestepSpacing();
        steps = schedule.sigmaSteps(count, spacing, config.stepsOffset(), config.useKarrasSigmas(),
                config.finalSigmasType());
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        double sigma = steps.sigmas()[stepIndex];
        double dt = steps.sigmas()[stepIndex + 1] - sigma;
        double alpha = 1 / Math.sqrt(sigma * sigma + 1);
        for (int i = 0; i < sample.length; i++) {
            double x = sample[i];
            double denoised = NoiseSchedule.predictX0(
                    config.predictionType(), modelOutput[i], x * alpha, alpha, sigma * alpha);
            sample[i] = (float) (x + (x - denoised) / sigma * dt);
        }
    }

}
