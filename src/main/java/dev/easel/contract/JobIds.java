package dev.easel.contract;

import java.util.UUID;

/** Job ids for jobs submitted without one (the HTTP API's case). */
public final class JobIds {

    private JobIds() {
    }

    /** A random UUID: 36 characters of hex digits and '-', valid under the contract's id rule. */
    public static String generate() {
        return UUID.randomUUID().toString();
    }
}
