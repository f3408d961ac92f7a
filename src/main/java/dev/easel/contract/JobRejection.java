package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Why a job will not run: every violation found, not just the first, so a client can fix its job
 * in one round trip. Serialises to the error format of docs/job-contract.md.
 *
 * @param id         the job's id when the job carried a valid one, so the answer can be correlated
 * @param violations at least one
 */
@JsonInclude(JsonInclude.Include.NON_ABSENT)
@JsonPropertyOrder({"error", "id", "violations"})
public record JobRejection(Optional<String> id, List<Violation> violations) {

    /** The most violations listed; a job with more gets one more saying how many were left out. */
    static final int MAX_VIOLATIONS = 50;

    public JobRejection {
        if (violations.isEmpty()) {
            throw new IllegalArgumentException("a rejection needs at least one violation");
        }
        if (violations.size() > MAX_VIOLATIONS) {
            List<Violation> listed = new ArrayList<>(violations.subList(0, MAX_VIOLATIONS));
            listed.add(new Violation("$", "has " + (violations.size() - MAX_VIOLATIONS) + " more violations, not listed",
                    MAX_VIOLATIONS + " listed"));
            violations = listed;
        }
        violations = List.copyOf(violations);
    }

    /** Always {@code invalid_job}: lets clients tell this body from other errors. */
    @JsonProperty
    public String error() {
        return "invalid_job";
    }

    /** One line for logs and for transports without structure: {@code field: problem (limit: …); …}. */
    @JsonIgnore
    public String summary() {
        return violations.stream().map(Violation::toString).collect(Collectors.joining("; "));
    }
}
