package dev.easel.contract;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.ImageException;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngImage;
import dev.easel.engine.image.PngLimits;
import dev.easel.engine.pipeline.ImageInput;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * Turns a job's {@code initImage} and {@code mask} into the engine's {@link ImageInput}, treating
 * both as hostile: the size is checked before base64 decoding or while reading from storage, and
 * the PNG decoder refuses oversized headers and decompression bombs before inflating (see
 * {@link PngDecoder}). Every problem becomes a {@link Violation} naming the field.
 */
public final class ImageInputs {

    private final JobLimits limits;
    private final PngDecoder decoder;
    private final ObjectFetcher fetcher;

    public ImageInputs(JobLimits limits, ObjectFetcher fetcher) {
        this.limits = limits;
        this.decoder = new PngDecoder(limits.pngLimits());
        this.fetcher = fetcher;
    }

    /**
     * The job's image input: empty for text-to-image, else the init image (RGB), the mask (one
     * channel: gray samples, or the luma of a colour mask) and the strength.
     *
     * @throws IOException if storage fails (not for a missing object, which is a violation)
     */
    public Validated<Optional<ImageInput>> resolve(Job job) throws IOException {
        if (job.initImage().isEmpty()) {
            return new Validated.Valid<>(Optional.empty());
        }
        List<Violation> violations = new ArrayList<>();
        Optional<PngImage> init = load("initImage", job.initImage().get(), violations);
        Optional<PngImage> mask = job.mask().isPresent() ? load("mask", job.mask().get(), violations) : Optional.empty();
        // A job that leaves the size out gets initImage's; one that states it must match it.
        init.filter(image -> job.width().orElse(image.width()) != image.width()
                || job.height().orElse(image.height()) != image.height()).ifPresent(image -> {
                    String asked = job.width().map(String::valueOf).orElse("(any)") + "×"
                            + job.height().map(String::valueOf).orElse("(any)");
                    violations.add(new Violation("initImage", "is " + image.width() + "×" + image.height()
                            + " but the job asks for " + asked + " (images are not resized)", "width × height = " + asked));
                });
        // Its size becomes the job's: held to the job's rule for width and height, named as initImage.
        init.filter(image -> job.width().isEmpty() && image.width() % 8 != 0
                || job.height().isEmpty() && image.height() % 8 != 0).ifPresent(image -> violations.add(new Violation(
                        "initImage", "is " + image.width() + "×" + image.height() + ", the size of a job that leaves"
                        + " width and height out, and a side is not a multiple of 8", "sides multiples of 8")));
        if (init.isPresent() && mask.isPresent()) {
            PngImage i = init.get();
            PngImage m = mask.get();
            if (m.width() != i.width() || m.height() != i.height()) {
                violations.add(new Violation("mask", "is " + m.width() + "×" + m.height() + " but initImage is "
                        + i.width() + "×" + i.height(), "the size of initImage"));
            }
        }
        if (!violations.isEmpty()) {
            return new Validated.Invalid<>(new JobRejection(Optional.of(job.id()), violations));
        }
        float strength = (float) job.effectiveStrength();
        GrayImage gray = mask.map(PngImage::gray).orElse(null);
        ImageInput input = gray == null ? ImageInput.img2img(init.get().rgb(), strength)
                : ImageInput.inpaint(init.get().rgb(), gray, strength);
        return new Validated.Valid<>(Optional.of(input));
    }

    /** A violation if an inline image decodes to more bytes than allowed; computed from its length alone. */
    static Optional<Violation> sizeViolation(String field, ImageReference.DataUri data, JobLimits limits) {
        long bytes = data.decodedLength();
        return bytes <= limits.maxInputImageBytes() ? Optional.empty()
                : Optional.of(new Violation(field, "is a " + bytes + "-byte PNG", "≤ " + limits.maxInputImageBytes()
                        + " bytes"));
    }

    private Optional<PngImage> load(String field, ImageReference reference, List<Violation> violations)
            throws IOException {
        Optional<byte[]> png = reference instanceof ImageReference.DataUri data
                ? inline(field, data, violations) : stored(field, (ImageReference.S3) reference, violations);
        if (png.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(decoder.decode(png.get()));
        } catch (ImageException e) {
            violations.add(new Violation(field, "is not a usable PNG: " + e.getMessage(), describe(limits.pngLimits())));
            return Optional.empty();
        }
    }

    private Optional<byte[]> inline(String field, ImageReference.DataUri data, List<Violation> violations) {
        Optional<Violation> tooBig = sizeViolation(field, data, limits);
        if (tooBig.isPresent()) {
            violations.add(tooBig.get());
            return Optional.empty();
        }
        try {
            return Optional.of(Base64.getDecoder().decode(data.base64()));
        } catch (IllegalArgumentException e) {
            violations.add(new Violation(field, "is not valid base64: " + e.getMessage(),
                    "data:image/png;base64, then standard base64 (RFC 4648) without line breaks"));
            return Optional.empty();
        }
    }

    private Optional<byte[]> stored(String field, ImageReference.S3 ref, List<Violation> violations)
            throws IOException {
        long max = limits.maxInputImageBytes();
        try (InputStream in = fetcher.open(ref.bucket(), ref.key())) {
            // One byte past the limit is enough to know the object is too big, without reading it all.
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
            if (bytes.length > max) {
                violations.add(new Violation(field, ref.uri() + " is more than " + max + " bytes", "≤ " + max
                        + " bytes"));
                return Optional.empty();
            }
            return Optional.of(bytes);
        } catch (ObjectFetcher.NotFoundException e) {
            violations.add(new Violation(field, ref.uri() + " cannot be read: " + e.getMessage(),
                    "an object the worker may read"));
            return Optional.empty();
        }
    }

    private static String describe(PngLimits png) {
        return "PNG of at most " + png.maxWidth() + "×" + png.maxHeight() + " and " + png.maxPixels() + " pixels, "
                + png.maxCompressedBytes() + " bytes";
    }
}
