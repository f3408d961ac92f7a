package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

class HuffmanDeflaterTest {

    private final HuffmanDeflater deflater = new HuffmanDeflater();

    @Test
    void zlibInflatesWhatItWrites() throws DataFormatException {
        Random random = new Random(3);
        byte[] skewed = new byte[200_000];
        for (int i = 0; i < skewed.length; i++) {
            skewed[i] = (byte) Math.round(random.nextGaussian() * 3);
        }
        byte[] noise = new byte[150_001];
        random.nextBytes(noise);
        for (byte[] data : new byte[][] {{42}, new byte[70_000], skewed, noise}) {
            assertArrayEquals(data, inflate(deflater.compress(data, data.length), deflater.size()));
        }
    }

    /** Fibonacci frequencies make the optimal Huffman tree deeper than deflate's 15 bits. */
    @Test
    void limitsCodeLengthsToFifteenBits() throws DataFormatException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long a = 1;
        long b = 1;
        for (int symbol = 0; symbol < 24; symbol++) {
            for (long i = 0; i < a; i++) {
                out.write(symbol);
            }
            long next = a + b;
            a = b;
            b = next;
        }
        byte[] data = Arrays.copyOf(out.toByteArray(), 65535); // one block holds the whole skew
        assertArrayEquals(data, inflate(deflater.compress(data, data.length), deflater.size()));
        // Limiting costs little: within 5 % of the entropy (plus the block header).
        int[] counts = new int[256];
        for (byte v : data) {
            counts[v & 0xFF]++;
        }
        double entropyBits = 0;
        for (int c : counts) {
            entropyBits += c == 0 ? 0 : -c * Math.log((double) c / data.length) / Math.log(2);
        }
        assertTrue(deflater.size() < entropyBits / 8 * 1.05 + 200, "compressed to " + deflater.size()
                + " bytes, entropy " + entropyBits / 8);
    }

    private static byte[] inflate(byte[] zlib, int length) throws DataFormatException {
        Inflater inflater = new Inflater();
        inflater.setInput(zlib, 0, length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (!inflater.finished()) {
            int n = inflater.inflate(buf);
            if (n == 0 && inflater.needsInput()) {
                throw new AssertionError("stream ended early");
            }
            out.write(buf, 0, n);
        }
        inflater.end();
        return out.toByteArray();
    }
}
