package dev.easel.contract;

import java.util.UUID;

/** Job ids for jobs submitted without one (the HTTP API makes one; the worker derives one from the delivery). */
public final class JobIds {

    private JobIds() {
    }

    /** A random UUID: 36 characters of hex digits and '-', valid under the contract's id rule. */
    public static String generate() {
        return UUID.randomUUID().toString();
    }

    /**
     * The id of a job that came without one, from what identifies its delivery (a record's
     * topic-partition@offset, a pushed CloudEvent's source and id): the same every time that
     * delivery comes again, so the job is answered once, not run again under a new id with a new
     * seed. A name-based UUID, in the same form as {@link #generate()}'s.
     */
    public static String of(String delivery) {
        return UUID.nameUUIDFromBytes(("easel-job:" + delivery).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .toString();
    }
}
