package dev.easel.engine.pipeline;

/**
 * A generation request that cannot run as asked. {@link #field()} names the request field (in the
 * job contract's spelling), the message says what is wrong and the limit.
 */
public class InvalidRequestException extends IllegalArgumentException {

    private final String field;

    public InvalidRequestException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
