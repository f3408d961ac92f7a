package dev.easel.store;

import java.util.Map;
import java.util.Objects;

/**
 * An object read from the store.
 *
 * @param contentType the type it was written with ({@code binary/octet-stream} when it had none)
 * @param metadata    its user metadata, keys lower-case as S3 returns them
 */
public record StoredObject(byte[] bytes, String contentType, Map<String, String> metadata) {

    public StoredObject {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(contentType, "contentType");
        metadata = Map.copyOf(metadata);
    }
}
