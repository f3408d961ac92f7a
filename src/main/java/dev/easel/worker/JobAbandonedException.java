package dev.easel.worker;

/**
 * A running job was cut off because its worker is shutting down and the grace period is over
 * ({@link WorkerLifecycle}). Unlike a passed deadline, this is no answer: nothing is published and
 * the record is not committed, so the job runs again on another worker.
 */
public class JobAbandonedException extends RuntimeException {

    public JobAbandonedException(String message) {
        super(message);
    }
}
