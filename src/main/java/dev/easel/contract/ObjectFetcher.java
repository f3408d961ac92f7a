package dev.easel.contract;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads user images referenced as {@code s3://bucket/key}. Implemented by the worker's S3 store;
 * {@link ImageInputs} bounds how much it reads, so an implementation may simply stream the object.
 */
public interface ObjectFetcher {

    /**
     * Opens an object for reading; the caller closes the stream.
     *
     * @throws NotFoundException if the object does not exist or the worker may not read it: the
     *                           job's fault, reported to the client as a violation
     * @throws IOException       if storage fails: the worker's fault, so the job can be retried
     */
    InputStream open(String bucket, String key) throws IOException;

    /** The referenced object is missing or forbidden to the worker. */
    class NotFoundException extends IOException {
        public NotFoundException(String message) {
            super(message);
        }
    }
}
