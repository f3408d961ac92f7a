package dev.easel.store;

import java.io.IOException;

/**
 * A bounded read met an object larger than its limit. An {@link IOException} like other read
 * failures, but its own type: the object is there and retrying will not shrink it.
 */
public class ObjectTooLargeException extends PermanentStorageException {

    public ObjectTooLargeException(String message) {
        super(message, null);
    }
}
