package dev.easel.chaos;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * What a chaos job asks for, without its id: jobs with equal specs must produce byte-identical PNGs
 * ({@link ConcurrencyScenario} checks it). {@code extra}: more job-v1 members as JSON text (a
 * {@code rewrite}, {@code previews}), or "".
 */
record JobSpec(String model, String prompt, int width, int height, int steps, String scheduler, long seed,
               String extra) {

    JobSpec(String model, String prompt, int width, int height, int steps, String scheduler, long seed) {
        this(model, prompt, width, height, steps, scheduler, seed, "");
    }

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

    /**
     * A random-bundle job whose UNet is rewritten for it ({@code rewrite}, built by the worker and
     * cached) and which asks for previews: the rewritten-model cache and the preview path under
     * the scenarios' faults and concurrency.
     */
    static JobSpec rewritten(long seed, String rewrite) {
        return new JobSpec(RANDOM, "two cats on a sofa", 64, 64, 5, "euler", seed,
                "\"rewrite\":" + rewrite + ",\"previews\":{\"every\":2}");
    }

    JobSpec withPrompt(String newPrompt) {
        return new JobSpec(model, newPrompt, width, height, steps, scheduler, seed, extra);
    }

    /** The job-v1 document with this id, compact JSON (the prompt is plain ASCII, no escaping needed). */
    String json(String id) {
        return String.format(Locale.ROOT, "{\"version\":1,\"id\":\"%s\",\"model\":\"%s\",\"prompt\":\"%s\",\"width\":%d,"
                        + "\"height\":%d,\"steps\":%d,\"scheduler\":\"%s\",\"seed\":%d%s}",
                id, model, prompt, width, height, steps, scheduler, seed, extra.isEmpty() ? "" : "," + extra);
    }

    byte[] bytes(String id) {
        return json(id).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %dx%d %d steps seed %d \"%s\"%s", model, width, height, steps, seed, prompt,
                extra.isEmpty() ? "" : " " + extra);
    }
}
