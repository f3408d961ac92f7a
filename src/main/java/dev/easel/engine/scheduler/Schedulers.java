package dev.easel.engine.scheduler;

import java.util.List;

/** Creates schedulers by their Easel names. */
public final class Schedulers {

    private static final List<String> NAMES =
            List.of("pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm");

    private Schedulers() {
    }

    /** The known scheduler names, in a stable order. */
    public static List<String> names() {
        return NAMES;
    }

    /**
     * A new scheduler for one job.
     *
     * @param name   one of {@link #names()}: {@code pndm} (PLMS), {@code ddim}, {@code euler},
     *               {@code euler_a} (Euler ancestral), {@code dpmpp_2m} and {@code dpmpp_2m_karras}
     *               (DPM-Solver++(2M) with the config's sigmas or Karras sigmas, whatever the config's
     *               {@code use_karras_sigmas}), {@code lcm}
     * @param config the model's schedule
     * @param eta    DDIM's stochasticity in [0, 1]; ignored by the other schedulers
     * @throws IllegalArgumentException for an unknown name or an eta outside [0, 1]
     */
    public static Scheduler create(String name, SchedulerConfig config, double eta) {
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("eta must be in [0, 1], got " + eta);
        }
        return switch (name) {
            case "pndm" -> new PndmScheduler(config);
            case "ddim" -> new DdimScheduler(config, eta);
            case "euler" -> new EulerDiscreteScheduler(config);
            case "euler_a" -> new EulerAncestralScheduler(config);
            case "dpmpp_2m" -> new DpmSolverMultistepScheduler(config.withKarrasSigmas(false));
            case "dpmpp_2m_karras" -> new DpmSolverMultistepScheduler(config.withKarrasSigmas(true));
            case "lcm" -> new LcmScheduler(config);
            default -> throw new IllegalArgumentException(
                    "unknown scheduler '" + name + "'; known: " + String.join(", ", NAMES));
        };
    }
}
