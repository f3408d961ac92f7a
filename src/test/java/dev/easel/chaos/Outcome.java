package dev.easel.chaos;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/** What a scenario did: the jobs it sent, which had no answer when its time was up, its own figures and notes. */
final class Outcome {

    private final String scenario;
    private final List<SentJob> jobs = new CopyOnWriteArrayList<>();
    private final Set<String> lost = new LinkedHashSet<>();
    /** Figures of the scenario's own, printed after the columns: "kills 2", "ready→first started max 0.8 s". */
    private final List<String> figures = new ArrayList<>();
    private final List<String> notes = new CopyOnWriteArrayList<>();
    /** Different results that are not events: PNGs that differ from the reference run of the same spec. */
    private int otherDuplicateResults;
    private String error;

    Outcome(String scenario) {
        this.scenario = scenario;
    }

    String scenario() {
        return scenario;
    }

    SentJob add(SentJob job) {
        jobs.add(job);
        return job;
    }

    List<SentJob> jobs() {
        return jobs;
    }

    synchronized void lost(List<SentJob> unanswered) {
        unanswered.forEach(job -> lost.add(job.id()));
    }

    synchronized Set<String> lost() {
        return Set.copyOf(lost);
    }

    synchronized void figure(String text) {
        figures.add(text);
    }

    synchronized List<String> figures() {
        return List.copyOf(figures);
    }

    void note(String text) {
        notes.add(text);
    }

    List<String> notes() {
        return notes;
    }

    synchronized void otherDuplicateResults(int count) {
        otherDuplicateResults += count;
    }

    synchronized int otherDuplicateResults() {
        return otherDuplicateResults;
    }

    /** The scenario could not be carried out (a server did not come back, the worker did not start): why. */
    synchronized void error(String why) {
        error = why;
    }

    synchronized String error() {
        return error;
    }
}
