package dev.easel.engine.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes PNG files, including untrusted uploads: every colour type (gray, RGB, palette,
 * gray+alpha, RGBA), every legal bit depth (1, 2, 4, 8, 16), all five filters and Adam7
 * interlacing. {@code tRNS} transparency becomes an alpha channel.
 *
 * <p>Safety: the file size and the IHDR dimensions are checked against {@link PngLimits} before
 * anything is inflated, the image data is inflated into a buffer of exactly the size the header
 * implies (a stream that would produce more is rejected after one extra byte), every chunk CRC is
 * verified, and text is capped at 1 MiB for all its chunks together (compressed or not; each chunk
 * also costs {@value #TEXT_CHUNK_COST} bytes, so many tiny ones are bounded too). Failures throw
 * {@link ImageException}.
 *
 * <p>Immutable and thread-safe.
 */
public final class PngDecoder {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    /**
     * All text chunks (tEXt, zTXt, iTXt) together may hold at most this, inflated; prompts and
     * parameters are far smaller. Per image, not per chunk: a few KiB of zTXt chunks each inflating to
     * nearly the limit would otherwise make gigabytes of an 8 MiB input.
     */
    private static final int MAX_TEXT_BYTES = 1 << 20;
    /** What each text chunk costs of {@link #MAX_TEXT_BYTES} beside its key and value (its map entry). */
    static final int TEXT_CHUNK_COST = 64;
    /** Adam7 passes: x start, y start, x step, y step. */
    private static final int[][] ADAM7 = {
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    private static final int[][] NO_INTERLACE = {{0, 0, 1, 1}};

    private final PngLimits limits;

    /** A decoder with {@link PngLimits#DEFAULT}. */
    public PngDecoder() {
        this(PngLimits.DEFAULT);
    }

    public PngDecoder(PngLimits limits) {
        this.limits = limits;
    }

    /**
     * Reads a PNG from a stream, refusing to buffer more than the file-size limit.
     *
     * @throws IOException if reading fails
     */
    public PngImage decode(InputStream in) throws IOException {
        long limit = limits.maxCompressedBytes();
        byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
        if (data.length > limit) {
            throw new ImageException("PNG is more than " + limit + " bytes; limit " + limit);
        }
        return decode(data);
    }

    /** Decodes a whole PNG file. */
    public PngImage decode(byte[] png) {
        if (png.length > limits.maxCompressedBytes()) {
            throw new ImageException("PNG is " + png.length + " bytes; limit " + limits.maxCompressedBytes());
        }
        if (png.length < SIGNATURE.length || !Arrays.equals(png, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            throw new ImageException("not a PNG file: bad signature");
        }
        return new Decoding(png).run();
    }

    /** The state of one decode call, so the decoder itself stays immutable. */
    private final class Decoding {
        private final byte[] png;
        private final CRC32 crc = new CRC32();
        private final Map<String, String> text = new LinkedHashMap<>();
        /** What is left of {@link #MAX_TEXT_BYTES} for this image's text. */
        private int textLeft = MAX_TEXT_BYTES;
        private int width;
        private int height;
        private int bitDepth;
        private int colorType;
        private int channels;
        private boolean interlaced;
        private byte[] palette;
        private byte[] trns;
        private int[] idatOffsets = new int[8];
        private int[] idatLengths = new int[8];
        private int idatCount;

        Decoding(byte[] png) {
            this.png = png;
        }

        PngImage run() {
            readChunks();
            if (idatCount == 0) {
                throw new ImageException("PNG has no image data (IDAT chunk)");
            }
            if (colorType == 3 && palette == null) {
                throw new ImageException("palette PNG has no PLTE chunk");
            }
            int[][] passes = interlaced ? ADAM7 : NO_INTERLACE;
            long expected = 0;
            for (int[] p : passes) {
                long pw = passSize(width, p[0], p[2]);
                long ph = passSize(height, p[1], p[3]);
                if (pw > 0 && ph > 0) {
                    expected += ph * (1 + rowBytes(pw));
                }
            }
            if (expected > Integer.MAX_VALUE - 16 || (long) width * height * 3 > Integer.MAX_VALUE - 16) {
                throw new ImageException("image is " + width + "×" + height + " with " + channels + "×" + bitDepth
                        + "-bit samples: too large to hold in memory");
            }
            byte[] raw = inflateImageData((int) expected);
            byte[] rgb = new byte[width * height * 3];
            byte[] alpha = null;
            if (colorType == 4 || colorType == 6 || trns != null) {
                alpha = new byte[width * height];
                Arrays.fill(alpha, (byte) 0xFF);
            }
            int bpp = Math.max(1, channels * bitDepth / 8);
            int pos = 0;
            for (int[] p : passes) {
                int pw = passSize(width, p[0], p[2]);
                int ph = passSize(height, p[1], p[3]);
                if (pw == 0 || ph == 0) {
                    continue;
                }
                int rowBytes = (int) rowBytes(pw);
                for (int r = 0; r < ph; r++) {
                    int prev = r == 0 ? -1 : pos - 1 - rowBytes;
                    unfilter(raw, pos, prev, rowBytes, bpp);
                    convertRow(raw, pos + 1, pw, p[1] + r * p[3], p[0], p[2], rgb, alpha);
                    pos += 1 + rowBytes;
                }
            }
            RgbImage image = new RgbImage(width, height, rgb);
            GrayImage alphaImage = alpha == null ? null : new GrayImage(width, height, alpha);
            return new PngImage(image, alphaImage, colorType == 0 || colorType == 4, text);
        }

        private void readChunks() {
            int pos = SIGNATURE.length;
            boolean first = true;
            while (true) {
                if (pos + 8 > png.length) {
                    throw new ImageException("PNG is truncated: it ends at byte " + png.length + " without an IEND chunk");
                }
                int length = readInt(png, pos);
                String type = new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1);
                if (length < 0 || !type.chars().allMatch(c -> (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
                    throw new ImageException("PNG is corrupt: bad chunk header at byte " + pos);
                }
                if ((long) pos + 12 + length > png.length) {
                    throw new ImageException("PNG is truncated: " + type + " chunk at byte " + pos + " needs "
                            + (12L + length) + " bytes, only " + (png.length - pos) + " remain");
                }
                int data = pos + 8;
                crc.reset();
                crc.update(png, pos + 4, 4 + length);
                int stored = readInt(png, data + length);
                if (stored != (int) crc.getValue()) {
                    throw new ImageException(String.format("PNG is corrupt: CRC mismatch in %s chunk at byte %d"
                            + " (stored %08x, computed %08x)", type, pos, stored, (int) crc.getValue()));
                }
                if (first != type.equals("IHDR")) {
                    throw new ImageException(first ? "PNG is corrupt: first chunk is " + type + ", not IHDR"
                            : "PNG is corrupt: second IHDR chunk at byte " + pos);
                }
                first = false;
                switch (type) {
                    case "IHDR" -> readHeader(data, length);
                    case "PLTE" -> {
                        if (length % 3 != 0 || length == 0 || length > 256 * 3) {
                            throw new ImageException("PNG is corrupt: PLTE chunk of " + length + " bytes");
                        }
                        palette = Arrays.copyOfRange(png, data, data + length);
                    }
                    case "tRNS" -> readTransparency(data, length);
                    case "IDAT" -> addIdat(data, length);
                    case "tEXt", "zTXt", "iTXt" -> readText(type, data, length);
                    case "IEND" -> {
                        return;
                    }
                    default -> {
                        if ((type.charAt(0) & 0x20) == 0) {
                            throw new ImageException("PNG uses unsupported critical chunk " + type);
                        }
                    }
                }
                pos = data + length + 4;
            }
        }

        private void readHeader(int data, int length) {
            if (length != 13) {
                throw new ImageException("PNG is corrupt: IHDR chunk of " + length + " bytes, expected 13");
            }
            width = readInt(png, data);
            height = readInt(png, data + 4);
            bitDepth = png[data + 8] & 0xFF;
            colorType = png[data + 9] & 0xFF;
            if (width <= 0 || height <= 0) {
                throw new ImageException("PNG is corrupt: image size " + Integer.toUnsignedString(width) + "×"
                        + Integer.toUnsignedString(height));
            }
            long pixels = (long) width * height;
            if (pixels > limits.maxPixels()) {
                throw new ImageException("image is " + width + "×" + height + " = " + pixels + " pixels; limit "
                        + limits.maxPixels());
            }
            if (width > limits.maxWidth()) {
                throw new ImageException("image is " + width + " pixels wide; limit " + limits.maxWidth());
            }
            if (height > limits.maxHeight()) {
                throw new ImageException("image is " + height + " pixels high; limit " + limits.maxHeight());
            }
            channels = switch (colorType) {
                case 0, 3 -> 1;
                case 2 -> 3;
                case 4 -> 2;
                case 6 -> 4;
                default -> throw new ImageException("PNG is corrupt: colour type " + colorType);
            };
            boolean depthOk = switch (colorType) {
                case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
                case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
                default -> bitDepth == 8 || bitDepth == 16;
            };
            if (!depthOk) {
                throw new ImageException("PNG is corrupt: bit depth " + bitDepth + " with colour type " + colorType);
            }
            if (png[data + 10] != 0 || png[data + 11] != 0) {
                throw new ImageException("PNG uses unknown compression or filter method");
            }
            int interlace = png[data + 12];
            if (interlace != 0 && interlace != 1) {
                throw new ImageException("PNG uses unknown interlace method " + interlace);
            }
            interlaced = interlace == 1;
        }

        /** Keeps a well-formed tRNS; a malformed one is ignored, as an ancillary chunk may be. */
        private void readTransparency(int data, int length) {
            boolean valid = switch (colorType) {
                case 0 -> length == 2;
                case 2 -> length == 6;
                case 3 -> palette != null && length <= palette.length / 3;
                default -> false; // gray+alpha and RGBA carry their own alpha
            };
            if (valid) {
                trns = Arrays.copyOfRange(png, data, data + length);
            }
        }

        private void addIdat(int data, int length) {
            if (idatCount == idatOffsets.length) {
                idatOffsets = Arrays.copyOf(idatOffsets, idatCount * 2);
                idatLengths = Arrays.copyOf(idatLengths, idatCount * 2);
            }
            idatOffsets[idatCount] = data;
            idatLengths[idatCount] = length;
            idatCount++;
        }

        /** Inflates the concatenated IDAT data into exactly {@code expected} bytes. */
        private byte[] inflateImageData(int expected) {
            byte[] raw = new byte[expected];
            Inflater inflater = new Inflater();
            try {
                inflater.setInput(png, idatOffsets[0], idatLengths[0]);
                int next = 1;
                int filled = 0;
                while (filled < expected) {
                    int n = inflater.inflate(raw, filled, expected - filled);
                    filled += n;
                    if (n == 0) {
                        if (inflater.needsDictionary()) {
                            throw new ImageException("PNG is corrupt: image data asks for a preset dictionary");
                        }
                        if (inflater.finished() || (inflater.needsInput() && next == idatCount)) {
                            throw new ImageException("PNG is truncated: image data ends after " + filled + " of "
                                    + expected + " bytes");
                        }
                        if (inflater.needsInput()) {
                            inflater.setInput(png, idatOffsets[next], idatLengths[next]);
                            next++;
                        }
                    }
                }
                // A conforming stream has only its checksum left; any further output is a bomb or garbage.
                byte[] probe = new byte[1];
                while (!inflater.finished() && !inflater.needsDictionary()) {
                    if (inflater.inflate(probe) > 0) {
                        throw new ImageException("PNG is corrupt: image data inflates to more than the " + expected
                                + " bytes a " + width + "×" + height + " image needs");
                    }
                    if (inflater.needsInput()) {
                        if (next == idatCount) {
                            break;
                        }
                        inflater.setInput(png, idatOffsets[next], idatLengths[next]);
                        next++;
                    }
                }
                return raw;
            } catch (DataFormatException e) {
                throw new ImageException("PNG is corrupt: bad compressed image data (" + e.getMessage() + ")", e);
            } finally {
                inflater.end();
            }
        }

        private void readText(String type, int data, int length) {
            int end = data + length;
            int keyEnd = indexOfNul(data, end);
            if (keyEnd < 0) {
                return; // malformed ancillary chunk: skipped, as the spec allows
            }
            String key = new String(png, data, keyEnd - data, StandardCharsets.ISO_8859_1);
            spendText(key.length() + TEXT_CHUNK_COST);
            int pos = keyEnd + 1;
            switch (type) {
                case "tEXt" -> {
                    spendText(end - pos);
                    text.put(key, new String(png, pos, end - pos, StandardCharsets.ISO_8859_1));
                }
                case "zTXt" -> {
                    if (pos < end) {
                        text.put(key, new String(inflateText(key, pos + 1, end - pos - 1), StandardCharsets.ISO_8859_1));
                    }
                }
                default -> { // iTXt: compression flag, method, language NUL, translated keyword NUL, text
                    if (pos + 2 > end) {
                        return;
                    }
                    boolean compressed = png[pos] != 0;
                    int languageEnd = indexOfNul(pos + 2, end);
                    int translatedEnd = languageEnd < 0 ? -1 : indexOfNul(languageEnd + 1, end);
                    if (translatedEnd < 0) {
                        return;
                    }
                    int start = translatedEnd + 1;
                    if (!compressed) {
                        spendText(end - start);
                    }
                    byte[] value = compressed ? inflateText(key, start, end - start)
                            : Arrays.copyOfRange(png, start, end);
                    text.put(key, new String(value, StandardCharsets.UTF_8));
                }
            }
        }

        private void spendText(int bytes) {
            if (bytes > textLeft) {
                throw textOverLimit();
            }
            textLeft -= bytes;
        }

        private ImageException textOverLimit() {
            return new ImageException("PNG text chunks hold more than " + MAX_TEXT_BYTES + " bytes in all (inflated, "
                    + TEXT_CHUNK_COST + " more per chunk); limit " + MAX_TEXT_BYTES);
        }

        private byte[] inflateText(String key, int offset, int length) {
            int cap = textLeft; // one byte more than this is over the image's text budget
            Inflater inflater = new Inflater();
            try {
                inflater.setInput(png, offset, length);
                byte[] out = new byte[(int) Math.min(cap + 1L, Math.max(64, length * 4L))];
                int filled = 0;
                while (!inflater.finished()) {
                    if (filled == out.length) {
                        if (out.length > cap) {
                            throw textOverLimit();
                        }
                        out = Arrays.copyOf(out, (int) Math.min(cap + 1L, out.length * 2L));
                    }
                    int n = inflater.inflate(out, filled, out.length - filled);
                    if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                        throw new ImageException("PNG is corrupt: compressed text '" + key + "' is truncated");
                    }
                    filled += n;
                }
                spendText(filled);
                return Arrays.copyOf(out, filled);
            } catch (DataFormatException e) {
                throw new ImageException("PNG is corrupt: bad compressed text '" + key + "' (" + e.getMessage() + ")", e);
            } finally {
                inflater.end();
            }
        }

        private int indexOfNul(int from, int end) {
            for (int i = from; i < end; i++) {
                if (png[i] == 0) {
                    return i;
                }
            }
            return -1;
        }

        private long rowBytes(long pixels) {
            return (pixels * channels * bitDepth + 7) / 8;
        }

        /**
         * Reverses the row's filter in place.
         *
         * @param raw  filtered rows, each {@code [1 + rowBytes]}: filter type, then the bytes
         * @param row  offset of this row's filter-type byte
         * @param prev offset of the previous row's filter-type byte in the same pass, or -1
         * @param bpp  bytes per complete pixel, at least 1
         */
        private void unfilter(byte[] raw, int row, int prev, int rowBytes, int bpp) {
            int type = raw[row];
            int o = row + 1;
            int u = prev + 1;
            switch (type) {
                case 0 -> { }
                case 1 -> {
                    for (int i = bpp; i < rowBytes; i++) {
                        raw[o + i] += raw[o + i - bpp];
                    }
                }
                case 2 -> {
                    if (prev >= 0) {
                        for (int i = 0; i < rowBytes; i++) {
                            raw[o + i] += raw[u + i];
                        }
                    }
                }
                case 3 -> {
                    for (int i = 0; i < rowBytes; i++) {
                        int left = i >= bpp ? raw[o + i - bpp] & 0xFF : 0;
                        int up = prev >= 0 ? raw[u + i] & 0xFF : 0;
                        raw[o + i] += (byte) ((left + up) >> 1);
                    }
                }
                case 4 -> {
                    for (int i = 0; i < rowBytes; i++) {
                        int a = i >= bpp ? raw[o + i - bpp] & 0xFF : 0;
                        int b = prev >= 0 ? raw[u + i] & 0xFF : 0;
                        int c = i >= bpp && prev >= 0 ? raw[u + i - bpp] & 0xFF : 0;
                        int pa = Math.abs(b - c);
                        int pb = Math.abs(a - c);
                        int pc = Math.abs(a + b - 2 * c);
                        raw[o + i] += (byte) (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                    }
                }
                default -> throw new ImageException("PNG is corrupt: unknown filter type " + (type & 0xFF));
            }
        }

        /**
         * Converts one unfiltered row of a pass into 8-bit pixels.
         *
         * @param raw   row bytes start at {@code off}
         * @param count pixels in the row
         * @param y     image row
         * @param x0    image column of the first pixel; the next is {@code dx} further
         * @param rgb   {@code [height][width][3]}
         * @param alpha {@code [height][width]}, or null when the image has no transparency
         */
        private void convertRow(byte[] raw, int off, int count, int y, int x0, int dx, byte[] rgb, byte[] alpha) {
            int base = y * width;
            if (colorType == 2 && bitDepth == 8 && dx == 1 && alpha == null) {
                System.arraycopy(raw, off, rgb, base * 3, count * 3);
                return;
            }
            for (int i = 0, x = x0; i < count; i++, x += dx) {
                int pixel = base + x;
                int p = pixel * 3;
                int s = i * channels;
                switch (colorType) {
                    case 0 -> {
                        int v = sample(raw, off, s);
                        byte g = to8(v);
                        rgb[p] = g;
                        rgb[p + 1] = g;
                        rgb[p + 2] = g;
                        if (alpha != null && v == readShort(trns, 0)) {
                            alpha[pixel] = 0;
                        }
                    }
                    case 2 -> {
                        int r = sample(raw, off, s);
                        int g = sample(raw, off, s + 1);
                        int b = sample(raw, off, s + 2);
                        rgb[p] = to8(r);
                        rgb[p + 1] = to8(g);
                        rgb[p + 2] = to8(b);
                        if (alpha != null && r == readShort(trns, 0)
                                && g == readShort(trns, 2) && b == readShort(trns, 4)) {
                            alpha[pixel] = 0;
                        }
                    }
                    case 3 -> {
                        int index = sample(raw, off, s);
                        if (index * 3 >= palette.length) {
                            throw new ImageException("PNG is corrupt: palette index " + index + " but the palette has "
                                    + palette.length / 3 + " entries");
                        }
                        rgb[p] = palette[index * 3];
                        rgb[p + 1] = palette[index * 3 + 1];
                        rgb[p + 2] = palette[index * 3 + 2];
                        if (alpha != null && index < trns.length) {
                            alpha[pixel] = trns[index];
                        }
                    }
                    case 4 -> {
                        byte g = to8(sample(raw, off, s));
                        rgb[p] = g;
                        rgb[p + 1] = g;
                        rgb[p + 2] = g;
                        alpha[pixel] = to8(sample(raw, off, s + 1));
                    }
                    default -> {
                        rgb[p] = to8(sample(raw, off, s));
                        rgb[p + 1] = to8(sample(raw, off, s + 1));
                        rgb[p + 2] = to8(sample(raw, off, s + 2));
                        alpha[pixel] = to8(sample(raw, off, s + 3));
                    }
                }
            }
        }

        /** The {@code index}-th sample of a row at the source bit depth. */
        private int sample(byte[] raw, int off, int index) {
            return switch (bitDepth) {
                case 8 -> raw[off + index] & 0xFF;
                case 16 -> readShort(raw, off + 2 * index);
                default -> {
                    int bit = index * bitDepth;
                    yield (raw[off + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
                }
            };
        }

        /** A sample scaled to 8 bits (palette indices are not samples and never come here). */
        private byte to8(int v) {
            return (byte) switch (bitDepth) {
                case 8 -> v;
                case 16 -> (v + 128) / 257; // round(v * 255 / 65535); no ties, as 257 is odd
                default -> v * 255 / ((1 << bitDepth) - 1);
            };
        }
    }

    private static int passSize(int size, int start, int step) {
        return size <= start ? 0 : (size - start + step - 1) / step;
    }

    private static int readInt(byte[] b, int pos) {
        return ((b[pos] & 0xFF) << 24) | ((b[pos + 1] & 0xFF) << 16) | ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
    }

    private static int readShort(byte[] b, int pos) {
        return ((b[pos] & 0xFF) << 8) | (b[pos + 1] & 0xFF);
    }
}
