package dev.easel.engine.image;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A deliberately plain PNG writer for decoder tests: any colour type, bit depth, filter and
 * Adam7, which ImageIO cannot all produce. It shares no code with the engine's decoder.
 */
final class TestPngWriter {

    static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int[][] ADAM7 = {
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

    private TestPngWriter() {
    }

    static int channels(int colorType) {
        return switch (colorType) {
            case 0, 3 -> 1;
            case 2 -> 3;
            case 4 -> 2;
            default -> 4;
        };
    }

    /**
     * @param samples raw sample values, {@code [height][width][channels]}, at {@code bitDepth}
     * @param filter  filter type for every row, 0..4
     * @param extra   chunks (already framed) placed before IDAT, e.g. PLTE and tRNS
     */
    static byte[] write(int width, int height, int colorType, int bitDepth, boolean interlace, int filter,
            int[] samples, byte[]... extra) {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        int ch = channels(colorType);
        int[][] passes = interlace ? ADAM7 : new int[][] {{0, 0, 1, 1}};
        for (int[] p : passes) {
            int pw = width <= p[0] ? 0 : (width - p[0] + p[2] - 1) / p[2];
            int ph = height <= p[1] ? 0 : (height - p[1] + p[3] - 1) / p[3];
            if (pw == 0 || ph == 0) {
                continue;
            }
            int rowBytes = (pw * ch * bitDepth + 7) / 8;
            int bpp = Math.max(1, ch * bitDepth / 8);
            byte[] prev = new byte[rowBytes];
            for (int r = 0; r < ph; r++) {
                int y = p[1] + r * p[3];
                byte[] row = new byte[rowBytes];
                for (int i = 0; i < pw; i++) {
                    int x = p[0] + i * p[2];
                    for (int c = 0; c < ch; c++) {
                        putSample(row, i * ch + c, bitDepth, samples[(y * width + x) * ch + c]);
                    }
                }
                raw.write(filter);
                for (int i = 0; i < rowBytes; i++) {
                    int a = i >= bpp ? row[i - bpp] & 0xFF : 0;
                    int b = prev[i] & 0xFF;
                    int c = i >= bpp ? prev[i - bpp] & 0xFF : 0;
                    int predictor = switch (filter) {
                        case 0 -> 0;
                        case 1 -> a;
                        case 2 -> b;
                        case 3 -> (a + b) / 2;
                        default -> paeth(a, b, c);
                    };
                    raw.write((row[i] - predictor) & 0xFF);
                }
                prev = row;
            }
        }
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) bitDepth).put((byte) colorType).put((byte) 0).put((byte) 0).put((byte) (interlace ? 1 : 0));
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(SIGNATURE);
        png.writeBytes(chunk("IHDR", ihdr.array()));
        for (byte[] e : extra) {
            png.writeBytes(e);
        }
        png.writeBytes(chunk("IDAT", zlib(raw.toByteArray())));
        png.writeBytes(chunk("IEND", new byte[0]));
        return png.toByteArray();
    }

    static byte[] zlib(byte[] data) {
        Deflater d = new Deflater(6);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    static byte[] chunk(String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        b.putInt(data.length).put(type.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 4, 4 + data.length);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    private static void putSample(byte[] row, int index, int bitDepth, int v) {
        switch (bitDepth) {
            case 8 -> row[index] = (byte) v;
            case 16 -> {
                row[2 * index] = (byte) (v >> 8);
                row[2 * index + 1] = (byte) v;
            }
            default -> {
                int bit = index * bitDepth;
                row[bit / 8] |= (byte) (v << (8 - bitDepth - bit % 8));
            }
        }
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
