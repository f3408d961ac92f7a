package dev.easel.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.imageio.ImageIO;

/**
 * The worker restarted with {@code easel.worker.concurrency=4}, then pulled jobs (Kafka) and
 * pushed jobs ({@code POST /}, Knative style, redelivered on 503) at once, over a few distinct
 * specs. All must complete, and every PNG must be byte-identical to the PNG of the same spec run
 * alone first (one reference job per spec): jobs running side by side must not disturb each other.
 * A differing PNG counts as a duplicate result.
 */
final class ConcurrencyScenario implements Scenario {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PUSH_PARALLEL = 4;

    @Override
    public String name() {
        return "concurrency";
    }

    @Override
    public int concurrency(Settings settings) {
        return settings.concurrency();
    }

    static List<JobSpec> specs(Settings settings) {
        // Two rewritten specs among the first four: two edits built at once while plain jobs run
        // (RewrittenModels builds outside its lock), and jobs waiting on one edit's build.
        List<JobSpec> all = List.of(
                JobSpec.fast(11),
                JobSpec.rewritten(21, "{\"erase\":[\"cats\"],\"preserve\":[\"dogs\"],\"preserveScale\":0.5,"
                        + "\"contexts\":[\"a photo of {}\",\"{} on a sofa\"]}"),
                JobSpec.slow(13, 64, 6),
                JobSpec.rewritten(22, "{\"replace\":[{\"source\":\"cats\",\"target\":\"dogs\"}],\"rows\":\"through-eos\"}"),
                new JobSpec(JobSpec.ORACLE, "a blue square on a green background", 64, 64, 4, "euler", 12),
                new JobSpec(JobSpec.ORACLE, "a small yellow triangle", 64, 64, 8, "ddim", 14),
                JobSpec.slow(15, settings.slowSize(), 8),
                new JobSpec(JobSpec.RANDOM, "two cats", 64, 64, 5, "dpmpp_2m", 16));
        return all.subList(0, Math.min(all.size(), settings.concurrencySpecs()));
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        List<JobSpec> specs = specs(s);
        int n = 0;
        // References: one job per spec, alone.
        Map<JobSpec, SentJob> references = new HashMap<>();
        for (JobSpec spec : specs) {
            SentJob reference = outcome.add(SentJob.valid(chaos.id(name(), n++), spec));
            references.put(spec, reference);
            chaos.sender.send(reference);
            List<SentJob> open = chaos.awaitSettled(outcome, List.of(reference), Duration.ofMinutes(2));
            if (!open.isEmpty()) {
                throw new IllegalStateException("reference job " + reference.id() + " (" + spec + ") had no answer"
                        + " within 2 min: the worker is not answering");
            }
        }
        chaos.log("%d reference jobs run alone; now %d pulled and %d pushed at once (concurrency %d)", specs.size(),
                s.concurrencyKafka(), s.concurrencyPush(), chaos.worker.concurrency());
        List<SentJob> mass = new ArrayList<>();
        List<Future<?>> pushes = new ArrayList<>();
        long pushDeadline = System.nanoTime() + s.settleTimeout().toNanos();
        try (Pusher pusher = new Pusher(chaos.worker::port, PUSH_PARALLEL)) {
            for (int i = 0; i < Math.max(s.concurrencyKafka(), s.concurrencyPush()); i++) {
                if (i < s.concurrencyPush()) {
                    SentJob job = outcome.add(SentJob.pushed(chaos.id(name(), n++), specs.get(i % specs.size())));
                    mass.add(job);
                    pushes.add(pusher.push(job, pushDeadline));
                }
                if (i < s.concurrencyKafka()) {
                    SentJob job = outcome.add(SentJob.valid(chaos.id(name(), n++), specs.get((i + 1) % specs.size())));
                    mass.add(job);
                    chaos.sender.send(job);
                }
            }
            chaos.sender.awaitAcked(Duration.ofMinutes(1));
            outcome.lost(chaos.awaitSettled(outcome, mass, s.settleTimeout()));
            for (Future<?> push : pushes) {
                try {
                    push.get(Math.max(1, (pushDeadline - System.nanoTime()) / 1_000_000) + 5_000, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    push.cancel(true);
                }
            }
            outcome.figure("push 503s " + pusher.serviceUnavailable());
        }
        comparePngs(chaos, outcome, references);
    }

    private static void comparePngs(Chaos chaos, Outcome outcome, Map<JobSpec, SentJob> references) {
        Map<JobSpec, List<byte[]>> referencePngs = new HashMap<>();
        for (Map.Entry<JobSpec, SentJob> e : references.entrySet()) {
            images(chaos, e.getValue()).ifPresent(pngs -> referencePngs.put(e.getKey(), pngs));
        }
        int compared = 0;
        int mismatched = 0;
        int pixelsDiffer = 0;
        List<String> examples = new ArrayList<>();
        for (SentJob job : outcome.jobs()) {
            if (references.get(job.spec()) == job || !referencePngs.containsKey(job.spec())) {
                continue;
            }
            Optional<List<byte[]>> pngs = images(chaos, job);
            if (pngs.isEmpty()) {
                continue;
            }
            compared++;
            List<byte[]> expected = referencePngs.get(job.spec());
            boolean same = expected.size() == pngs.get().size();
            for (int i = 0; same && i < expected.size(); i++) {
                same = Arrays.equals(expected.get(i), pngs.get().get(i));
            }
            if (!same) {
                mismatched++;
                boolean pixels = !samePixels(expected, pngs.get());
                if (pixels) {
                    pixelsDiffer++;
                }
                if (examples.size() < 5) {
                    examples.add(job.id() + (job.isPushed() ? " (push)" : "") + " vs " + references.get(job.spec()).id()
                            + " (" + job.spec() + ")" + (pixels ? ": pixels differ" : ": same pixels")
                            + (expected.size() == pngs.get().size() && !expected.isEmpty()
                                    ? ", " + Differences.pngText(expected.get(0), pngs.get().get(0)) : ", "
                                    + pngs.get().size() + " images vs " + expected.size()));
                }
            }
        }
        outcome.otherDuplicateResults(mismatched);
        outcome.figure(String.format(Locale.ROOT, "png mismatches %d of %d jobs compared", mismatched, compared));
        if (!examples.isEmpty()) {
            outcome.note("PNGs that differ from their spec's reference (" + pixelsDiffer + " in pixels): " + String.join("; ", examples));
        }
        if (referencePngs.size() < references.size()) {
            outcome.note((references.size() - referencePngs.size()) + " reference job(s) without images: their specs were not compared");
        }
    }

    /** The job's PNGs, from the objects its completed answer names. */
    private static Optional<List<byte[]>> images(Chaos chaos, SentJob job) {
        JsonNode data = null;
        for (Answers.Event event : chaos.answers.finals(job.id())) {
            if (event.type().equals("completed")) {
                data = parse(event.value());
                break;
            }
        }
        if (data == null && job.push() != null && job.push().status() == 200) {
            data = parse(job.push().body().getBytes(StandardCharsets.UTF_8));
        }
        if (data == null || !data.path("images").isArray()) {
            return Optional.empty();
        }
        String bucket = data.path("bucket").asText(Chaos.BUCKET);
        List<byte[]> pngs = new ArrayList<>();
        for (JsonNode image : data.path("images")) {
            String key = image.path("objectKey").asText(null);
            Optional<byte[]> bytes = key == null ? Optional.empty() : chaos.fetch(bucket, key);
            if (bytes.isEmpty()) {
                return Optional.of(List.of()); // named but missing: cannot match a reference
            }
            pngs.add(bytes.get());
        }
        return Optional.of(pngs);
    }

    private static boolean samePixels(List<byte[]> a, List<byte[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        try {
            for (int i = 0; i < a.size(); i++) {
                BufferedImage x = ImageIO.read(new ByteArrayInputStream(a.get(i)));
                BufferedImage y = ImageIO.read(new ByteArrayInputStream(b.get(i)));
                if (x == null || y == null || x.getWidth() != y.getWidth() || x.getHeight() != y.getHeight()) {
                    return false;
                }
                for (int row = 0; row < x.getHeight(); row++) {
                    for (int col = 0; col < x.getWidth(); col++) {
                        if (x.getRGB(col, row) != y.getRGB(col, row)) {
                            return false;
                        }
                    }
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static JsonNode parse(byte[] value) {
        try {
            return value == null ? null : JSON.readTree(value);
        } catch (IOException e) {
            return null;
        }
    }
}
