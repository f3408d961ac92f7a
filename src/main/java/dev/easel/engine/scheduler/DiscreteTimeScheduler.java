package dev.easel.engine.scheduler;

/**
 * What the schedulers that step between training timesteps (the DDPM family: PNDM, DDIM,
 * DPM-Solver++, LCM) have in common: the variance-preserving sample goes to the model unscaled,
 * the initial noise has unit variance, and noising to a timestep is
 * {@code sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps} (Ho et al. 2020, eq. 4).
 */
abstract class DiscreteTimeScheduler implements Scheduler {

    final SchedulerConfig config;
    final NoiseSchedule schedule;
    /** The evaluation timesteps of the current run, set by {@link #setTimesteps}. */
    double[] timesteps = new double[0];

    DiscreteTimeScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = new NoiseSchedule(config);
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public float scaleModelInput(int stepIndex) {
        return 1f;
    }

    @Override
    public double alphaBar(int stepIndex) {
        return schedule.alphaCumprod((int) timesteps[stepIndex]);
    }

    @Override
    public void predictOriginal(float[] modelOutput, int stepIndex, float[] sample, float[] x0) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        double alpha = alphaBar(stepIndex);
        double sqrtA = Math.sqrt(alpha);
        double sqrtB = Math.sqrt(1 - alpha);
        for (int i = 0; i < sample.length; i++) {
            x0[i] = (float) NoiseSchedule.predictX0(config.predictionType(), modelOutput[i], sample[i], sqrtA, sqrtB);
        }
    }

    @Override
    public double outputPerOriginal(int stepIndex) {
        return NoiseSchedule.outputPerOriginal(config.predictionType(), alphaBar(stepIndex));
    }

    @Override
    public void addNoise(float[] original, float[] noise, int stepIndex, float[] out) {
        double alpha = schedule.alphaCumprod((int) timesteps[stepIndex]);
        NoiseSchedule.mix(original, noise, Math.sqrt(alpha), Math.sqrt(1 - alpha), out);
    }
}
