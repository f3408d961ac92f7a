package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.engine.scheduler.SchedulerConfig.TimestepSpacing;

/**
 * PNDM: Liu, Ren, Lin &amp; Zhao, "Pseudo Numerical Methods for Diffusion Models on Manifolds"
 * (ICLR 2022). Each step applies the transfer part (eq. 9)
 *
 * <pre>
 * x_prev = sqrt(a_prev / a_t) x_t - (a_prev - a_t) e / (a_t sqrt(1 - a_prev) + sqrt((1 - a_t) a_t a_prev))
 * </pre>
 *
 * ({@code a} = alpha-bar, one step of {@code num_train_timesteps / steps}) with a noise estimate
 * {@code e} from the gradient part: PLMS, the 4th-order linear multistep combination of past
 * estimates (eq. 12: {@code (55 e0 - 59 e1 + 37 e2 - 9 e3) / 24}). With {@code skip_prk_steps}
 * (Stable Diffusion's setting) the first estimates come from lower-order combinations: an Euler
 * step, then a pseudo improved-Euler step that re-evaluates the model at the first step's end —
 * hence the one repeated entry in {@link #timesteps()} — then 2nd and 3rd order Adams-Bashforth.
 * Without it, the first three steps are pseudo Runge-Kutta (eq. 13), four model evaluations each
 * at half steps; such runs must start at index 0.
 *
 * <p>An img2img run started mid-schedule begins with empty history like diffusers, but (unlike
 * diffusers) without the improved-Euler redo, whose repeated timestep only exists at the start of
 * the schedule: diffusers re-arrives at the same noise level and then evaluates the model one level
 * lower than the sample is, which leaves residual noise at few steps.
 *
 * <p>With v-prediction the combined output is converted to a noise estimate at the step's start.
 * Class defaults as diffusers: "leading" spacing, {@code set_alpha_to_one} false.
 */
public final class PndmScheduler extends DiscreteTimeScheduler {

    private static final int PRK_STEPS = 3;

    private final double finalAlphaCumprod;
    private int stepRatio;
    private int prkEntries;
    private int counter;
    private int firstIndex;

    // Past model outputs, oldest first; buffers are reused round-robin.
    private final float[][] ets = new float[4][];
    private int etsCount;
    private float[] curSample;
    private float[] prkSum;

    // Coefficients of the current transfer (fields, so that a step allocates nothing).
    private double sqrtA;
    private double sqrtB;
    private double sampleCoeff;
    private double outputCoeff;

    public PndmScheduler(SchedulerConfig config) {
        super(config);
        this.finalAlphaCumprod = Boolean.TRUE.equals(config.setAlphaToOne()) ? 1.0 : schedule.alphaCumprod(0);
    }

    @Override
    public void setTimesteps(int steps) {
        int n = schedule.trainSteps();
        NoiseSchedule.checkSteps(steps, n, "num_train_timesteps");
        if (!config.skipPrkSteps() && steps < PRK_STEPS + 1) {
            throw new IllegalArgumentException(
                    "steps must be >= " + (PRK_STEPS + 1) + " when skip_prk_steps is false, got " + steps);
        }
        TimestepSpacing spacing = config.timestepSpacing() == null ? TimestepSpacing.LEADING : config.timestepSpacing();
        double[] desc = NoiseSchedule.spacedTimesteps(spacing, steps, n, config.stepsOffset(), true);
        stepRatio = n / steps;
        if (config.skipPrkSteps()) {
            // The first timestep is followed by the next one twice: the Euler step's end is evaluated,
            // then the improved-Euler step re-arrives at the same timestep.
            prkEntries = 0;
            timesteps = new double[steps == 1 ? 1 : steps + 1];
            timesteps[0] = desc[0];
            for (int i = 1; i < steps; i++) {
                timesteps[i + 1] = desc[i];
            }
            if (steps > 1) {
                timesteps[1] = desc[1];
            }
        } else {
            // Runge-Kutta over the first PRK_STEPS intervals: t, t-h/2, t-h/2, t-h per interval,
            // sharing the boundary evaluation's timestep with the next interval's start.
            int half = stepRatio / 2;
            prkEntries = 4 * PRK_STEPS;
            timesteps = new double[prkEntries + steps - PRK_STEPS];
            for (int k = 0; k < PRK_STEPS; k++) {
                timesteps[4 * k] = desc[k];
                timesteps[4 * k + 1] = desc[k + 1] + half;
                timesteps[4 * k + 2] = desc[k + 1] + half;
                timesteps[4 * k + 3] = desc[k + 1];
            }
            System.arraycopy(desc, PRK_STEPS, timesteps, prkEntries, steps - PRK_STEPS);
        }
        counter = 0;
        etsCount = 0;
    }

    @Override
    public boolean startsAtTheFirstStepOnly() {
        return prkEntries > 0;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        NoiseSchedule.checkLengths(modelOutput, sample);
        ensureBuffers(sample.length);
        int t = (int) timesteps[stepIndex];
        if (counter < prkEntries) {
            if (stepIndex != counter) {
                throw new IllegalStateException("PNDM with skip_prk_steps=false must run every timestep from index 0;"
                        + " got index " + stepIndex + " after " + counter + " steps");
            }
            stepPrk(modelOutput, t, sample);
        } else {
            stepPlms(modelOutput, stepIndex, t, sample);
        }
        counter++;
    }

    /** One stage of pseudo RK4 (eq. 13): k1..k4 at t, t-h/2, t-h/2, t-h, combined (k1+2k2+2k3+k4)/6. */
    private void stepPrk(float[] modelOutput, int t, float[] sample) {
        int stage = counter % 4;
        int intervalStart = (int) timesteps[counter - stage];
        int target = stage % 2 == 0 ? t - stepRatio / 2 : t;
        if (stage == 0) {
            System.arraycopy(sample, 0, curSample, 0, sample.length);
            push(modelOutput);
        }
        prepareTransfer(intervalStart, target);
        for (int i = 0; i < sample.length; i++) {
            double k = modelOutput[i];
            double e = k;
            switch (stage) {
                case 0 -> prkSum[i] = (float) (k / 6);
                case 1, 2 -> prkSum[i] = (float) (prkSum[i] + k / 3);
                default -> e = prkSum[i] + k / 6;
            }
            sample[i] = (float) transfer(curSample[i], e);
        }
    }

    /** One PLMS step (eq. 12), with the lower-order start described in the class comment. */
    private void stepPlms(float[] modelOutput, int stepIndex, int t, float[] sample) {
        int from = t;
        int to = t - stepRatio;
        if (counter == 0) {
            firstIndex = stepIndex;
        }
        // The repeated timestep sits at index 2; a run started later (img2img) has no repeat to
        // absorb the redo, which would then skip a noise level, so it goes on with Adams-Bashforth.
        boolean improvedEuler = counter == 1 && firstIndex == 0;
        if (improvedEuler) {
            // The model was evaluated at the Euler step's end; redo that step from its start.
            from = t + stepRatio;
            to = t;
        } else {
            push(modelOutput);
        }
        if (counter == 0) {
            System.arraycopy(sample, 0, curSample, 0, sample.length);
        }
        prepareTransfer(from, to);
        float[] e1 = ets[etsCount - 1];
        float[] e2 = etsCount > 1 ? ets[etsCount - 2] : null;
        float[] e3 = etsCount > 2 ? ets[etsCount - 3] : null;
        float[] e4 = etsCount > 3 ? ets[etsCount - 4] : null;
        for (int i = 0; i < sample.length; i++) {
            double e;
            double base = sample[i];
            if (improvedEuler) {
                e = (modelOutput[i] + e1[i]) / 2.0;
                base = curSample[i];
            } else {
                e = switch (etsCount) {
                    case 1 -> e1[i];
                    case 2 -> (3.0 * e1[i] - e2[i]) / 2;
                    case 3 -> (23.0 * e1[i] - 16.0 * e2[i] + 5.0 * e3[i]) / 12;
                    default -> (55.0 * e1[i] - 59.0 * e2[i] + 37.0 * e3[i] - 9.0 * e4[i]) / 24;
                };
            }
            sample[i] = (float) transfer(base, e);
        }
    }

    /** Appends a model output to the history, keeping the last four. */
    private void push(float[] modelOutput) {
        if (etsCount == ets.length) {
            float[] oldest = ets[0];
            System.arraycopy(ets, 1, ets, 0, ets.length - 1);
            ets[ets.length - 1] = oldest;
            etsCount--;
        }
        System.arraycopy(modelOutput, 0, ets[etsCount], 0, modelOutput.length);
        etsCount++;
    }

    private void ensureBuffers(int length) {
        if (curSample == null || curSample.length != length) {
            curSample = new float[length];
            prkSum = new float[length];
            for (int i = 0; i < ets.length; i++) {
                ets[i] = new float[length];
            }
        }
    }

    /** Sets the coefficients of the transfer part (eq. 9) from training timestep {@code from} to {@code to}. */
    private void prepareTransfer(int from, int to) {
        double alpha = schedule.alphaCumprod(from);
        double alphaPrev = to >= 0 ? schedule.alphaCumprod(to) : finalAlphaCumprod;
        sqrtA = Math.sqrt(alpha);
        sqrtB = Math.sqrt(1 - alpha);
        sampleCoeff = Math.sqrt(alphaPrev / alpha);
        outputCoeff = (alphaPrev - alpha)
                / (alpha * Math.sqrt(1 - alphaPrev) + Math.sqrt(alpha * (1 - alpha) * alphaPrev));
    }

    /** The transfer part applied to one element with model output (combination) {@code modelOutput}. */
    private double transfer(double x, double modelOutput) {
        double eps = NoiseSchedule.predictEpsilon(config.predictionType(), modelOutput, x, sqrtA, sqrtB);
        return sampleCoeff * x - outputCoeff * eps;
    }

}
