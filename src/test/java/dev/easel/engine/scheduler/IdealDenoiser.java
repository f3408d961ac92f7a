package dev.easel.engine.scheduler;

import dev.easel.engine.scheduler.SchedulerConfig.PredictionType;

/**
 * The perfect model for a known clean sample x0: given the model input {@code x = sqrt(a) x0 +
 * sqrt(1 - a) eps} at timestep t (a = alpha-bar), returns exactly that eps (or v = sqrt(a) eps -
 * sqrt(1 - a) x0). Fractional t interpolates sigma = sqrt((1 - a) / a) linearly between training
 * steps. Any correct sampler driven by it must land on x0.
 */
final class IdealDenoiser {

    private final float[] x0;
    private final double[] sigmas;
    private final PredictionType type;

    IdealDenoiser(float[] x0, SchedulerConfig config) {
        this.x0 = x0.clone();
        this.type = config.predictionType();
        NoiseSchedule schedule = new NoiseSchedule(config);
        sigmas = new double[schedule.trainSteps()];
        for (int t = 0; t < sigmas.length; t++) {
            double a = schedule.alphaCumprod(t);
            sigmas[t] = Math.sqrt((1 - a) / a);
        }
    }

    /** The model output for {@code modelInput} (already scaled by the scheduler) at timestep {@code t}. */
    float[] predict(float[] modelInput, double t) {
        int low = Math.min((int) Math.floor(t), sigmas.length - 2);
        double sigma = sigmas[low] + (t - low) * (sigmas[low + 1] - sigmas[low]);
        double alphaBar = 1 / (sigma * sigma + 1);
        double sqrtA = Math.sqrt(alphaBar);
        double sqrtB = Math.sqrt(1 - alphaBar);
        float[] out = new float[modelInput.length];
        for (int i = 0; i < out.length; i++) {
            double eps = (modelInput[i] - sqrtA * x0[i]) / sqrtB;
            out[i] = (float) (type == PredictionType.V_PREDICTION ? sqrtA * eps - sqrtB * x0[i] : eps);
        }
        return out;
    }
}
