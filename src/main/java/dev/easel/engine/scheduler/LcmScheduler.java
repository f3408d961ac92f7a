package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;

/**
 * Latent Consistency Model sampling: Luo, Tan, Huang, Li &amp; Zhao, "Latent Consistency Models"
 * (2023), Algorithm 3 (multistep consistency sampling). The consistency function is
 *
 * <pre>
 * f(x, t) = c_skip(t) x + c_out(t) x0(x, t),
 * c_skip  = sigma_data^2 / ((s t)^2 + sigma_data^2),  c_out = s t / sqrt((s t)^2 + sigma_data^2)
 * </pre>
 *
 * (eq. 9 with the boundary condition f(x, 0) = x; {@code sigma_data = 0.5},
 * {@code s = timestep_scaling}). Each step jumps to {@code f}, and unless it is the last step
 * re-noises that estimate to the next timestep with fresh noise (eq. 4's forward process). Timesteps
 * are a subset of the distillation schedule {@code k - 1, 2k - 1, ..., N - 1},
 * {@code k = N / original_inference_steps}, evenly strided from the top, so {@code steps} may not
 * exceed {@code original_inference_steps}.
 */
public final class LcmScheduler extends DiscreteTimeScheduler {

    private static final double SIGMA_DATA = 0.5;

    private final boolean clip;
    private float[] noiseBuffer;

    public LcmScheduler(SchedulerConfig config) {
        super(config);
        this.clip = Boolean.TRUE.equals(config.clipSample());
    }

    @Override
    public void setTimesteps(int steps) {
        int original = config.originalInferenceSteps();
        if (original > schedule.trainSteps()) {
            throw new IllegalArgumentException("original_inference_steps (" + original
                    + ") must be <= num_train_timesteps (" + schedule.trainSteps() + ")");
        }
        NoiseSchedule.checkSteps(steps, original, "original_inference_steps");
        int k = schedule.trainSteps() / original;
        timesteps = new double[steps];
        for (int i = 0; i < steps; i++) {
            // Index floor(i * original / steps) into the descending distillation schedule.
            int index = (int) Math.floor(i * ((double) original / steps));
            timesteps[i] = (double) (original - index) * k - 1;
        }
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        if (noiseBuffer == null || noiseBuffer.length != sample.length) {
            noiseBuffer = new float[sample.length];
        }
        int t = (int) timesteps[stepIndex];
        boolean last = stepIndex == timesteps.length - 1;
        double alpha = schedule.alphaCumprod(t);
        double sqrtA = Math.sqrt(alpha);
        double sqrtB = Math.sqrt(1 - alpha);
        double scaled = t * config.timestepScaling();
        double cSkip = SIGMA_DATA * SIGMA_DATA / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        double cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        double alphaNext = last ? 0 : schedule.alphaCumprod((int) timesteps[stepIndex + 1]);
        if (!last) {
            noise.fill(noiseBuffer);
        }
        double range = config.clipSampleRange();
        for (int i = 0; i < sample.length; i++) {
            double x = sample[i];
            double x0 = NoiseSchedule.predictX0(config.predictionType(), modelOutput[i], x, sqrtA, sqrtB);
            if (clip) {
                x0 = Math.max(-range, Math.min(range, x0));
            }
            double denoised = cOut * x0 + cSkip * x;
            sample[i] = (float) (last ? denoised
                    : Math.sqrt(alphaNext) * denoised + Math.sqrt(1 - alphaNext) * noiseBuffer[i]);
        }
    }

}
