package dev.easel.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Garbage and hostile records mixed with valid jobs: random bytes, truncated JSON, JSON that is not
 * an object, wrong types, huge numbers, wrong content types, CloudEvents missing attributes, nesting
 * and numbers past the JSON parser's limits, invalid UTF-8, and oversized records, one of them a
 * JSON job of exactly {@value #LARGEST} bytes (just under the broker's default 1 MiB record limit).
 * Every valid job must complete; every bad record must be dead-lettered, and one that is readable
 * JSON with an id must also get a {@code failed} event (not retryable); the worker keeps going
 * (a few valid jobs are sent after the batch).
 */
final class FuzzScenario implements Scenario {

    /** The value size of the largest record: with its key and framing, just inside the broker's 1,048,588. */
    static final int LARGEST = 1_048_400;
    private static final int AFTER = 3;

    /** A record to send: its expectation and its bytes. */
    private record Case(SentJob job, byte[] key, byte[] value, RecordHeaders headers) {
    }

    @Override
    public String name() {
        return "fuzz";
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        Random random = new Random(chaos.random.nextLong());
        List<Case> cases = new ArrayList<>();
        int[] n = {0};
        for (int round = 0; round < s.fuzzRounds(); round++) {
            cases.addAll(badCases(chaos, n, random, round == 0));
        }
        for (int i = 0; i < s.fuzzValid(); i++) {
            cases.add(valid(chaos, n, i, random));
        }
        Collections.shuffle(cases, random);
        int bad = (int) cases.stream().filter(c -> !c.job().isValid()).count();
        chaos.log("sending %d records: %d bad, %d valid", cases.size(), bad, cases.size() - bad);
        for (Case c : cases) {
            outcome.add(c.job());
            chaos.sender.send(c.job(), c.key(), c.value(), c.headers());
        }
        if (!chaos.sender.awaitAcked(Duration.ofMinutes(2))) {
            outcome.note(chaos.sender.pending() + " record(s) not acknowledged by the broker within 2 min");
        }
        // The worker keeps going: valid jobs after the storm (behind it on both partitions).
        for (int i = 0; i < AFTER; i++) {
            chaos.sender.send(outcome.add(SentJob.valid(chaos.id(name(), n[0]++), JobSpec.fast(900 + i))));
        }
        chaos.sender.awaitAcked(Duration.ofMinutes(1));
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        outcome.figure(String.format(Locale.ROOT, "bad records %d, valid %d", bad, cases.size() - bad + AFTER));
        int largestLetters = outcome.jobs().stream().filter(j -> j.label().startsWith("oversized " + LARGEST))
                .mapToInt(j -> chaos.answers.deadLetters(j).size()).sum();
        outcome.figure("the " + LARGEST + "-byte record dead-lettered: " + (largestLetters > 0 ? "yes" : "NO"));
    }

    private static Case valid(Chaos chaos, int[] n, int i, Random random) {
        String id = chaos.id("fuzz", n[0]++);
        JobSpec spec = JobSpec.fast(300 + i);
        RecordHeaders headers = new RecordHeaders();
        String label = "valid";
        byte[] value = spec.bytes(id);
        switch (i % 4) {
            case 1 -> {
                label = "valid, binary CloudEvent";
                ce(headers, "1.0", id, "/chaos", "dev.easel.job.requested");
                header(headers, "content-type", "application/json");
            }
            case 2 -> {
                label = "valid, structured CloudEvent";
                header(headers, "content-type", "application/cloudevents+json; charset=utf-8");
                value = ("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/chaos\",\"type\":\"dev.easel.job.requested\","
                        + "\"datacontenttype\":\"application/json\",\"data\":" + spec.json(id) + "}").getBytes(StandardCharsets.UTF_8);
            }
            case 3 -> {
                label = "valid, application/json";
                header(headers, "content-type", "application/json");
            }
            default -> {
            }
        }
        return new Case(new SentJob(id, SentJob.Kind.VALID, label, spec, false), key(id), value, headers);
    }

    private static List<Case> badCases(Chaos chaos, int[] n, Random random, boolean withLargest) {
        List<Case> cases = new ArrayList<>();
        // -- not JSON, or not a JSON object: dead letter only
        for (int size : new int[] {1, 17, 300, 4096}) {
            byte[] bytes = new byte[size];
            random.nextBytes(bytes);
            bytes[0] = (byte) (0x80 | random.nextInt(0x40)); // never a JSON start
            cases.add(malformed(chaos, n, "random bytes (" + size + ")", bytes, new RecordHeaders()));
        }
        String truncated = JobSpec.fast(1).json("chaos-truncated");
        cases.add(malformed(chaos, n, "truncated JSON", utf8(truncated.substring(0, truncated.length() / 2)), new RecordHeaders()));
        cases.add(malformed(chaos, n, "empty value", new byte[0], new RecordHeaders()));
        cases.add(malformed(chaos, n, "tombstone (null value)", null, new RecordHeaders()));
        cases.add(malformed(chaos, n, "JSON array", utf8("[{\"version\":1,\"model\":\"oracle\",\"prompt\":\"x\"}]"), new RecordHeaders()));
        cases.add(malformed(chaos, n, "JSON string", utf8("\"a red circle\""), new RecordHeaders()));
        cases.add(malformed(chaos, n, "JSON null", utf8("null"), new RecordHeaders()));
        cases.add(malformed(chaos, n, "JSON nested 5000 deep", utf8("{\"a\":".repeat(5000) + "1" + "}".repeat(5000)),
                new RecordHeaders()));
        cases.add(malformed(chaos, n, "number of 5000 digits",
                utf8("{\"version\":1,\"model\":\"oracle\",\"prompt\":\"x\",\"seed\":" + "9".repeat(5000) + "}"), new RecordHeaders()));
        byte[] badUtf8 = utf8("{\"version\":1,\"model\":\"oracle\",\"prompt\":\"XX\"}");
        badUtf8[badUtf8.length - 4] = (byte) 0xC3; // a two-byte lead followed by an ASCII quote
        badUtf8[badUtf8.length - 3] = (byte) 0x28;
        cases.add(malformed(chaos, n, "invalid UTF-8", badUtf8, new RecordHeaders()));
        // -- wrong content types, broken CloudEvents: dead letter only
        {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(malformedWithId(id, "content-type text/plain", JobSpec.fast(2).bytes(id), headers("content-type", "text/plain")));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(malformedWithId(id, "content-type application/xml", utf8("<job><prompt>a red circle</prompt></job>"),
                    headers("content-type", "application/xml")));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            RecordHeaders h = new RecordHeaders();
            header(h, "ce_specversion", "1.0");
            header(h, "ce_id", id);
            cases.add(malformedWithId(id, "binary CloudEvent without ce_source, ce_type", JobSpec.fast(3).bytes(id), h));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            RecordHeaders h = new RecordHeaders();
            ce(h, "0.3", id, "/chaos", "dev.easel.job.requested");
            cases.add(malformedWithId(id, "binary CloudEvent specversion 0.3", JobSpec.fast(4).bytes(id), h));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            RecordHeaders h = new RecordHeaders();
            ce(h, "1.0", id, "/chaos", "dev.easel.job.requested");
            header(h, "content-type", "application/octet-stream");
            cases.add(malformedWithId(id, "binary CloudEvent, octet-stream", JobSpec.fast(5).bytes(id), h));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(malformedWithId(id, "structured CloudEvent without type",
                    utf8("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/chaos\",\"data\":" + JobSpec.fast(6).json(id) + "}"),
                    headers("content-type", "application/cloudevents+json")));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(malformedWithId(id, "structured CloudEvent, data a string",
                    utf8("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/chaos\",\"type\":\"t\",\"data\":\"a red circle\"}"),
                    headers("content-type", "application/cloudevents+json")));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(malformedWithId(id, "structured CloudEvent, data_base64 not base64",
                    utf8("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/chaos\",\"type\":\"t\",\"data_base64\":\"%%%\"}"),
                    headers("content-type", "application/cloudevents+json")));
        }
        {
            // No key at all: matched to its dead letter by partition and offset.
            String label = chaos.id("fuzz", n[0]++) + "-keyless";
            byte[] bytes = new byte[64];
            random.nextBytes(bytes);
            bytes[0] = (byte) 0xFF;
            cases.add(new Case(new SentJob(label, SentJob.Kind.MALFORMED, "keyless random bytes", null, false), null, bytes,
                    new RecordHeaders()));
        }
        {
            // A key near the broker's limit leaves no room in a dead letter for the value: the letter
            // keeps the key's first KiB (so it is matched by partition and offset), the store all of it.
            String id = chaos.id("fuzz", n[0]++);
            byte[] bytes = new byte[64];
            random.nextBytes(bytes);
            bytes[0] = (byte) 0xFF;
            cases.add(new Case(new SentJob(id, SentJob.Kind.MALFORMED, "random bytes under a 900 kB key", null, false),
                    utf8(id + "-" + "k".repeat(900_000)), bytes, new RecordHeaders()));
        }
        // -- readable JSON objects with an id, invalid as jobs: a failed event and a dead letter
        cases.add(invalid(chaos, n, "wrong types", id -> "{\"version\":1,\"id\":\"" + id
                + "\",\"model\":\"oracle\",\"prompt\":123,\"width\":\"64\",\"height\":64,\"steps\":true}"));
        cases.add(invalid(chaos, n, "huge width", id -> JobSpec.fast(7).json(id).replace("\"width\":64", "\"width\":99999999999999999999999")));
        cases.add(invalid(chaos, n, "steps 1e400", id -> JobSpec.fast(8).json(id).replace("\"steps\":4", "\"steps\":1e400")));
        cases.add(invalid(chaos, n, "seed 2^64", id -> JobSpec.fast(9).json(id).replace("\"seed\":9", "\"seed\":18446744073709551616")));
        cases.add(invalid(chaos, n, "negative size", id -> JobSpec.fast(10).json(id).replace("\"height\":64", "\"height\":-64")));
        cases.add(invalid(chaos, n, "steps 0.5", id -> JobSpec.fast(11).json(id).replace("\"steps\":4", "\"steps\":0.5")));
        cases.add(invalid(chaos, n, "missing model and prompt", id -> "{\"version\":1,\"id\":\"" + id + "\"}"));
        cases.add(invalid(chaos, n, "version 2", id -> JobSpec.fast(12).json(id).replace("\"version\":1", "\"version\":2")));
        cases.add(invalid(chaos, n, "unknown field", id -> JobSpec.fast(13).json(id).replace("}", ",\"colour\":\"red\"}")));
        cases.add(invalid(chaos, n, "width not a multiple of 8", id -> JobSpec.fast(14).json(id).replace("\"width\":64", "\"width\":100")));
        cases.add(invalid(chaos, n, "scheduler unknown", id -> JobSpec.fast(15).json(id).replace("\"euler\"", "\"warp\"")));
        cases.add(invalid(chaos, n, "prompt of 2000 words", id -> JobSpec.fast(16).withPrompt("red ".repeat(2000).trim()).json(id)));
        // -- oversized: a dead letter (of a bounded prefix); a failed event may come
        if (withLargest) {
            String id = chaos.id("fuzz", n[0]++);
            cases.add(new Case(new SentJob(id, SentJob.Kind.OVERSIZED, "oversized " + LARGEST + " bytes, JSON job", null, false),
                    key(id), paddedJob(id, LARGEST), new RecordHeaders()));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            byte[] bytes = new byte[600_000];
            random.nextBytes(bytes);
            bytes[0] = (byte) 0x80;
            cases.add(new Case(new SentJob(id, SentJob.Kind.OVERSIZED, "oversized 600000 random bytes", null, false), key(id), bytes,
                    new RecordHeaders()));
        }
        {
            String id = chaos.id("fuzz", n[0]++);
            String job = JobSpec.fast(17).json(id);
            String metadata = ",\"metadata\":{\"blob\":\"" + "m".repeat(300_000) + "\"}}";
            cases.add(new Case(new SentJob(id, SentJob.Kind.OVERSIZED, "oversized 300 kB metadata", null, false), key(id),
                    utf8(job.substring(0, job.length() - 1) + metadata), new RecordHeaders()));
        }
        return cases;
    }

    /** A job whose prompt pads it to exactly {@code size} bytes of UTF-8 JSON. */
    static byte[] paddedJob(String id, int size) {
        String head = "{\"version\":1,\"id\":\"" + id + "\",\"model\":\"oracle\",\"width\":64,\"height\":64,\"steps\":4,"
                + "\"scheduler\":\"euler\",\"seed\":7,\"prompt\":\"";
        String tail = "\"}";
        int pad = size - head.length() - tail.length();
        StringBuilder prompt = new StringBuilder(pad);
        String words = "a red circle on a blue background ";
        while (prompt.length() < pad) {
            prompt.append(words, 0, Math.min(words.length(), pad - prompt.length()));
        }
        byte[] bytes = utf8(head + prompt + tail);
        if (bytes.length != size) {
            throw new IllegalStateException("padded job is " + bytes.length + " bytes, not " + size);
        }
        return bytes;
    }

    private static Case malformed(Chaos chaos, int[] n, String label, byte[] value, RecordHeaders headers) {
        return malformedWithId(chaos.id("fuzz", n[0]++), label, value, headers);
    }

    private static Case malformedWithId(String id, String label, byte[] value, RecordHeaders headers) {
        return new Case(new SentJob(id, SentJob.Kind.MALFORMED, label, null, false), key(id), value, headers);
    }

    private static Case invalid(Chaos chaos, int[] n, String label, java.util.function.Function<String, String> json) {
        String id = chaos.id("fuzz", n[0]++);
        return new Case(new SentJob(id, SentJob.Kind.INVALID, label, null, false), key(id), utf8(json.apply(id)),
                new RecordHeaders());
    }

    private static void ce(RecordHeaders headers, String specVersion, String id, String source, String type) {
        header(headers, "ce_specversion", specVersion);
        header(headers, "ce_id", id);
        header(headers, "ce_source", source);
        header(headers, "ce_type", type);
    }

    private static RecordHeaders headers(String name, String value) {
        RecordHeaders headers = new RecordHeaders();
        header(headers, name, value);
        return headers;
    }

    private static void header(RecordHeaders headers, String name, String value) {
        headers.add(name, utf8(value));
    }

    private static byte[] key(String id) {
        return utf8(id);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
