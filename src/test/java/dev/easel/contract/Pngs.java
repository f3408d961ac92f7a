package dev.easel.contract;

import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.image.RgbImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** PNG files for the tests, good and hostile. */
final class Pngs {

    private Pngs() {
    }

    /** An RGB PNG filled with one colour. */
    static byte[] rgb(int width, int height, int r, int g, int b) {
        byte[] pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.length; i += 3) {
            pixels[i] = (byte) r;
            pixels[i + 1] = (byte) g;
            pixels[i + 2] = (byte) b;
        }
        return new PngEncoder().encode(new RgbImage(width, height, pixels));
    }

    /** An 8-bit grayscale PNG: the left half black, the right half white. */
    static byte[] grayHalves(int width, int height) {
        byte[] raw = new byte[height * (1 + width)];
        for (int y = 0; y < height; y++) {
            for (int x = width / 2; x < width; x++) {
                raw[y * (1 + width) + 1 + x] = (byte) 255;
            }
        }
        return png(width, height, 0, deflate(raw));
    }

    /** A header claiming {@code width}×{@code height} RGB, with a few bytes of image data. */
    static byte[] hugeHeader(int width, int height) {
        return png(width, height, 2, deflate(new byte[16]));
    }

    /** A 64×64 RGB header whose image data inflates to 64 MiB of zeros (about 64 KiB compressed). */
    static byte[] bomb() {
        Deflater deflater = new Deflater(9);
        byte[] zeros = new byte[1 << 20];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int i = 0; i < 64; i++) {
            deflater.setInput(zeros);
            while (!deflater.needsInput()) {
                out.write(buf, 0, deflater.deflate(buf));
            }
        }
        deflater.finish();
        while (!deflater.finished()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        return png(64, 64, 2, out.toByteArray());
    }

    static String dataUri(byte[] png) {
        return ImageReference.DATA_URI_PREFIX + Base64.getEncoder().encodeToString(png);
    }

    private static byte[] deflate(byte[] raw) {
        Deflater deflater = new Deflater();
        deflater.setInput(raw);
        deflater.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!deflater.finished()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        return out.toByteArray();
    }

    private static byte[] png(int width, int height, int colorType, byte[] idat) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        out.writeBytes(chunk("IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) colorType).put((byte) 0).put((byte) 0).put((byte) 0).array()));
        out.writeBytes(chunk("IDAT", idat));
        out.writeBytes(chunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    private static byte[] chunk(String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(typeBytes).put(data)
                .putInt((int) crc.getValue()).array();
    }
}
