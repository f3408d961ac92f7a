package dev.easel.engine.pipeline;

/**
 * A generation request that cannot run as asked. {@link #field()} names the request field (in the
 * job contract's spelling), the message says what is wrong and the limit.
 */
public class InvalidRequestException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public InvalidRequestException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    public String field() {
        return field;
    }

    /** What is wrong, without the field's name: for a violation or an error that names the field its own way. */
    public String problem() {
        return problem;
    }
}
