package dev.easel.engine.image;

/**
 * Bounds a {@link PngDecoder} enforces on untrusted input. The size limits are checked from the
 * IHDR chunk before any image data is inflated, so an oversized or bomb image costs no memory.
 *
 * @param maxWidth           largest accepted width in pixels
 * @param maxHeight          largest accepted height in pixels
 * @param maxPixels          largest accepted width × height
 * @param maxCompressedBytes largest accepted PNG file, in bytes
 */
public record PngLimits(int maxWidth, int maxHeight, long maxPixels, long maxCompressedBytes) {

    /** 8192 px a side, 16 Mpx (4096²), 64 MiB of file: well above any Stable Diffusion input. */
    public static final PngLimits DEFAULT = new PngLimits(8192, 8192, 16_777_216L, 64L << 20);

    public PngLimits {
        if (maxWidth <= 0 || maxHeight <= 0 || maxPixels <= 0 || maxCompressedBytes <= 0) {
            throw new IllegalArgumentException("PNG limits must be positive: " + maxWidth + ", "
                    + maxHeight + ", " + maxPixels + ", " + maxCompressedBytes);
        }
    }
}
