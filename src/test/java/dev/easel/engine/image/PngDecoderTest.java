package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PngDecoderTest {

    private final PngDecoder decoder = new PngDecoder();

    /** Every legal colour type and bit depth, every filter, with and without Adam7, at odd sizes. */
    @Test
    void decodesEveryFormatFilterAndInterlace() {
        int[][] formats = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1}, {3, 2}, {3, 4}, {3, 8},
            {4, 8}, {4, 16}, {6, 8}, {6, 16}};
        Random random = new Random(7);
        int cases = 0;
        for (int[] format : formats) {
            int colorType = format[0];
            int depth = format[1];
            for (int[] size : new int[][] {{1, 1}, {13, 7}, {3, 17}}) {
                int w = size[0];
                int h = size[1];
                int ch = TestPngWriter.channels(colorType);
                int max = (1 << depth) - 1;
                int[] samples = new int[w * h * ch];
                for (int i = 0; i < samples.length; i++) {
                    samples[i] = i % 5 == 0 ? max : random.nextInt(max + 1);
                }
                byte[] palette = new byte[(max + 1) * 3];
                random.nextBytes(palette);
                byte[][] extra = colorType == 3 ? new byte[][] {TestPngWriter.chunk("PLTE", palette)} : new byte[0][];
                for (boolean interlace : new boolean[] {false, true}) {
                    for (int filter = 0; filter <= 4; filter++) {
                        byte[] png = TestPngWriter.write(w, h, colorType, depth, interlace, filter, samples, extra);
                        PngImage image = decoder.decode(png);
                        String label = "type " + colorType + " depth " + depth + " " + w + "×" + h
                                + " interlace " + interlace + " filter " + filter;
                        assertEquals(w, image.width(), label);
                        assertEquals(h, image.height(), label);
                        byte[] rgb = image.rgb().rgb();
                        for (int p = 0; p < w * h; p++) {
                            int[] expected = expectedRgba(colorType, depth, samples, p * ch, palette);
                            for (int c = 0; c < 3; c++) {
                                assertEquals(expected[c], rgb[p * 3 + c] & 0xFF, label + " pixel " + p + " channel " + c);
                            }
                            if (colorType == 4 || colorType == 6) {
                                assertEquals(expected[3], image.alpha().orElseThrow().pixels()[p] & 0xFF, label + " alpha " + p);
                            }
                        }
                        assertEquals(colorType == 4 || colorType == 6, image.alpha().isPresent(), label);
                        assertEquals(colorType == 0 || colorType == 4, image.grayscale(), label);
                        cases++;
                    }
                }
            }
        }
        assertEquals(15 * 3 * 2 * 5, cases);
    }

    private static int[] expectedRgba(int colorType, int depth, int[] s, int i, byte[] palette) {
        if (colorType == 3) {
            int index = s[i];
            return new int[] {palette[index * 3] & 0xFF, palette[index * 3 + 1] & 0xFF, palette[index * 3 + 2] & 0xFF, 255};
        }
        int max = (1 << depth) - 1;
        int[] v = new int[TestPngWriter.channels(colorType)];
        for (int c = 0; c < v.length; c++) {
            v[c] = (int) Math.round(s[i + c] * 255.0 / max);
        }
        return switch (colorType) {
            case 0 -> new int[] {v[0], v[0], v[0], 255};
            case 2 -> new int[] {v[0], v[1], v[2], 255};
            case 4 -> new int[] {v[0], v[0], v[0], v[1]};
            default -> v;
        };
    }

    @Test
    void transparencyChunkBecomesAlpha() {
        int[] samples = {0, 1, 2, 3};
        byte[] palette = {10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40};
        byte[] png = TestPngWriter.write(4, 1, 3, 2, false, 0, samples,
                TestPngWriter.chunk("PLTE", palette), TestPngWriter.chunk("tRNS", new byte[] {0, (byte) 128}));
        PngImage image = decoder.decode(png);
        assertArrayEquals(new byte[] {0, (byte) 128, (byte) 255, (byte) 255}, image.alpha().orElseThrow().pixels());

        int[] gray = {5, 9, 5};
        byte[] keyed = TestPngWriter.write(3, 1, 0, 16, false, 1, gray, TestPngWriter.chunk("tRNS", new byte[] {0, 5}));
        assertArrayEquals(new byte[] {0, (byte) 255, 0}, decoder.decode(keyed).alpha().orElseThrow().pixels());
    }

    /** ImageIO's writer: 8-bit RGB, RGBA, gray, 16-bit gray, 1/2/4/8-bit palettes, adaptive filters, Adam7. */
    @ParameterizedTest
    @ValueSource(ints = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_BYTE_GRAY,
        BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_INDEXED, 1001, 1002, 1004})
    void decodesImageIoOutput(int type) throws IOException {
        int w = 37;
        int h = 23;
        BufferedImage source = switch (type) {
            case 1001, 1002, 1004 -> {
                int bits = type - 1000;
                int n = 1 << bits;
                byte[] r = new byte[n];
                byte[] g = new byte[n];
                byte[] b = new byte[n];
                new Random(bits).nextBytes(r);
                new Random(bits + 10).nextBytes(g);
                new Random(bits + 20).nextBytes(b);
                yield new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(bits, n, r, g, b));
            }
            default -> new BufferedImage(w, h, type);
        };
        Random random = new Random(type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int smooth = (x * 7 + y * 3) & 0xFF;
                source.setRGB(x, y, (random.nextInt(256) << 24) | (smooth << 16) | (random.nextInt(256) << 8) | (255 - smooth));
            }
        }
        for (boolean interlace : new boolean[] {false, true}) {
            byte[] png = writeWithImageIo(source, interlace);
            BufferedImage reference = ImageIO.read(new ByteArrayInputStream(png));
            PngImage decoded = decoder.decode(png);
            byte[] rgb = decoded.rgb().rgb();
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int argb = reference.getRGB(x, y);
                    int p = (y * w + x) * 3;
                    String where = "type " + type + " interlace " + interlace + " at " + x + "," + y;
                    if (type == BufferedImage.TYPE_USHORT_GRAY || type == BufferedImage.TYPE_BYTE_GRAY) {
                        // getRGB converts linear gray to sRGB; compare the raw samples instead.
                        int raw = reference.getRaster().getSample(x, y, 0);
                        int expected = type == BufferedImage.TYPE_BYTE_GRAY ? raw : (int) Math.round(raw / 257.0);
                        assertEquals(expected, rgb[p] & 0xFF, where);
                        continue;
                    }
                    assertEquals((argb >> 16) & 0xFF, rgb[p] & 0xFF, where);
                    assertEquals((argb >> 8) & 0xFF, rgb[p + 1] & 0xFF, where);
                    assertEquals(argb & 0xFF, rgb[p + 2] & 0xFF, where);
                    if (type == BufferedImage.TYPE_4BYTE_ABGR) {
                        assertEquals(argb >>> 24, decoded.alpha().orElseThrow().pixels()[y * w + x] & 0xFF, where);
                    }
                }
            }
        }
    }

    static byte[] writeWithImageIo(BufferedImage image, boolean interlace) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(interlace ? ImageWriteParam.MODE_DEFAULT : ImageWriteParam.MODE_DISABLED);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    @Test
    void grayAccessorGivesSamplesOrLuma() {
        byte[] gray = TestPngWriter.write(2, 1, 0, 8, false, 0, new int[] {17, 200});
        assertArrayEquals(new byte[] {17, (byte) 200}, decoder.decode(gray).gray().pixels());
        byte[] red = TestPngWriter.write(1, 1, 2, 8, false, 0, new int[] {255, 0, 0});
        // PIL: (255 * 19595 + 0x8000) >> 16 = 76
        assertArrayEquals(new byte[] {76}, decoder.decode(red).gray().pixels());
    }

    @Test
    void rejectsOversizedHeaderBeforeInflating() {
        byte[] png = withHeader(60000, 60000, 2, 8, TestPngWriter.zlib(new byte[10]));
        ImageException e = assertThrows(ImageException.class, () -> decoder.decode(png));
        assertEquals("image is 60000×60000 = 3600000000 pixels; limit 16777216", e.getMessage());

        PngDecoder narrow = new PngDecoder(new PngLimits(100, 5000, 1_000_000, 1 << 20));
        byte[] wide = withHeader(101, 2, 2, 8, TestPngWriter.zlib(new byte[10]));
        assertEquals("image is 101 pixels wide; limit 100",
                assertThrows(ImageException.class, () -> narrow.decode(wide)).getMessage());
        byte[] tall = withHeader(2, 5001, 2, 8, TestPngWriter.zlib(new byte[10]));
        assertEquals("image is 5001 pixels high; limit 5000",
                assertThrows(ImageException.class, () -> narrow.decode(tall)).getMessage());
    }

    @Test
    void rejectsFilesOverTheSizeLimit() {
        byte[] png = TestPngWriter.write(64, 64, 2, 8, false, 0, new Random(1).ints(64 * 64 * 3, 0, 256).toArray());
        PngDecoder small = new PngDecoder(new PngLimits(8192, 8192, 1 << 24, 1000));
        assertEquals("PNG is " + png.length + " bytes; limit 1000",
                assertThrows(ImageException.class, () -> small.decode(png)).getMessage());
        ImageException e = assertThrows(ImageException.class, () -> small.decode(new ByteArrayInputStream(png)));
        assertEquals("PNG is more than 1000 bytes; limit 1000", e.getMessage());
    }

    @Test
    void stopsZipBomb() {
        // 64 MiB of zeros compress to ~64 KiB; the 100×100 header implies 30100 bytes.
        Deflater deflater = new Deflater(9);
        byte[] zeros = new byte[1 << 20];
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int i = 0; i < 64; i++) {
            deflater.setInput(zeros);
            while (!deflater.needsInput()) {
                idat.write(buf, 0, deflater.deflate(buf));
            }
        }
        deflater.finish();
        while (!deflater.finished()) {
            idat.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        byte[] png = withHeader(100, 100, 2, 8, idat.toByteArray());
        ImageException e = assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> assertThrows(ImageException.class, () -> decoder.decode(png)));
        assertEquals("PNG is corrupt: image data inflates to more than the 30100 bytes a 100×100 image needs",
                e.getMessage());
    }

    /**
     * zTXt chunks of about 1 KiB that each inflate to nearly 1 MiB: capped per chunk only, an 8 MiB
     * input would hold gigabytes of text. The cap is for all the image's text together.
     */
    @Test
    void capsTheTextOfAllChunksTogether() {
        int nearlyAll = (1 << 20) - 1024;
        byte[] compressed = TestPngWriter.zlib(new byte[nearlyAll]);
        byte[][] chunks = new byte[8][];
        for (int i = 0; i < chunks.length; i++) {
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            data.writeBytes(("k" + i + "\0\0").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)); // key, NUL, method 0
            data.writeBytes(compressed);
            chunks[i] = TestPngWriter.chunk("zTXt", data.toByteArray());
        }
        byte[] one = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {0}, chunks[0]);
        assertEquals(nearlyAll, decoder.decode(one).text().get("k0").length());

        byte[] png = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {0}, chunks);
        assertTrue(png.length < 16 * 1024, png.length + " bytes");
        assertEquals("PNG text chunks hold more than 1048576 bytes in all (inflated, 64 more per chunk); limit 1048576",
                assertThrows(ImageException.class, () -> decoder.decode(png)).getMessage());
    }

    /** Many empty tEXt chunks cost their keys and map entries: bounded by the same cap. */
    @Test
    void capsTheNumberOfTextChunks() {
        byte[][] chunks = new byte[20_000][];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = TestPngWriter.chunk("tEXt", ("k" + i + "\0").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        byte[] few = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {0}, Arrays.copyOf(chunks, 100));
        assertEquals(100, decoder.decode(few).text().size());

        byte[] png = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {0}, chunks);
        assertTrue(assertThrows(ImageException.class, () -> decoder.decode(png)).getMessage()
                .startsWith("PNG text chunks hold more than 1048576 bytes in all"));
    }

    @Test
    void rejectsTruncatedFile() {
        byte[] png = new PngEncoder().encode(randomImage(40, 30, 3));
        byte[] cut = Arrays.copyOf(png, png.length / 2);
        ImageException e = assertThrows(ImageException.class, () -> decoder.decode(cut));
        assertTrue(e.getMessage().startsWith("PNG is truncated: IDAT chunk at byte 33 needs"), e.getMessage());

        byte[] noEnd = Arrays.copyOf(png, png.length - 12);
        assertEquals("PNG is truncated: it ends at byte " + noEnd.length + " without an IEND chunk",
                assertThrows(ImageException.class, () -> decoder.decode(noEnd)).getMessage());
    }

    @Test
    void rejectsImageDataThatEndsEarly() {
        // A complete zlib stream holding only one of the three rows.
        byte[] png = withHeader(4, 3, 0, 8, TestPngWriter.zlib(new byte[5]));
        assertEquals("PNG is truncated: image data ends after 5 of 15 bytes",
                assertThrows(ImageException.class, () -> decoder.decode(png)).getMessage());
    }

    @Test
    void rejectsBadCrcAndSignature() {
        byte[] png = new PngEncoder().encode(randomImage(8, 8, 4));
        png[45] ^= 1; // inside IDAT data
        ImageException e = assertThrows(ImageException.class, () -> decoder.decode(png));
        assertTrue(e.getMessage().startsWith("PNG is corrupt: CRC mismatch in IDAT chunk at byte 33"), e.getMessage());

        byte[] jpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
        assertEquals("not a PNG file: bad signature",
                assertThrows(ImageException.class, () -> decoder.decode(jpeg)).getMessage());
    }

    @Test
    void rejectsUnknownFilterAndCriticalChunk() {
        byte[] badFilter = withHeader(1, 1, 0, 8, TestPngWriter.zlib(new byte[] {5, 0}));
        assertEquals("PNG is corrupt: unknown filter type 5",
                assertThrows(ImageException.class, () -> decoder.decode(badFilter)).getMessage());
        byte[] ok = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {1}, TestPngWriter.chunk("ABCD", new byte[3]));
        assertEquals("PNG uses unsupported critical chunk ABCD",
                assertThrows(ImageException.class, () -> decoder.decode(ok)).getMessage());
        byte[] ancillary = TestPngWriter.write(1, 1, 0, 8, false, 0, new int[] {1}, TestPngWriter.chunk("abCD", new byte[3]));
        assertFalse(decoder.decode(ancillary).alpha().isPresent());
    }

    static RgbImage randomImage(int w, int h, long seed) {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).nextBytes(rgb);
        return new RgbImage(w, h, rgb);
    }

    /** A PNG of the given header with {@code idat} as its one IDAT chunk. */
    private static byte[] withHeader(int w, int h, int colorType, int depth, byte[] idat) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(TestPngWriter.SIGNATURE);
        png.writeBytes(TestPngWriter.chunk("IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h)
                .put((byte) depth).put((byte) colorType).put(new byte[3]).array()));
        png.writeBytes(TestPngWriter.chunk("IDAT", idat));
        png.writeBytes(TestPngWriter.chunk("IEND", new byte[0]));
        return png.toByteArray();
    }
}
