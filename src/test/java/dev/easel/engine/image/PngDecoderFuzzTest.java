package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of {@link PngDecoder} with Jazzer (docs/security.md "Fuzzing"). Any
 * outcome other than an image within the limits or an {@link ImageException} is a finding: another
 * exception, an OutOfMemoryError, or an input slower than the timeout.
 *
 * <p>Each input is decoded three ways, so that the fuzzer gets past the checksums it cannot forge:
 * as it is (through the stream entry point); with every chunk CRC recomputed; and with the CRCs
 * recomputed and the IDAT payloads taken as the uncompressed, filtered scanlines, deflated here
 * into one zlib stream split over as many IDAT chunks as the input had (this reaches the unfilter
 * and pixel conversion code with arbitrary rows).
 *
 * <p>Regression inputs (run by every {@code mvn test}): src/test/resources/dev/easel/engine/image/
 * PngDecoderFuzzTestInputs/decode/.
 */
class PngDecoderFuzzTest {

    /** Small enough that every accepted header is quick to allocate and fill, large enough for Adam7. */
    static final PngLimits LIMITS = new PngLimits(256, 256, 128 * 128, 1 << 20);
    private static final PngDecoder DECODER = new PngDecoder(LIMITS);

    @FuzzTest(maxDuration = "5m")
    @Timeout(10) // per input: Jazzer passes it to libFuzzer (-timeout); the fuzz-* runs turn off JUnit's own
    @DictionaryEntries({"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "tEXt", "zTXt", "iTXt"})
    void decode(byte[] data) {
        try {
            check(DECODER.decode(new ByteArrayInputStream(data)));
        } catch (IOException e) {
            throw new UncheckedIOException("a byte array stream cannot fail", e);
        } catch (ImageException expected) {
            // the documented failure
        }
        for (boolean deflateIdat : new boolean[] {false, true}) {
            byte[] fixed = withValidChecksums(data, deflateIdat);
            if (fixed == null) {
                continue;
            }
            try {
                check(DECODER.decode(fixed));
            } catch (ImageException expected) {
                // the documented failure
            }
        }
    }

    private static void check(PngImage image) {
        int w = image.width();
        int h = image.height();
        assertTrue(w > 0 && h > 0 && w <= LIMITS.maxWidth() && h <= LIMITS.maxHeight()
                && (long) w * h <= LIMITS.maxPixels(), () -> "accepted " + w + "×" + h + " beyond " + LIMITS);
        assertEquals(w * h * 3, image.rgb().rgb().length);
        image.alpha().ifPresent(alpha -> assertEquals(w * h, alpha.pixels().length));
    }

    /**
     * The input with every chunk's CRC recomputed and, if {@code deflateIdat}, the IDAT payloads
     * deflated; null when the input does not even frame into chunks after the signature.
     */
    static byte[] withValidChecksums(byte[] data, boolean deflateIdat) {
        if (data.length < 8) {
            return null;
        }
        List<byte[]> types = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        int pos = 8;
        while (pos + 12 <= data.length) {
            int length = ByteBuffer.wrap(data, pos, 4).getInt();
            if (length < 0 || length > data.length - pos - 12) {
                break;
            }
            types.add(java.util.Arrays.copyOfRange(data, pos + 4, pos + 8));
            payloads.add(java.util.Arrays.copyOfRange(data, pos + 8, pos + 8 + length));
            pos += 12 + length;
        }
        if (types.isEmpty()) {
            return null;
        }
        if (deflateIdat) {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            List<Integer> idats = new ArrayList<>();
            for (int i = 0; i < types.size(); i++) {
                if (new String(types.get(i), StandardCharsets.ISO_8859_1).equals("IDAT")) {
                    raw.writeBytes(payloads.get(i));
                    idats.add(i);
                }
            }
            if (idats.isEmpty()) {
                return null;
            }
            byte[] zlib = zlib(raw.toByteArray());
            for (int k = 0; k < idats.size(); k++) {
                int from = (int) ((long) zlib.length * k / idats.size());
                int to = (int) ((long) zlib.length * (k + 1) / idats.size());
                payloads.set(idats.get(k), java.util.Arrays.copyOfRange(zlib, from, to));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(data, 0, 8);
        for (int i = 0; i < types.size(); i++) {
            byte[] payload = payloads.get(i);
            ByteBuffer chunk = ByteBuffer.allocate(12 + payload.length);
            chunk.putInt(payload.length).put(types.get(i)).put(payload);
            CRC32 crc = new CRC32();
            crc.update(chunk.array(), 4, 4 + payload.length);
            chunk.putInt((int) crc.getValue());
            out.writeBytes(chunk.array());
        }
        out.write(data, pos, data.length - pos);
        return out.toByteArray();
    }

    private static byte[] zlib(byte[] data) {
        Deflater deflater = new Deflater(1);
        try {
            deflater.setInput(data);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (!deflater.finished()) {
                out.write(buffer, 0, deflater.deflate(buffer));
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }
}
