package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.engine.scheduler.SchedulerConfig.FinalSigmas;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;
import java.util.Arrays;

/**
 * DPM-Solver++(2M): Lu, Zhou, Bao, Chen, Li &amp; Zhu, "DPM-Solver++: Fast Solver for Guided Sampling
 * of Diffusion Probabilistic Models" (2022), Algorithm 2. With {@code lambda = log(alpha / sigma)}
 * (half log-SNR), {@code h_i = lambda_i - lambda_{i-1}}, {@code r_i = h_{i-1} / h_i} and x0 estimates
 * {@code m}:
 *
 * <pre>
 * D_i     = (1 + 1/(2 r_i)) m_{i-1} - 1/(2 r_i) m_{i-2}
 * x_{t_i} = (sigma_i / sigma_{i-1}) x - alpha_i (e^{-h_i} - 1) D_i
 * </pre>
 *
 * The first step of a run (also an img2img run started mid-schedule) uses the first-order update
 * {@code D_i = m_{i-1}} (DPM-Solver++(1), i.e. DDIM), and so does the last step when it goes to
 * sigma 0 ({@code final_sigmas_type} "zero", the default, where {@code h} is infinite) or, with
 * {@code lower_order_final}, when the run has fewer than 15 steps. Timesteps are spaced over {@code steps + 1} points ("linspace" by default) with the
 * last dropped, or with {@code use_karras_sigmas} follow Karras' rho-schedule between the training
 * sigma range's ends, rounded to integer timesteps. Works on the variance-preserving sample:
 * no input scaling, unit start noise.
 */
public final class DpmSolverMultistepScheduler extends DiscreteTimeScheduler {

    private double[] sigmas = new double[0];
    private float[] previousX0;
    private int previousIndex;

    public DpmSolverMultistepScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public void setTimesteps(int steps) {
        int n = schedule.trainSteps();
        NoiseSchedule.checkSteps(steps, n, "num_train_timesteps");
        double[] sigmaValues;
        if (config.useKarrasSigmas()) {
            sigmaValues = NoiseSchedule.karrasSigmas(schedule.sigmaMin(), schedule.sigmaMax(), steps);
            timesteps = new double[steps];
            for (int i = 0; i < steps; i++) {
                timesteps[i] = Math.rint(schedule.sigmaToTimestep(sigmaValues[i]));
            }
        } else {
            TimestepSpacing spacing = config.timestepSpacing() == null ? TimestepSpacing.LINSPACE : config.timestepSpacing();
            timesteps = spacing == TimestepSpacing.TRAILING
                    ? NoiseSchedule.spacedTimesteps(spacing, steps, n, config.stepsOffset(), true)
                    : Arrays.copyOf(
                            NoiseSchedule.spacedTimesteps(spacing, steps + 1, n, config.stepsOffset(), true), steps);
            sigmaValues = new double[steps];
            for (int i = 0; i < steps; i++) {
                sigmaValues[i] = schedule.sigma((int) timesteps[i]);
            }
        }
        sigmas = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            sigmas[i] = (float) sigmaValues[i];
        }
        sigmas[steps] = config.finalSigmasType() == FinalSigmas.ZERO ? 0 : schedule.sigmaMin();
        previousIndex = -2;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        if (previousX0 == null || previousX0.length != sample.length) {
            previousX0 = new float[sample.length];
        }
        double sigmaS = sigmas[stepIndex];
        double sigmaT = sigmas[stepIndex + 1];
        double alphaS = alpha(sigmaS);
        double alphaT = alpha(sigmaT);
        double h = lambda(sigmaT) - lambda(sigmaS);
        // x_t = (sigma_t / sigma_s) x + alpha_t (1 - e^{-h}) D, in the VP sigmas sigma * alpha.
        double sampleCoeff = (sigmaT * alphaT) / (sigmaS * alphaS);
        double dCoeff = alphaT * -Math.expm1(-h);
        boolean last = stepIndex == timesteps.length - 1;
        // At sigma 0 the second-order term is undefined (h infinite); short runs end first-order too.
        boolean lowerOrderLast = last && (config.finalSigmasType() == FinalSigmas.ZERO
                || config.lowerOrderFinal() && timesteps.length < 15);
        boolean secondOrder = previousIndex == stepIndex - 1 && !lowerOrderLast;
        double correction = 0;
        if (secondOrder) {
            double h0 = lambda(sigmaS) - lambda(sigmas[stepIndex - 1]);
            correction = dCoeff * 0.5 * h / h0;
        }
        for (int i = 0; i < sample.length; i++) {
            double x = sample[i];
            double x0 = NoiseSchedule.predictX0(config.predictionType(), modelOutput[i], x, alphaS, sigmaS * alphaS);
            double next = sampleCoeff * x + dCoeff * x0;
            if (secondOrder) {
                next += correction * (x0 - previousX0[i]);
            }
            previousX0[i] = (float) x0;
            sample[i] = (float) next;
        }
        previousIndex = stepIndex;
    }

    private static double alpha(double sigma) {
        return 1 / Math.sqrt(sigma * sigma + 1);
    }

    /** Half log-SNR log(alpha / sigma_vp) = -log(sigma); +infinity at sigma 0. */
    private static double lambda(double sigma) {
        return -Math.log(sigma);
    }

    /** From the run's own sigmas (Karras sigmas are not the table's at the rounded timestep). */
    @Override
    public double alphaBar(int stepIndex) {
        double a = alpha(sigmas[stepIndex]);
        return a * a;
    }

    @Override
    public void addNoise(float[] original, float[] noise, int stepIndex, float[] out) {
        double alpha = alpha(sigmas[stepIndex]);
        NoiseSchedule.mix(original, noise, alpha, sigmas[stepIndex] * alpha, out);
    }
}
