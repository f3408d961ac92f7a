package dev.easel.engine.image;

/**
 * An image cannot be decoded, exceeds a {@link PngLimits} limit, or does not have the size an
 * operation needs. The message names the offending value and, where there is one, the limit or
 * expected value, so it can be shown to the user who uploaded the image.
 */
public class ImageException extends RuntimeException {

    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
