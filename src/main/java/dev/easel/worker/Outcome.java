package dev.easel.worker;

import dev.easel.contract.JobEvents;
import dev.easel.contract.Manifest;

/** How running a job ended: what its answer says. */
sealed interface Outcome {

    /**
     * The job's images and manifest are stored.
     *
     * @param again whether the manifest was already there (a redelivered job): nothing ran
     */
    record Completed(Manifest manifest, boolean again) implements Outcome {
    }

    /**
     * The job produced no images.
     *
     * @param deadLetter whether its record goes to the dead-letter topic: it can never run as sent
     *                   (invalid, or its retries ran out), as opposed to a passed deadline
     */
    record Failed(JobEvents.Failed failed, boolean deadLetter) implements Outcome {
    }

    /** The job was cancelled by its submitter, before or while it ran. */
    record Cancelled(JobEvents.Cancelled cancelled) implements Outcome {
    }
}
