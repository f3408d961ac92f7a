package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.engine.scheduler.SchedulerConfig.FinalSigmas;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;

/**
 * Euler ancestral ("euler_a"): the Euler step of {@link EulerDiscreteScheduler} taken only down to
 * {@code sigma_down}, then fresh noise of {@code sigma_up} added, so that the marginal at
 * {@code sigma_{i+1}} is right (Ho et al. 2020's ancestral sampling in the sigma parameterization of
 * Karras et al. 2022; k-diffusion's {@code sample_euler_ancestral}, eta = 1):
 *
 * <pre>
 * sigma_up   = sqrt(sigma_{i+1}^2 (sigma_i^2 - sigma_{i+1}^2) / sigma_i^2)
 * sigma_down = sqrt(sigma_{i+1}^2 - sigma_up^2)
 * x_{i+1}    = x + (sigma_down - sigma_i) (x - D(x; sigma_i)) / sigma_i + sigma_up z
 * </pre>
 *
 * Sigmas as in {@link EulerDiscreteScheduler}, without the Karras and final-sigma options
 * (diffusers has neither for this sampler): the last step always ends at sigma 0.
 */
public final class EulerAncestralScheduler extends SigmaSpaceScheduler {

    private float[] noiseBuffer;

    public EulerAncestralScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public void setTimesteps(int count) {
        TimestepSpacing spacing = config.timestepSpacing() == null ? TimestepSpacing.LINSPACE : config.timestepSpacing();
        steps = schedule.sigmaSteps(count, spacing, config.stepsOffset(), false, FinalSigmas.ZERO);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        double sigma = steps.sigmas()[stepIndex];
        double next = steps.sigmas()[stepIndex + 1];
        double up = Math.sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
        double down = Math.sqrt(Math.max(0, next * next - up * up));
        double dt = down - sigma;
        double alpha = 1 / Math.sqrt(sigma * sigma + 1);
        if (noiseBuffer == null || noiseBuffer.length != sample.length) {
            noiseBuffer = new float[sample.length];
        }
        // The last step (to sigma 0) adds no noise and draws none.
        boolean stochastic = up > 0;
        if (stochastic) {
            noise.fill(noiseBuffer);
        }
        for (int i = 0; i < sample.length; i++) {
            double x = sample[i];
            double denoised = NoiseSchedule.predictX0(
                    config.predictionType(), modelOutput[i], x * alpha, alpha, sigma * alpha);
            double prev = x + (x - denoised) / sigma * dt;
            sample[i] = (float) (stochastic ? prev + up * noiseBuffer[i] : prev);
        }
    }

}
