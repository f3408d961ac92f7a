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

    /** The longest field path kept: an unknown field's name can be as long as the job. */
    static final int MAX_FIELD = 256;
    /** The longest problem or limit kept: a problem quotes the value it found. */
    static final int MAX_TEXT = 1024;

    // Bounded so that a failed event, a dead letter's reason and a 400 body stay small whatever
    // the job held; a shortened text ends in "…" and is not shortened again.
    public Violation {
        field = shortened(field, MAX_FIELD);
        problem = shortened(problem, MAX_TEXT);
        limit = shortened(limit, MAX_TEXT);
    }

    private static String shortened(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }

    @Override
    public String toString() {
        return field + ": " + problem + " (limit: " + limit + ")";
    }
}
