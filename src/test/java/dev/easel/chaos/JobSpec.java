package dev.easel.chaos;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * What a chaos job asks for, without its id: jobs with equal specs must produce byte-identical PNGs
 * ({@link ConcurrencyScenario} checks it).
 */
record JobSpec(String model, String prompt, int width, int height, int steps, String scheduler, long seed) {

    /** The oracle bundle: tiny models, a 64×64 job takes milliseconds. */
    static final String ORACLE = "oracle";
    /** A random SD-shaped bundle: real convolutions and attention, tens of milliseconds a step at 256×256. */
    static final String RANDOM = "random";

    static JobSpec fast(long seed) {
        return new JobSpec(ORACLE, "a red circle", 64, 64, 4, "euler", seed);
    }

    static JobSpec slow(long seed, int size, int steps) {
        return new JobSpec(RANDOM, "a lighthouse at dusk", size, size, steps, "euler", seed);
    }

    JobSpec withPrompt(String newPrompt) {
        return new JobSpec(model, newPrompt, width, height, steps, scheduler, seed);
    }

    /** The job-v1 document with this id, compact JSON (the prompt is plain ASCII, no escaping needed). */
    String json(String id) {
        return String.format(Locale.ROOT, "{\"version\":1,\"id\":\"%s\",\"model\":\"%s\",\"prompt\":\"%s\",\"width\":%d,"
                        + "\"height\":%d,\"steps\":%d,\"scheduler\":\"%s\",\"seed\":%d}",
                id, model, prompt, width, height, steps, scheduler, seed);
    }

    byte[] bytes(String id) {
        return json(id).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %dx%d %d steps seed %d \"%s\"", model, width, height, steps, seed, prompt);
    }
}
