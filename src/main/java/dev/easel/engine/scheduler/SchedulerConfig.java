package dev.easel.engine.scheduler;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.json.JsonTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The training noise schedule and sampler options of a model, as a diffusers
 * {@code scheduler_config.json} describes them. Unknown keys are ignored (one file serves every
 * scheduler class). A missing key takes the diffusers default of {@code DDPMScheduler}
 * (1000 steps, linear 0.0001 to 0.02, epsilon); the three keys whose default differs between
 * diffusers' scheduler classes ({@code timestep_spacing}, {@code set_alpha_to_one},
 * {@code clip_sample}) are {@code null} when absent, and each scheduler then applies its own
 * class default.
 *
 * @param numTrainTimesteps      {@code num_train_timesteps}: length of the training schedule
 * @param betaStart              {@code beta_start}
 * @param betaEnd                {@code beta_end}
 * @param betaSchedule           {@code beta_schedule}
 * @param trainedBetas           {@code trained_betas}: explicit betas overriding the three above, or null
 * @param predictionType         {@code prediction_type}: what the UNet predicts
 * @param timestepSpacing        {@code timestep_spacing}, or null for the scheduler's default
 * @param stepsOffset            {@code steps_offset}: added to "leading" timesteps (SD 1.5: 1)
 * @param setAlphaToOne          {@code set_alpha_to_one}: the final step goes to alpha-bar 1 (clean)
 *                               rather than alpha-bar[0]; null for the scheduler's default
 * @param clipSample             {@code clip_sample}: clamp predicted x0 (DDIM, LCM); null for default
 * @param clipSampleRange        {@code clip_sample_range}: the clamp bound
 * @param skipPrkSteps           {@code skip_prk_steps}: PNDM starts with PLMS instead of Runge-Kutta
 * @param useKarrasSigmas        {@code use_karras_sigmas} (Euler, DPM-Solver)
 * @param originalInferenceSteps {@code original_inference_steps}: LCM's distillation schedule length
 * @param timestepScaling        {@code timestep_scaling}: LCM's boundary-condition time scale
 * @param finalSigmasType        {@code final_sigmas_type} (Euler, DPM-Solver): where the last step ends
 * @param lowerOrderFinal        {@code lower_order_final} (DPM-Solver): first-order last step for
 *                               runs under 15 steps
 */
public record SchedulerConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        PredictionType predictionType,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        Boolean setAlphaToOne,
        Boolean clipSample,
        double clipSampleRange,
        boolean skipPrkSteps,
        boolean useKarrasSigmas,
        int originalInferenceSteps,
        double timestepScaling,
        FinalSigmas finalSigmasType,
        boolean lowerOrderFinal) {

    /** {@code beta_schedule}: how the training betas grow with t. */
    public enum BetaSchedule {
        LINEAR, SCALED_LINEAR, SQUAREDCOS_CAP_V2
    }

    /** {@code prediction_type}: the UNet's output. */
    public enum PredictionType {
        EPSILON, V_PREDICTION, SAMPLE
    }

    /** {@code timestep_spacing}: how inference timesteps are picked from the training range. */
    public enum TimestepSpacing {
        LEADING, TRAILING, LINSPACE
    }

    /** {@code final_sigmas_type}: the last step goes to sigma 0 (clean) or to the smallest training sigma. */
    public enum FinalSigmas {
        ZERO, SIGMA_MIN
    }

    public SchedulerConfig {
        // Every job allocates the schedule's tables (num_train_timesteps entries each), and a
        // schedule of one step has no neighbour to interpolate: both are refused at load.
        if (numTrainTimesteps < 2 || numTrainTimesteps > MAX_TRAIN_TIMESTEPS) {
            throw new IllegalArgumentException("num_train_timesteps must be between 2 and " + MAX_TRAIN_TIMESTEPS
                    + ", got " + numTrainTimesteps);
        }
        // 1 - beta must be a probability: a beta outside (0, 1) gives NaN sigmas and black pictures.
        requireBeta("beta_start", betaStart);
        requireBeta("beta_end", betaEnd);
        if (trainedBetas != null) {
            for (int i = 0; i < trainedBetas.length; i++) {
                if (!(trainedBetas[i] >= 0 && trainedBetas[i] < 1)) {
                    throw new IllegalArgumentException("trained_betas[" + i + "] must be in [0, 1), got " + trainedBetas[i]);
                }
            }
        }
        if (trainedBetas != null && trainedBetas.length != numTrainTimesteps) {
            throw new IllegalArgumentException("trained_betas has " + trainedBetas.length
                    + " entries but num_train_timesteps is " + numTrainTimesteps);
        }
        if (originalInferenceSteps < 1) {
            throw new IllegalArgumentException("original_inference_steps must be >= 1, got " + originalInferenceSteps);
        }
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(finalSigmasType, "final_sigmas_type");
        trainedBetas = trainedBetas == null ? null : trainedBetas.clone();
    }

    /** The most training timesteps a schedule may have (diffusers' models use 1000). */
    public static final int MAX_TRAIN_TIMESTEPS = 100_000;

    private static void requireBeta(String key, double beta) {
        if (!(beta > 0 && beta < 1)) {
            throw new IllegalArgumentException(key + " must be in (0, 1), got " + beta);
        }
    }

    /** The Stable Diffusion 1.5 schedule (its PNDM scheduler_config.json), for tests and tools. */
    public static SchedulerConfig stableDiffusion15() {
        return new SchedulerConfig(1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, null,
                PredictionType.EPSILON, TimestepSpacing.LEADING, 1, false, false, 1.0, true, false, 50, 10.0,
                FinalSigmas.ZERO, true);
    }

    @Override
    public double[] trainedBetas() {
        return trainedBetas == null ? null : trainedBetas.clone();
    }

    /** This config with another prediction type. */
    public SchedulerConfig withPredictionType(PredictionType type) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas, type,
                timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, skipPrkSteps,
                useKarrasSigmas, originalInferenceSteps, timestepScaling, finalSigmasType, lowerOrderFinal);
    }

    /** This config with Karras sigmas switched on or off (the dpmpp_2m / dpmpp_2m_karras choice). */
    public SchedulerConfig withKarrasSigmas(boolean karras) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
                predictionType, timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange,
                skipPrkSteps, karras, originalInferenceSteps, timestepScaling, finalSigmasType, lowerOrderFinal);
    }

    /** This config with {@code set_alpha_to_one} fixed. */
    public SchedulerConfig withSetAlphaToOne(boolean alphaToOne) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
                predictionType, timestepSpacing, stepsOffset, alphaToOne, clipSample, clipSampleRange,
                skipPrkSteps, useKarrasSigmas, originalInferenceSteps, timestepScaling, finalSigmasType, lowerOrderFinal);
    }

    /**
     * Reads a diffusers {@code scheduler_config.json}.
     *
     * @throws BundleException naming the file, the key, the value and what is allowed, if the file
     *                         is unreadable, not a JSON object, or a known key has a bad value
     */
    public static SchedulerConfig read(Path json) {
        String text;
        try {
            text = Files.readString(json);
        } catch (IOException e) {
            throw BundleException.inFile(json, "cannot read scheduler config: " + e.getMessage(), e);
        }
        return parse(text, json);
    }

    /** Parses config JSON; {@code source} names it in error messages. */
    static SchedulerConfig parse(String text, Path source) {
        JsonNode root;
        try {
            root = JsonTrees.parse(text);
        } catch (JsonProcessingException e) {
            throw BundleException.inFile(source, "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) { // a String has no I/O to fail
            throw BundleException.inFile(source, "cannot read scheduler config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw BundleException.inFile(source, "scheduler config must be a JSON object");
        }
        Reader r = new Reader(root, source);
        // Features that change the model's noise schedule or outputs must not be silently dropped.
        r.requireFalse("rescale_betas_zero_snr");
        r.requireFalse("thresholding");
        try {
            return new SchedulerConfig(
                    r.integer("num_train_timesteps", 1000),
                    r.number("beta_start", 0.0001),
                    r.number("beta_end", 0.02),
                    r.choice("beta_schedule", BetaSchedule.class, BetaSchedule.LINEAR),
                    r.numbers("trained_betas"),
                    r.choice("prediction_type", PredictionType.class, PredictionType.EPSILON),
                    r.choice("timestep_spacing", TimestepSpacing.class, null),
                    r.integer("steps_offset", 0),
                    r.bool("set_alpha_to_one"),
                    r.bool("clip_sample"),
                    r.number("clip_sample_range", 1.0),
                    Boolean.TRUE.equals(r.bool("skip_prk_steps")),
                    Boolean.TRUE.equals(r.bool("use_karras_sigmas")),
                    r.integer("original_inference_steps", 50),
                    r.number("timestep_scaling", 10.0),
                    r.choice("final_sigmas_type", FinalSigmas.class, FinalSigmas.ZERO),
                    !Boolean.FALSE.equals(r.bool("lower_order_final")));
        } catch (IllegalArgumentException e) {
            throw BundleException.inFile(source, e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SchedulerConfig c
                && numTrainTimesteps == c.numTrainTimesteps
                && Double.compare(betaStart, c.betaStart) == 0
                && Double.compare(betaEnd, c.betaEnd) == 0
                && betaSchedule == c.betaSchedule
                && Arrays.equals(trainedBetas, c.trainedBetas)
                && predictionType == c.predictionType
                && timestepSpacing == c.timestepSpacing
                && stepsOffset == c.stepsOffset
                && Objects.equals(setAlphaToOne, c.setAlphaToOne)
                && Objects.equals(clipSample, c.clipSample)
                && Double.compare(clipSampleRange, c.clipSampleRange) == 0
                && skipPrkSteps == c.skipPrkSteps
                && useKarrasSigmas == c.useKarrasSigmas
                && originalInferenceSteps == c.originalInferenceSteps
                && Double.compare(timestepScaling, c.timestepScaling) == 0
                && finalSigmasType == c.finalSigmasType
                && lowerOrderFinal == c.lowerOrderFinal;
    }

    @Override
    public int hashCode() {
        return Objects.hash(numTrainTimesteps, betaStart, betaEnd, betaSchedule,
                Arrays.hashCode(trainedBetas), predictionType, timestepSpacing, stepsOffset, setAlphaToOne,
                clipSample, clipSampleRange, skipPrkSteps, useKarrasSigmas, originalInferenceSteps,
                timestepScaling, finalSigmasType, lowerOrderFinal);
    }

    @Override
    public String toString() {
        return "SchedulerConfig[num_train_timesteps=" + numTrainTimesteps + ", beta_start=" + betaStart
                + ", beta_end=" + betaEnd + ", beta_schedule=" + jsonName(betaSchedule)
                + ", trained_betas=" + (trainedBetas == null ? "null" : trainedBetas.length + " values")
                + ", prediction_type=" + jsonName(predictionType)
                + ", timestep_spacing=" + (timestepSpacing == null ? "default" : jsonName(timestepSpacing))
                + ", steps_offset=" + stepsOffset + ", set_alpha_to_one=" + setAlphaToOne
                + ", clip_sample=" + clipSample + ", clip_sample_range=" + clipSampleRange
                + ", skip_prk_steps=" + skipPrkSteps + ", use_karras_sigmas=" + useKarrasSigmas
                + ", original_inference_steps=" + originalInferenceSteps
                + ", timestep_scaling=" + timestepScaling
                + ", final_sigmas_type=" + jsonName(finalSigmasType) + ", lower_order_final=" + lowerOrderFinal + "]";
    }

    /** The JSON spelling of an enum constant ({@code SCALED_LINEAR} is {@code scaled_linear}). */
    static String jsonName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** Typed access to the keys of one config object, with messages naming key, value and rule. */
    private record Reader(JsonNode root, Path source) {

        private JsonNode present(String key) {
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? null : n;
        }

        private BundleException bad(String key, JsonNode value, String expected) {
            return BundleException.inFile(source, key + ": invalid value " + value + "; expected " + expected);
        }

        int integer(String key, int fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw bad(key, n, "an integer");
            }
            return n.intValue();
        }

        double number(String key, double fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
                throw bad(key, n, "a number");
            }
            return n.doubleValue();
        }

        Boolean bool(String key) {
            JsonNode n = present(key);
            if (n == null) {
                return null;
            }
            if (!n.isBoolean()) {
                throw bad(key, n, "true or false");
            }
            return n.booleanValue();
        }

        void requireFalse(String key) {
            if (Boolean.TRUE.equals(bool(key))) {
                throw BundleException.inFile(source, key + ": value true is not supported; allowed: false");
            }
        }

        double[] numbers(String key) {
            JsonNode n = present(key);
            if (n == null) {
                return null;
            }
            if (!n.isArray()) {
                throw bad(key, n, "an array of numbers or null");
            }
            double[] out = new double[n.size()];
            for (int i = 0; i < out.length; i++) {
                if (!n.get(i).isNumber()) {
                    throw bad(key + "[" + i + "]", n.get(i), "a number");
                }
                out[i] = n.get(i).doubleValue();
            }
            return out;
        }

        <E extends Enum<E>> E choice(String key, Class<E> type, E fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            String allowed = Arrays.stream(type.getEnumConstants())
                    .map(SchedulerConfig::jsonName).collect(Collectors.joining(", "));
            if (n.isTextual()) {
                for (E e : type.getEnumConstants()) {
                    if (jsonName(e).equals(n.textValue())) {
                        return e;
                    }
                }
            }
            throw BundleException.inFile(source, key + ": unknown value " + n + "; allowed: " + allowed);
        }
    }
}
