package dev.easel.engine.scheduler;

import dev.easel.engine.scheduler.SchedulerConfig.FinalSigmas;
import dev.easel.engine.scheduler.SchedulerConfig.PredictionType;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;

/**
 * The math every scheduler shares: the training betas and alpha-bar (cumulative product of
 * {@code 1 - beta}, Ho et al. 2020 eq. 4), the sigma table {@code sqrt((1 - alphaBar) / alphaBar)}
 * of the variance-exploding view (Karras et al. 2022 table 1), timestep spacing, interpolation at
 * fractional timesteps and the Karras rho-schedule.
 *
 * <p>Tables are computed once per config. Where diffusers works in float32 (betas, alpha-bar and
 * the sigma table are float32 torch tensors) the values here are rounded the same way, so that
 * results agree with diffusers to float precision; everything else is double.
 */
final class NoiseSchedule {

    private final int trainSteps;
    private final double[] alphasCumprod;
    private final double[] sigmas;
    private final double[] logSigmas;

    NoiseSchedule(SchedulerConfig config) {
        trainSteps = config.numTrainTimesteps();
        float[] betas = betas(config);
        alphasCumprod = new double[trainSteps];
        sigmas = new double[trainSteps];
        logSigmas = new double[trainSteps];
        // torch.cumprod on CPU accumulates float32 inputs in double and rounds each output.
        double product = 1.0;
        for (int t = 0; t < trainSteps; t++) {
            product *= 1f - betas[t];
            float alphaBar = (float) product;
            alphasCumprod[t] = alphaBar;
            float sigma = (float) Math.sqrt((1f - alphaBar) / alphaBar);
            sigmas[t] = sigma;
            logSigmas[t] = (float) Math.log(sigma);
        }
    }

    private static float[] betas(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        if (c.trainedBetas() != null) {
            float[] out = new float[n];
            double[] trained = c.trainedBetas();
            for (int i = 0; i < n; i++) {
                out[i] = (float) trained[i];
            }
            return out;
        }
        return switch (c.betaSchedule()) {
            case LINEAR -> floatLinspace(c.betaStart(), c.betaEnd(), n);
            case SCALED_LINEAR -> {
                // Rombach et al. 2022 (LDM): linear in sqrt(beta), then squared.
                float[] roots = floatLinspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
                for (int i = 0; i < n; i++) {
                    roots[i] = roots[i] * roots[i];
                }
                yield roots;
            }
            case SQUAREDCOS_CAP_V2 -> {
                // Nichol & Dhariwal 2021 eq. 17: alpha-bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2), s = 0.008,
                // with beta capped at 0.999.
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    double beta = 1 - cosineAlphaBar((i + 1) / (double) n) / cosineAlphaBar(i / (double) n);
                    out[i] = (float) Math.min(beta, 0.999);
                }
                yield out;
            }
        };
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** torch.linspace in float32: forward from start for the first half, backward from end after. */
    private static float[] floatLinspace(double from, double to, int n) {
        float start = (float) from;
        float end = (float) to;
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (n - 1 - i);
        }
        return out;
    }

    int trainSteps() {
        return trainSteps;
    }

    /** alpha-bar at an integer training timestep. */
    double alphaCumprod(int t) {
        return alphasCumprod[t];
    }

    /** sigma = sqrt((1 - alphaBar) / alphaBar) at an integer training timestep. */
    double sigma(int t) {
        return sigmas[t];
    }

    /** Smallest and largest training sigma. */
    double sigmaMin() {
        return sigmas[0];
    }

    double sigmaMax() {
        return sigmas[trainSteps - 1];
    }

    /** Sigma at a fractional timestep, linear in t between table entries (numpy.interp). */
    double interpolateSigma(double t) {
        if (t <= 0) {
            return sigmas[0];
        }
        if (t >= trainSteps - 1) {
            return sigmas[trainSteps - 1];
        }
        int low = (int) Math.floor(t);
        double slope = sigmas[low + 1] - sigmas[low];
        return slope * (t - low) + sigmas[low];
    }

    /**
     * The fractional timestep whose sigma is {@code sigma}, interpolating linearly in log-sigma
     * between the two neighbouring table entries (clamped to the table's range).
     */
    double sigmaToTimestep(double sigma) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < trainSteps; i++) {
            if (logSigma - logSigmas[i] >= 0) {
                low = i;
            }
        }
        low = Math.min(low, trainSteps - 2);
        double w = (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]);
        w = Math.max(0, Math.min(1, w));
        return (1 - w) * low + w * (low + 1);
    }

    /**
     * Karras et al. 2022 eq. 5: {@code n} sigmas from {@code max} down to {@code min}, evenly spaced
     * in {@code sigma^(1/rho)} with rho = 7.
     */
    static double[] karrasSigmas(double min, double max, int n) {
        double rho = 7.0;
        double minInv = Math.pow(min, 1 / rho);
        double maxInv = Math.pow(max, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double ramp = n == 1 ? 0 : i / (double) (n - 1);
            out[i] = Math.pow(maxInv + ramp * (minInv - maxInv), rho);
        }
        return out;
    }

    /**
     * {@code steps} descending inference timesteps picked from {@code [0, trainSteps)} (Lin et al.
     * 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", table 2): "leading" takes
     * multiples of {@code trainSteps / steps} from 0 (plus {@code offset}), "trailing" counts down from
     * the last training step, "linspace" spreads over the whole range including both ends, rounded to
     * integers unless {@code roundLinspace} is false. Rounding is numpy's, half to even.
     */
    static double[] spacedTimesteps(TimestepSpacing spacing, int steps, int trainSteps, int offset,
                                    boolean roundLinspace) {
        if (spacing == TimestepSpacing.LEADING && (steps - 1) * (trainSteps / steps) + offset > trainSteps - 1) {
            throw new IllegalArgumentException("steps=" + steps + " with steps_offset=" + offset
                    + " reaches a timestep beyond num_train_timesteps - 1 (" + (trainSteps - 1) + ")");
        }
        double[] out = new double[steps];
        for (int i = 0; i < steps; i++) {
            int k = steps - 1 - i;
            out[i] = switch (spacing) {
                case LEADING -> (double) k * (trainSteps / steps) + offset;
                case TRAILING -> Math.rint(trainSteps - i * ((double) trainSteps / steps)) - 1;
                case LINSPACE -> {
                    // numpy.linspace: k * step, the endpoint set exactly; a single point is the start.
                    double v = steps == 1 ? 0
                            : k == steps - 1 ? trainSteps - 1
                            : k * ((trainSteps - 1) / (double) (steps - 1));
                    yield roundLinspace ? Math.rint(v) : (float) v;
                }
            };
        }
        return out;
    }

    /**
     * The timesteps and sigmas of a sigma-space (Karras et al. 2022, k-diffusion) sampler.
     *
     * @param timesteps      model timesteps, fractional in general (float32 values)
     * @param sigmas         one sigma per timestep plus the final one (float32 values)
     * @param initNoiseSigma standard deviation of the starting noise
     */
    record SigmaSteps(double[] timesteps, double[] sigmas, float initNoiseSigma) {
    }

    /**
     * Sigma-space steps: timesteps by {@code spacing}, sigma interpolated at each; with
     * {@code karras} the sigmas are replaced by {@link #karrasSigmas} between the same two ends and
     * the timesteps mapped back by {@link #sigmaToTimestep}; the last step goes to {@code last}. The start noise is {@code sigma_max}
     * for "linspace" and "trailing" and {@code sqrt(sigma_max^2 + 1)} for "leading", as diffusers.
     */
    SigmaSteps sigmaSteps(int steps, TimestepSpacing spacing, int offset, boolean karras, FinalSigmas last) {
        checkSteps(steps, trainSteps, "num_train_timesteps");
        double[] timesteps = spacedTimesteps(spacing, steps, trainSteps, offset, false);
        double[] sigmaValues = new double[steps];
        for (int i = 0; i < steps; i++) {
            sigmaValues[i] = interpolateSigma(timesteps[i]);
        }
        if (karras) {
            sigmaValues = karrasSigmas(sigmaValues[steps - 1], sigmaValues[0], steps);
            for (int i = 0; i < steps; i++) {
                timesteps[i] = (float) sigmaToTimestep(sigmaValues[i]);
            }
        }
        double[] sigmasOut = new double[steps + 1];
        double max = 0;
        for (int i = 0; i < steps; i++) {
            sigmasOut[i] = (float) sigmaValues[i];
            max = Math.max(max, sigmasOut[i]);
        }
        sigmasOut[steps] = last == FinalSigmas.ZERO ? 0 : sigmaMin();
        float init = spacing == TimestepSpacing.LEADING ? (float) Math.sqrt(max * max + 1) : (float) max;
        return new SigmaSteps(timesteps, sigmasOut, init);
    }

    /** Rejects a step count outside {@code [1, limit]}, naming the limit. */
    static void checkSteps(int steps, int limit, String limitName) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (steps > limit) {
            throw new IllegalArgumentException(
                    "steps must be <= " + limitName + " (" + limit + "), got " + steps);
        }
    }

    /**
     * The clean-sample estimate x0 from one model output, where the noisy sample is
     * {@code x = alpha x0 + sigma eps} (Ho et al. 2020 eq. 15 for epsilon; Salimans &amp; Ho 2022
     * section 4 for {@code v = alpha eps - sigma x0}).
     */
    static double predictX0(PredictionType type, double modelOutput, double x, double alpha, double sigma) {
        return switch (type) {
            case EPSILON -> (x - sigma * modelOutput) / alpha;
            case V_PREDICTION -> alpha * x - sigma * modelOutput;
            case SAMPLE -> modelOutput;
        };
    }

    /** d(model output)/d(x0) at fixed sample for signal fraction {@code alphaBar}; see Scheduler#outputPerOriginal. */
    static double outputPerOriginal(PredictionType type, double alphaBar) {
        double alpha = Math.sqrt(alphaBar);
        double sigma = Math.sqrt(1 - alphaBar);
        return switch (type) {
            case EPSILON -> -alpha / sigma;
            case V_PREDICTION -> -1 / sigma;
            case SAMPLE -> 1;
        };
    }

    /** The noise estimate eps from one model output, in the same parameterization as {@link #predictX0}. */
    static double predictEpsilon(PredictionType type, double modelOutput, double x, double alpha, double sigma) {
        return switch (type) {
            case EPSILON -> modelOutput;
            case V_PREDICTION -> alpha * modelOutput + sigma * x;
            case SAMPLE -> (x - alpha * modelOutput) / sigma;
        };
    }

    /** {@code out = alpha * original + sigma * noise}, elementwise (the forward process, Ho et al. eq. 4). */
    static void mix(float[] original, float[] noise, double alpha, double sigma, float[] out) {
        if (noise.length != original.length || out.length != original.length) {
            throw new IllegalArgumentException("original, noise and out must have the same length, got "
                    + original.length + ", " + noise.length + ", " + out.length);
        }
        for (int i = 0; i < original.length; i++) {
            out[i] = (float) (alpha * original[i] + sigma * noise[i]);
        }
    }

    /** Throws unless {@code sample} and {@code modelOutput} match in length. */
    static void checkLengths(float[] modelOutput, float[] sample) {
        if (modelOutput.length != sample.length) {
            throw new IllegalArgumentException("model output has " + modelOutput.length
                    + " values but the sample has " + sample.length);
        }
    }
}
