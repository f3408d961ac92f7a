package dev.easel.engine.scheduler;

/**
 * What the k-diffusion-style schedulers (Euler, Euler ancestral) have in common: they step the
 * variance-exploding sample {@code x = x0 + sigma eps} (Karras et al. 2022), so the initial noise
 * is scaled by the largest sigma, the model sees {@code x / sqrt(sigma^2 + 1)}, and noising to a
 * step adds {@code sigma eps}.
 */
abstract class SigmaSpaceScheduler implements Scheduler {

    final SchedulerConfig config;
    final NoiseSchedule schedule;
    /** The sigmas and timesteps of the current run, set by {@link #setTimesteps}. */
    NoiseSchedule.SigmaSteps steps;

    SigmaSpaceScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = new NoiseSchedule(config);
    }

    @Override
    public double[] timesteps() {
        return steps.timesteps().clone();
    }

    @Override
    public float initNoiseSigma() {
        return steps.initNoiseSigma();
    }

    @Override
    public float scaleModelInput(int stepIndex) {
        double sigma = steps.sigmas()[stepIndex];
        return (float) (1 / Math.sqrt(sigma * sigma + 1));
    }

    @Override
    public double alphaBar(int stepIndex) {
        double sigma = steps.sigmas()[stepIndex];
        return 1 / (1 + sigma * sigma);
    }

    @Override
    public void predictOriginal(float[] modelOutput, int stepIndex, float[] sample, float[] x0) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        double sigma = steps.sigmas()[stepIndex];
        double alpha = 1 / Math.sqrt(sigma * sigma + 1);
        for (int i = 0; i < sample.length; i++) {
            // The model saw the variance-preserving x·alpha; its x0 is the same in both views.
            x0[i] = (float) NoiseSchedule.predictX0(config.predictionType(), modelOutput[i], sample[i] * alpha, alpha,
                    sigma * alpha);
        }
    }

    @Override
    public double outputPerOriginal(int stepIndex) {
        return NoiseSchedule.outputPerOriginal(config.predictionType(), alphaBar(stepIndex));
    }

    @Override
    public void addNoise(float[] original, float[] noise, int stepIndex, float[] out) {
        NoiseSchedule.mix(original, noise, 1, steps.sigmas()[stepIndex], out);
    }
}
