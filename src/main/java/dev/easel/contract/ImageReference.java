package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A user image in a job: an object in S3-compatible storage, or the PNG itself inline as a data
 * URI. Serialises as the string form the contract uses.
 */
public sealed interface ImageReference {

    /** The prefix of an inline image; only PNG is accepted. */
    String DATA_URI_PREFIX = "data:image/png;base64,";

    /**
     * Reads the contract's string form.
     *
     * @throws IllegalArgumentException if it is neither form (the job schema rules this out)
     */
    @JsonCreator
    static ImageReference parse(String uri) {
        if (uri.startsWith(DATA_URI_PREFIX)) {
            return new DataUri(uri.substring(DATA_URI_PREFIX.length()));
        }
        if (uri.startsWith("s3://")) {
            int slash = uri.indexOf('/', 5);
            if (slash > 5 && slash < uri.length() - 1) {
                return new S3(uri.substring(5, slash), uri.substring(slash + 1));
            }
        }
        throw new IllegalArgumentException("not an s3://bucket/key reference or a " + DATA_URI_PREFIX + " URI");
    }

    /** The contract's string form. */
    @JsonValue
    String uri();

    /** {@code s3://bucket/key}. */
    record S3(String bucket, String key) implements ImageReference {
        @Override
        public String uri() {
            return "s3://" + bucket + "/" + key;
        }
    }

    /**
     * {@code data:image/png;base64,…}.
     *
     * @param base64 the payload after the comma, not yet checked or decoded
     */
    record DataUri(String base64) implements ImageReference {

        @Override
        public String uri() {
            return DATA_URI_PREFIX + base64;
        }

        /**
         * The byte count the payload decodes to (exact for well-formed base64), known without
         * decoding, so an oversized upload is refused before any allocation for it.
         */
        public long decodedLength() {
            int n = base64.length();
            int padding = n > 0 && base64.charAt(n - 1) == '=' ? (n > 1 && base64.charAt(n - 2) == '=' ? 2 : 1) : 0;
            return (long) n * 3 / 4 - padding;
        }

        /** Short: the payload may be megabytes and would flood logs. */
        @Override
        public String toString() {
            return "DataUri[" + base64.length() + " base64 characters]";
        }
    }
}
