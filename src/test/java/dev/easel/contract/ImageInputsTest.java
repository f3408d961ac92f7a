package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.engine.pipeline.ImageInput;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ImageInputsTest {

    /** The S3 store's stand-in: objects in a map; a key "broken" fails like an unreachable store. */
    static final class FakeFetcher implements ObjectFetcher {
        final Map<String, byte[]> objects = new HashMap<>();

        @Override
        public InputStream open(String bucket, String key) throws IOException {
            if (key.equals("broken")) {
                throw new IOException("connection reset");
            }
            byte[] bytes = objects.get(bucket + "/" + key);
            if (bytes == null) {
                throw new NotFoundException("NoSuchKey");
            }
            return new ByteArrayInputStream(bytes);
        }
    }

    final FakeFetcher store = new FakeFetcher();
    final ImageInputs inputs = new ImageInputs(JobLimits.defaults(), store);

    static Job job(String extra) {
        return JobParserTest.accept(JobParserTest.PARSER, JobParserTest.job("'width': 16, 'height': 8" + (extra.isEmpty() ? "" : ", " + extra)));
    }

    ImageInput valid(Job job) throws IOException {
        Validated<Optional<ImageInput>> result = inputs.resolve(job);
        assertThat(result).as("%s", result).isInstanceOf(Validated.Valid.class);
        return ((Validated.Valid<Optional<ImageInput>>) result).value().orElseThrow();
    }

    List<Violation> invalid(Job job) throws IOException {
        Validated<Optional<ImageInput>> result = inputs.resolve(job);
        assertThat(result).as("%s", result).isInstanceOf(Validated.Invalid.class);
        JobRejection rejection = ((Validated.Invalid<Optional<ImageInput>>) result).rejection();
        assertThat(rejection.id()).contains(job.id());
        return rejection.violations();
    }

    @Test
    void textToImageHasNoInput() throws IOException {
        assertThat(inputs.resolve(job(""))).isEqualTo(new Validated.Valid<>(Optional.empty()));
    }

    @Test
    void decodesInlineInitImageWithDefaultStrength() throws IOException {
        ImageInput input = valid(job("'initImage': '" + Pngs.dataUri(Pngs.rgb(16, 8, 10, 20, 30)) + "'"));
        assertThat(input.init().width()).isEqualTo(16);
        assertThat(input.init().rgb()).startsWith(10, 20, 30);
        assertThat(input.mask()).isEmpty();
        assertThat(input.strength()).isEqualTo(0.8f);
    }

    @Test
    void decodesStoredInitImageAndGrayMask() throws IOException {
        store.objects.put("uploads/in.png", Pngs.rgb(16, 8, 1, 2, 3));
        store.objects.put("uploads/mask.png", Pngs.grayHalves(16, 8));
        ImageInput input = valid(job("'initImage': 's3://uploads/in.png', 'mask': 's3://uploads/mask.png',"
                + " 'strength': 0.5"));
        assertThat(input.strength()).isEqualTo(0.5f);
        byte[] mask = input.mask().orElseThrow().pixels();
        assertThat(mask[0]).isEqualTo((byte) 0);
        assertThat(mask[15]).isEqualTo((byte) 255);
    }

    @Test
    void refusesOversizedDataUriBeforeDecoding() throws IOException {
        JobLimits d = JobLimits.defaults();
        ImageInputs small = new ImageInputs(new JobLimits(d.maxWidth(), d.maxHeight(), d.maxPixels(), d.maxSteps(),
                d.maxImages(), d.maxGuidance(), d.maxPromptTokens(), 100, 2048, 2048, d.maxPixels(),
                d.maxMetadataBytes(), d.maxIdLength()), store);
        // A PNG header (which the intake reads), then no base64 at all: a size violation, not a base64
        // one, shows the payload was never decoded.
        String header = Pngs.dataUri(Pngs.rgb(16, 8, 0, 0, 0)).substring(0, ImageReference.DATA_URI_PREFIX.length() + 32);
        Job job = job("'initImage': '" + header + "*".repeat(168) + "'");
        Validated<Optional<ImageInput>> result = small.resolve(job);
        assertThat(((Validated.Invalid<Optional<ImageInput>>) result).rejection().violations()).singleElement()
                .isEqualTo(new Violation("initImage", "is a 150-byte PNG", "≤ 100 bytes"));
    }

    @Test
    void rejectsBadBase64() throws IOException {
        assertThat(invalid(job("'initImage': '" + ImageReference.DATA_URI_PREFIX + "ab*d'"))).singleElement()
                .satisfies(v -> {
                    assertThat(v.field()).isEqualTo("initImage");
                    assertThat(v.problem()).startsWith("is not valid base64: ");
                    assertThat(v.limit()).contains("RFC 4648");
                });
    }

    @Test
    void rejectsDataUriThatIsNotPng() throws IOException {
        byte[] jpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
        assertThat(invalid(job("'initImage': '" + Pngs.dataUri(jpeg) + "'"))).singleElement().isEqualTo(new Violation(
                "initImage", "is not a usable PNG: not a PNG file: bad signature",
                "PNG of at most 2048×2048 and 1048576 pixels, 8388608 bytes"));
    }

    @Test
    void refusesHugeHeaderWithoutAllocating() throws IOException {
        // Stored: an inline one's header is read at intake (JobParserTest), which refuses it first.
        store.objects.put("uploads/huge.png", Pngs.hugeHeader(60_000, 60_000));
        List<Violation> violations = invalid(job("'initImage': 's3://uploads/huge.png'"));
        assertThat(violations).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("initImage");
            assertThat(v.problem()).isEqualTo("is not a usable PNG: image is 60000×60000 = 3600000000 pixels;"
                    + " limit 1048576");
            assertThat(v.limit()).contains("1048576 pixels");
        });
    }

    @Test
    void refusesDecompressionBomb() {
        byte[] bomb = Pngs.bomb();
        assertThat(bomb.length).isLessThan(200_000);
        store.objects.put("uploads/bomb.png", bomb);
        Job job = job("'initImage': 's3://uploads/in.png', 'mask': 's3://uploads/bomb.png'");
        store.objects.put("uploads/in.png", Pngs.rgb(16, 8, 0, 0, 0));
        List<Violation> violations = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> invalid(job));
        assertThat(violations).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("mask");
            assertThat(v.problem()).isEqualTo("is not a usable PNG: PNG is corrupt: image data inflates to more than"
                    + " the 12352 bytes a 64×64 image needs");
        });
    }

    /** Without width and height the job takes initImage's size: a side that is no multiple of 8 is initImage's fault. */
    @Test
    void anInitImageWhoseSizeTheJobTakesMustHaveSidesOfMultiplesOf8() throws IOException {
        store.objects.put("uploads/odd.png", Pngs.rgb(100, 100, 0, 0, 0));
        store.objects.put("uploads/even.png", Pngs.rgb(96, 64, 0, 0, 0));
        Job sizeless = JobParserTest.accept(JobParserTest.PARSER, JobParserTest.job("'initImage': 's3://uploads/odd.png'"));
        Job fits = JobParserTest.accept(JobParserTest.PARSER, JobParserTest.job("'initImage': 's3://uploads/even.png'"));

        assertThat(invalid(sizeless)).containsExactly(new Violation("initImage", "is 100×100, the size of a job that leaves"
                + " width and height out, and a side is not a multiple of 8", "sides multiples of 8"));
        assertThat(valid(fits).init().width()).isEqualTo(96);
    }

    @Test
    void rejectsMaskOfAnotherSizeAndInitOfAnotherSize() throws IOException {
        store.objects.put("uploads/in.png", Pngs.rgb(24, 8, 0, 0, 0));
        store.objects.put("uploads/mask.png", Pngs.grayHalves(8, 8));
        assertThat(invalid(job("'initImage': 's3://uploads/in.png', 'mask': 's3://uploads/mask.png'"))).containsExactly(
                new Violation("initImage", "is 24×8 but the job asks for 16×8 (images are not resized)",
                        "width × height = 16×8"),
                new Violation("mask", "is 8×8 but initImage is 24×8", "the size of initImage"));
    }

    @Test
    void reportsMissingAndOversizedObjects() throws IOException {
        JobLimits d = JobLimits.defaults();
        ImageInputs small = new ImageInputs(new JobLimits(d.maxWidth(), d.maxHeight(), d.maxPixels(), d.maxSteps(),
                d.maxImages(), d.maxGuidance(), d.maxPromptTokens(), 1000, 2048, 2048, d.maxPixels(),
                d.maxMetadataBytes(), d.maxIdLength()), store);
        store.objects.put("uploads/big.png", new byte[5000]);
        Validated<Optional<ImageInput>> result = small.resolve(job("'initImage': 's3://uploads/big.png',"
                + " 'mask': 's3://uploads/gone.png'"));
        assertThat(((Validated.Invalid<Optional<ImageInput>>) result).rejection().violations()).containsExactly(
                new Violation("initImage", "s3://uploads/big.png is more than 1000 bytes", "≤ 1000 bytes"),
                new Violation("mask", "s3://uploads/gone.png cannot be read: NoSuchKey", "an object the worker may read"));
    }

    @Test
    void storageFailureIsNotTheJobsFault() {
        assertThatThrownBy(() -> inputs.resolve(job("'initImage': 's3://uploads/broken'")))
                .isInstanceOf(IOException.class).isNotInstanceOf(ObjectFetcher.NotFoundException.class);
    }
}
