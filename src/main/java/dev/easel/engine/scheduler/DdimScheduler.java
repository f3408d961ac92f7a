package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;

/**
 * DDIM: Song, Meng &amp; Ermon, "Denoising Diffusion Implicit Models" (ICLR 2021), eq. 12:
 *
 * <pre>
 * x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - s^2) eps + s z,
 * s^2    = eta^2 (1 - a_prev) / (1 - a_t) (1 - a_t / a_prev)          (eq. 16)
 * </pre>
 *
 * where {@code a} is alpha-bar, x0 and eps the model's clean-sample and noise estimates. {@code eta = 0}
 * is the deterministic sampler, {@code eta = 1} DDPM's posterior variance. The previous timestep is
 * {@code t - num_train_timesteps / steps} (below 0: alpha-bar 1 with {@code set_alpha_to_one}, else
 * alpha-bar[0]). Class defaults as diffusers: "leading" spacing, {@code set_alpha_to_one} and
 * {@code clip_sample} true.
 */
public final class DdimScheduler extends DiscreteTimeScheduler {

    private final double eta;
    private final double finalAlphaCumprod;
    private final boolean clip;
    private int stepRatio;
    private float[] noiseBuffer;

    /**
     * @param eta stochasticity in [0, 1]: 0 deterministic DDIM, 1 DDPM-like ancestral sampling
     */
    public DdimScheduler(SchedulerConfig config, double eta) {
        super(config);
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("eta must be in [0, 1], got " + eta);
        }
        this.eta = eta;
        this.finalAlphaCumprod = config.setAlphaToOne() == null || config.setAlphaToOne()
                ? 1.0 : schedule.alphaCumprod(0);
        this.clip = config.clipSample() == null || config.clipSample();
    }

    @Override
    public void setTimesteps(int steps) {
        int n = schedule.trainSteps();
        NoiseSchedule.checkSteps(steps, n, "num_train_timesteps");
        TimestepSpacing spacing = config.timestepSpacing() == null ? TimestepSpacing.LEADING : config.timestepSpacing();
        timesteps = NoiseSchedule.spacedTimesteps(spacing, steps, n, config.stepsOffset(), true);
        stepRatio = n / steps;
    }

    /** The DDIM posterior variance (eq. 16 without eta) between two training timesteps. */
    double variance(int t, int prevT) {
        double alpha = schedule.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? schedule.alphaCumprod(prevT) : finalAlphaCumprod;
        return (1 - alphaPrev) / (1 - alpha) * (1 - alpha / alphaPrev);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        int t = (int) timesteps[stepIndex];
        int prevT = t - stepRatio;
        double alpha = schedule.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? schedule.alphaCumprod(prevT) : finalAlphaCumprod;
        double std = eta * Math.sqrt(variance(t, prevT));
        double sqrtA = Math.sqrt(alpha);
        double sqrtB = Math.sqrt(1 - alpha);
        double x0Coeff = Math.sqrt(alphaPrev);
        // Clamped: at eta = 1 the difference is exactly 0 in theory and may round below it.
        double epsCoeff = Math.sqrt(Math.max(0, 1 - alphaPrev - std * std));
        double range = config.clipSampleRange();
        boolean stochastic = eta > 0;
        if (stochastic) {
            if (noiseBuffer == null || noiseBuffer.length != sample.length) {
                noiseBuffer = new float[sample.length];
            }
            noise.fill(noiseBuffer);
        }
        for (int i = 0; i < sample.length; i++) {
            double x = sample[i];
            double x0 = NoiseSchedule.predictX0(config.predictionType(), modelOutput[i], x, sqrtA, sqrtB);
            double eps = NoiseSchedule.predictEpsilon(config.predictionType(), modelOutput[i], x, sqrtA, sqrtB);
            if (clip) {
                x0 = Math.max(-range, Math.min(range, x0));
            }
            double prev = x0Coeff * x0 + epsCoeff * eps;
            sample[i] = (float) (stochastic ? prev + std * noiseBuffer[i] : prev);
        }
    }

}
