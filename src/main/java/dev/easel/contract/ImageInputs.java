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
        violations.addAll(sizeRules(new Sizes(job.width(), job.height(), init.map(ImageInputs::size),
                mask.map(ImageInputs::size))));
        if (!violations.isEmpty()) {
            return new Validated.Invalid<>(new JobRejection(Optional.of(job.id()), violations));
        }
        float strength = (float) job.effectiveStrength();
        GrayImage gray = mask.map(PngImage::gray).orElse(null);
        ImageInput input = gray == null ? ImageInput.img2img(init.get().rgb(), strength)
                : ImageInput.inpaint(init.get().rgb(), gray, strength);
        return new Validated.Valid<>(Optional.of(input));
    }

    /**
     * The sizes the size rules judge: the job's width and height where it states them, and the
     * images' [width, height] where known.
     */
    record Sizes(Optional<Integer> width, Optional<Integer> height, Optional<int[]> init, Optional<int[]> mask) {
    }

    private static int[] size(PngImage image) {
        return new int[] {image.width(), image.height()};
    }

    /**
     * Images are not resized: a job that states its size must match initImage's, one that leaves it
     * out takes initImage's (held to the rule for width and height: multiples of 8), and the mask
     * is initImage's size. The same rules at intake (inline images' headers, {@link JobRules}) and
     * when the job runs (every image).
     */
    static List<Violation> sizeRules(Sizes s) {
        List<Violation> violations = new ArrayList<>();
        s.init().filter(i -> s.width().orElse(i[0]) != i[0] || s.height().orElse(i[1]) != i[1]).ifPresent(i -> {
            String asked = s.width().map(String::valueOf).orElse("(any)") + "×"
                    + s.height().map(String::valueOf).orElse("(any)");
            violations.add(new Violation("initImage", "is " + i[0] + "×" + i[1] + " but the job asks for " + asked
                    + " (images are not resized)", "width × height = " + asked));
        });
        s.init().filter(i -> s.width().isEmpty() && i[0] % 8 != 0 || s.height().isEmpty() && i[1] % 8 != 0)
                .ifPresent(i -> violations.add(new Violation("initImage", "is " + i[0] + "×" + i[1] + ", the size of a"
                        + " job that leaves width and height out, and a side is not a multiple of 8", "sides multiples of 8")));
        if (s.init().isPresent() && s.mask().isPresent()) {
            int[] i = s.init().get();
            int[] m = s.mask().get();
            if (m[0] != i[0] || m[1] != i[1]) {
                violations.add(new Violation("mask", "is " + m[0] + "×" + m[1] + " but initImage is " + i[0] + "×" + i[1],
                        "the size of initImage"));
            }
        }
        return violations;
    }

    /** PNG's signature, then IHDR's length (13) and type: a PNG's first 16 bytes, its size in the next 8. */
    private static final byte[] PNG_START = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
        'I', 'H', 'D', 'R'};

    /**
     * An inline image's [width, height] from its first 24 bytes (32 base64 characters), without
     * decoding the rest; a violation naming the field where those bytes are no PNG header, or name
     * a size the decoder would refuse (a side of 0 or past the limits); empty where the payload is
     * too short to tell (the full decode when the job runs says why).
     */
    static Validated<Optional<int[]>> inlineSize(String field, ImageReference.DataUri data, PngLimits limits) {
        String base64 = data.base64();
        if (base64.length() < 32) {
            return new Validated.Valid<>(Optional.empty());
        }
        byte[] head;
        try {
            head = Base64.getDecoder().decode(base64.substring(0, 32));
        } catch (IllegalArgumentException e) {
            return new Validated.Invalid<>(new JobRejection(Optional.empty(), List.of(new Violation(field,
                    "is not valid base64: " + e.getMessage(), "data:image/png;base64, then standard base64 (RFC 4648)"
                    + " without line breaks"))));
        }
        if (head.length < 24) { // the 32 characters ended in padding: too short a payload to tell
            return new Validated.Valid<>(Optional.empty());
        }
        for (int i = 0; i < PNG_START.length; i++) {
            if (head[i] != PNG_START[i]) {
                return new Validated.Invalid<>(new JobRejection(Optional.empty(), List.of(new Violation(field,
                        "is not a PNG (its first bytes are not a PNG signature and header)", "a PNG image"))));
            }
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(head, 16, 8);
        long width = Integer.toUnsignedLong(b.getInt());
        long height = Integer.toUnsignedLong(b.getInt());
        if (width == 0 || height == 0 || width > limits.maxWidth() || height > limits.maxHeight()
                || width * height > limits.maxPixels()) {
            return new Validated.Invalid<>(new JobRejection(Optional.empty(), List.of(new Violation(field,
                    "is not a usable PNG: its header says " + width + "×" + height, describe(limits)))));
        }
        return new Validated.Valid<>(Optional.of(new int[] {(int) width, (int) height}));
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
