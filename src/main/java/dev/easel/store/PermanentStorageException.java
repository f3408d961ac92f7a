package dev.easel.store;

import java.io.IOException;

/**
 * A storage failure that retrying will not mend: the bucket does not exist, the worker may not
 * write there, the request is one S3 refuses as such. The job that met it fails at once (not
 * {@code retryable}); any other {@link IOException} of the store is a fault worth retrying.
 */
public class PermanentStorageException extends IOException {

    public PermanentStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
