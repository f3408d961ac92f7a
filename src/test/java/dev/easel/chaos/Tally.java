package dev.easel.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A scenario's columns, counted per job (see docs/reliability.md, "Chaos"):
 * <ul>
 *   <li><b>sent</b>: jobs and records put on the topic or pushed (each once, however often resent);</li>
 *   <li><b>completed</b> / <b>failed</b>: jobs with a {@code completed} / {@code failed} (or
 *       {@code cancelled}) answer — a job with both counts in both, and as a duplicate result;</li>
 *   <li><b>dead-lettered</b>: records with at least one dead letter;</li>
 *   <li><b>lost</b>: jobs without the answers they expect when the scenario's time was up;</li>
 *   <li><b>duplicate results</b>: jobs with two different final answers (final events that differ in
 *       {@code ce_id} or value bytes, completed and failed, a push answer other than the event), and
 *       PNGs that differ from the same spec's reference run;</li>
 *   <li><b>duplicate events</b>: final events repeated byte for byte (allowed: at-least-once);</li>
 *   <li><b>wrongly failed</b>: a valid job failed (or refused with 400), or any {@code failed} event
 *       with {@code retryable: true} — transient faults shorter than the retry budget must not fail jobs.</li>
 * </ul>
 */
record Tally(String scenario, int sent, int completed, int failed, int deadLettered, int lost, int duplicateResults,
             int duplicateEvents, int wronglyFailed, List<String> figures, List<String> notes, String error) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EXAMPLES = 5;

    static Tally of(Outcome outcome, Answers answers) {
        int sent = 0;
        int completed = 0;
        int failed = 0;
        int deadLettered = 0;
        int lost = 0;
        int duplicateResults = outcome.otherDuplicateResults();
        int duplicateEvents = 0;
        int wronglyFailed = 0;
        int lateAnswers = 0;
        int wronglyCompleted = 0;
        int validDeadLettered = 0;
        int extraFailedEvents = 0;
        List<String> lostExamples = new ArrayList<>();
        List<String> duplicateExamples = new ArrayList<>();
        List<String> wrongExamples = new ArrayList<>();
        List<String> extraFailedExamples = new ArrayList<>();
        Set<String> lostIds = outcome.lost();
        List<String> refused = new ArrayList<>();
        for (SentJob job : outcome.jobs()) {
            if (job.refusedByBroker() != null) {
                example(refused, job + ": " + job.refusedByBroker());
                continue;
            }
            sent++;
            List<Answers.Event> finals = answers.finals(job.id());
            Set<String> distinct = new HashSet<>();
            boolean hasCompleted = false;
            boolean hasFailed = false;
            boolean retryableFailure = false;
            String failure = null;
            for (Answers.Event event : finals) {
                distinct.add(event.ceId() + "\u0000" + new String(event.value() == null ? new byte[0] : event.value(),
                        StandardCharsets.ISO_8859_1));
                if (event.type().equals("completed")) {
                    hasCompleted = true;
                } else {
                    hasFailed = true;
                    JsonNode data = parse(event.value());
                    if (data != null && data.path("retryable").asBoolean(false)) {
                        retryableFailure = true;
                    }
                    failure = event.type() + (data == null ? "" : " " + data.toString());
                }
            }
            duplicateEvents += finals.size() - distinct.size();
            boolean differentAnswers = distinct.size() > 1;
            SentJob.PushAnswer push = job.push();
            boolean refusedWith4xx = false;
            if (push != null && push.status() == 200) {
                JsonNode body = parse(push.body() == null ? null : push.body().getBytes(StandardCharsets.UTF_8));
                boolean bodyFailed = body != null && body.has("retryable") && body.has("reason");
                if (bodyFailed) {
                    hasFailed = true;
                    failure = failure != null ? failure : "push 200 " + body;
                    retryableFailure |= body.path("retryable").asBoolean(false);
                } else {
                    hasCompleted = true;
                }
                if (!finals.isEmpty() && finals.stream().map(e -> parse(e.value())).noneMatch(v -> v != null && v.equals(body))) {
                    differentAnswers = true;
                }
            } else if (push != null && push.status() >= 400) {
                refusedWith4xx = true;
                failure = "push answered " + push.status() + ": " + push.body();
            }
            if (hasCompleted && hasFailed) {
                differentAnswers = true;
            }
            if (differentAnswers) {
                duplicateResults++;
                example(duplicateExamples, job + ": " + finals.size() + " final events, " + distinct.size() + " different"
                        + (push != null ? ", push " + push.status() : "") + difference(finals, push));
            }
            if (hasCompleted) {
                completed++;
            }
            if (hasFailed) {
                failed++;
            }
            boolean wrong = retryableFailure || (job.isValid() && (hasFailed || refusedWith4xx));
            if (wrong) {
                wronglyFailed++;
                example(wrongExamples, job + ": " + failure);
            }
            if (!job.isValid() && hasCompleted) {
                wronglyCompleted++;
            }
            if (job.kind() != SentJob.Kind.INVALID && !job.isValid() && hasFailed) {
                extraFailedEvents++;
                example(extraFailedExamples, job.label());
            }
            boolean dead = !answers.deadLetters(job).isEmpty();
            if (dead) {
                deadLettered++;
                if (job.isValid()) {
                    validDeadLettered++;
                }
            }
            if (lostIds.contains(job.id())) {
                lost++;
                if (answers.settled(job)) {
                    lateAnswers++;
                }
                example(lostExamples, job + ": " + describe(job, answers));
            }
        }
        List<String> notes = new ArrayList<>(outcome.notes());
        if (!refused.isEmpty()) {
            notes.add("not counted, the broker refused them: " + String.join("; ", refused));
        }
        if (!lostExamples.isEmpty()) {
            notes.add("lost: " + String.join("; ", lostExamples) + more(lost));
        }
        if (lateAnswers > 0) {
            notes.add(lateAnswers + " of the lost jobs were answered later, after the scenario's deadline");
        }
        if (!duplicateExamples.isEmpty()) {
            notes.add("duplicate results: " + String.join("; ", duplicateExamples));
        }
        if (!wrongExamples.isEmpty()) {
            notes.add("wrongly failed: " + String.join("; ", wrongExamples) + more(wronglyFailed));
        }
        if (wronglyCompleted > 0) {
            notes.add(wronglyCompleted + " record(s) sent as invalid were answered completed");
        }
        if (validDeadLettered > 0) {
            notes.add(validDeadLettered + " valid job(s) were dead-lettered");
        }
        if (extraFailedEvents > 0) {
            notes.add(extraFailedEvents + " malformed/oversized record(s) also got a failed event (allowed): "
                    + String.join("; ", extraFailedExamples) + more(extraFailedEvents));
        }
        return new Tally(outcome.scenario(), sent, completed, failed, deadLettered, lost, duplicateResults,
                duplicateEvents, wronglyFailed, outcome.figures(), List.copyOf(notes), outcome.error());
    }

    boolean clean() {
        return lost == 0 && duplicateResults == 0 && wronglyFailed == 0;
    }

    String line() {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "%s: sent %d, completed %d, failed %d, dead-lettered %d, lost %d, duplicate results %d, duplicate events %d,"
                        + " wrongly failed %d", scenario, sent, completed, failed, deadLettered, lost, duplicateResults,
                duplicateEvents, wronglyFailed));
        if (!figures.isEmpty()) {
            line.append(" | ").append(String.join(", ", figures));
        }
        if (error != null) {
            line.append(" | NOT COMPLETED: ").append(error);
        }
        return line.toString();
    }

    /** How the first two different answers differ: event types, ce_id, the JSON paths whose values differ. */
    private static String difference(List<Answers.Event> finals, SentJob.PushAnswer push) {
        List<String> types = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (Answers.Event event : finals) {
            types.add(event.type());
            ids.add(event.ceId());
            values.add(event.value() == null ? new byte[0] : event.value());
        }
        if (push != null && push.status() == 200 && push.body() != null) {
            types.add("push 200");
            ids.add(null);
            values.add(push.body().getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 1; i < values.size(); i++) {
            boolean sameId = java.util.Objects.equals(ids.get(0), ids.get(i)) || ids.get(i) == null;
            boolean sameValue = java.util.Arrays.equals(values.get(0), values.get(i));
            if (!sameId || !sameValue) {
                return " (" + types.get(0) + " vs " + types.get(i) + (sameId ? "" : ", ce_id " + ids.get(0) + " ≠ " + ids.get(i))
                        + (sameValue ? "" : ": " + Differences.json(values.get(0), values.get(i))) + ")";
            }
        }
        return "";
    }

    private static String describe(SentJob job, Answers answers) {
        List<String> types = answers.events(job.id()).stream().map(Answers.Event::type).distinct().toList();
        String what = types.isEmpty() ? "no events" : "events " + types;
        if (!job.wasAcked() && !job.isPushed()) {
            what += ", never acknowledged by the broker";
        }
        if (job.push() != null) {
            what += ", push " + job.push().status() + " after " + job.push().attempts() + " attempt(s)";
        }
        if (!job.isValid()) {
            what += ", dead letters " + answers.deadLetters(job).size();
        }
        return what;
    }

    private static void example(List<String> examples, String text) {
        if (examples.size() < EXAMPLES) {
            examples.add(text.length() > 600 ? text.substring(0, 600) + "…" : text);
        }
    }

    private static String more(int count) {
        return count > EXAMPLES ? " (and " + (count - EXAMPLES) + " more)" : "";
    }

    private static JsonNode parse(byte[] value) {
        if (value == null) {
            return null;
        }
        try {
            return JSON.readTree(value);
        } catch (IOException e) {
            return null;
        }
    }
}
