package dev.easel.contract;

/**
 * One thing wrong with a job.
 *
 * @param field   where, as a JSON path into the job: {@code width}, {@code webhook.url},
 *                {@code webhook.events[1]}; {@code $} for the document as a whole
 * @param problem what is wrong with the value, including the value where it is short
 * @param limit   the rule or limit the value broke, e.g. {@code multiple of 8} or {@code ≤ 2048}
 */
public record Violation(String field, String problem, String limit) {

    @Override
    public String toString() {
        return field + ": " + problem + " (limit: " + limit + ")";
    }
}
