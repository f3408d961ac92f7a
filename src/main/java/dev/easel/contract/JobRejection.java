package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
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

    public JobRejection {
        if (violations.isEmpty()) {
            throw new IllegalArgumentException("a rejection needs at least one violation");
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
