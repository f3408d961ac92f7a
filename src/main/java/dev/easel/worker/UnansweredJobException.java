package dev.easel.worker;

/**
 * A job's answer (its final event or dead letter) could not be published. The record must not
 * be committed: it is delivered again, and the job, whose images may already be stored, is
 * answered then (from its manifest when it completed).
 */
public class UnansweredJobException extends RuntimeException {

    public UnansweredJobException(String message, Throwable cause) {
        super(message, cause);
    }
}
