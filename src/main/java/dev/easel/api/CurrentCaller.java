package dev.easel.api;

import dev.easel.security.Caller;
import jakarta.enterprise.context.RequestScoped;

/** The caller of the request being served, set by {@link Authentication} before any resource runs. */
@RequestScoped
public class CurrentCaller {

    private Caller caller;

    void set(Caller value) {
        caller = value;
    }

    /** The caller, when the request had a credential (push mode may go without). */
    public java.util.Optional<Caller> find() {
        return java.util.Optional.ofNullable(caller);
    }

    /** @throws IllegalStateException on a path {@link Authentication} does not cover (a bug) */
    public Caller get() {
        if (caller == null) {
            throw new IllegalStateException("no caller: this path is not authenticated");
        }
        return caller;
    }
}
