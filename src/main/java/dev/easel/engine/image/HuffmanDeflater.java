package dev.easel.engine.image;

import java.util.Arrays;
import java.util.zip.Adler32;

/**
 * A zlib (RFC 1950/1951) compressor that codes every byte as a literal with a per-block dynamic
 * Huffman code and never searches for matches.
 *
 * <p>Why not {@link java.util.zip.Deflater}: on PNG-filtered generated images (smooth gradients
 * plus fine noise) LZ77 matching finds almost nothing, so zlib level 1 spends ~14 ms per 512×512
 * RGB image for ~65 % of raw size, and even its {@code HUFFMAN_ONLY} strategy takes ~9.5 ms (its
 * per-symbol tally loop). Entropy coding alone reaches the same ~56 % in a few milliseconds. The
 * output is a standard zlib stream that any inflater reads.
 *
 * <p>Not thread-safe; buffers are reused across calls.
 */
final class HuffmanDeflater {

    /** Bytes per deflate block: small enough to adapt the code to the content, and a stored block fits. */
    private static final int BLOCK = 65535;
    private static final int SYMBOLS = 257; // 256 literals + end-of-block
    private static final int EOB = 256;
    private static final int MAX_BITS = 15;
    /** Dynamic-block header: BFINAL+BTYPE, HLIT/HDIST/HCLEN, 19 code-length-code lengths, 259 4-bit lengths. */
    private static final int HEADER_BITS = 3 + 5 + 5 + 4 + 19 * 3 + (SYMBOLS + 2) * 4;

    private final int[] freq = new int[SYMBOLS];
    private final int[] scaled = new int[SYMBOLS];
    private final byte[] lengths = new byte[SYMBOLS];
    private final int[] codes = new int[SYMBOLS];
    private final long[] sortKeys = new long[SYMBOLS];
    private final int[] nodeWeight = new int[2 * SYMBOLS];
    private final int[] parent = new int[2 * SYMBOLS];
    private final int[] depth = new int[2 * SYMBOLS];
    private final int[] blCount = new int[MAX_BITS + 1];
    private final int[] nextCode = new int[MAX_BITS + 1];
    private final Adler32 adler = new Adler32();

    private byte[] out = new byte[1 << 16];
    private int pos;
    private long bitBuf;
    private int bitCount;

    /**
     * Compresses {@code data[0, length)}, {@code length > 0}, into a zlib stream.
     *
     * @return the internal output buffer; the stream is its first {@link #size()} bytes, valid until
     *     the next call
     */
    byte[] compress(byte[] data, int length) {
        pos = 0;
        bitBuf = 0;
        bitCount = 0;
        ensure(2);
        out[pos++] = 0x78; // deflate, 32 KiB window
        out[pos++] = 0x01; // FLEVEL "fastest", no dictionary; 0x7801 is a multiple of 31
        int start = 0;
        do {
            int end = Math.min(length, start + BLOCK);
            writeBlock(data, start, end, end == length);
            start = end;
        } while (start < length);
        flushToByte();
        adler.reset();
        adler.update(data, 0, length);
        int sum = (int) adler.getValue();
        ensure(4);
        out[pos++] = (byte) (sum >>> 24);
        out[pos++] = (byte) (sum >>> 16);
        out[pos++] = (byte) (sum >>> 8);
        out[pos++] = (byte) sum;
        return out;
    }

    /** Length of the stream the last {@link #compress} produced. */
    int size() {
        return pos;
    }

    private void writeBlock(byte[] data, int start, int end, boolean last) {
        Arrays.fill(freq, 0);
        for (int i = start; i < end; i++) {
            freq[data[i] & 0xFF]++;
        }
        freq[EOB] = 1;
        buildLengths();
        long huffmanBits = HEADER_BITS;
        for (int s = 0; s < SYMBOLS; s++) {
            huffmanBits += (long) freq[s] * lengths[s];
        }
        int n = end - start;
        // Stored: 3 header bits, padding to a byte, LEN and NLEN, the bytes.
        if (huffmanBits >= 3 + 7 + 32 + 8L * n) {
            writeStored(data, start, n, last);
            return;
        }
        ensure((int) (huffmanBits / 8) + 16);
        assignCodes();
        putBits(last ? 1 : 0, 1);
        putBits(2, 2); // BTYPE 10: dynamic Huffman
        putBits(SYMBOLS - 257, 5); // HLIT
        putBits(2 - 1, 5); // HDIST: two distance codes, never used but keeping the code complete
        putBits(19 - 4, 4); // HCLEN: all 19, since code-length symbol 15 is sent last
        // Code-length code: symbols 0..15 all 4 bits long (a complete code, so each length is sent
        // as its own 4-bit value), 16..18 unused. Order per RFC 1951: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15.
        putBits(0, 9);
        for (int i = 0; i < 16; i++) {
            putBits(4, 3);
        }
        for (int s = 0; s < SYMBOLS; s++) {
            putBits(reverse(lengths[s], 4), 4);
        }
        putBits(reverse(1, 4), 4); // distance codes 0 and 1: one bit each
        putBits(reverse(1, 4), 4);
        long buf = bitBuf;
        int count = bitCount;
        int p = pos;
        byte[] o = out;
        int[] c = codes;
        byte[] len = lengths;
        for (int i = start; i < end; i++) {
            int s = data[i] & 0xFF;
            buf |= (long) c[s] << count;
            count += len[s];
            if (count >= 32) {
                o[p] = (byte) buf;
                o[p + 1] = (byte) (buf >>> 8);
                o[p + 2] = (byte) (buf >>> 16);
                o[p + 3] = (byte) (buf >>> 24);
                p += 4;
                buf >>>= 32;
                count -= 32;
            }
        }
        bitBuf = buf;
        bitCount = count;
        pos = p;
        putBits(codes[EOB], lengths[EOB]);
    }

    private void writeStored(byte[] data, int start, int n, boolean last) {
        ensure(n + 16);
        putBits(last ? 1 : 0, 1);
        putBits(0, 2);
        flushToByte();
        out[pos++] = (byte) n;
        out[pos++] = (byte) (n >>> 8);
        out[pos++] = (byte) ~n;
        out[pos++] = (byte) (~n >>> 8);
        System.arraycopy(data, start, out, pos, n);
        pos += n;
    }

    /**
     * Huffman code lengths for {@link #freq} into {@link #lengths}, at most 15 bits. Two-queue
     * construction over the sorted leaves; if the tree is too deep the frequencies are halved
     * (keeping every used symbol) and the code rebuilt, which converges quickly and costs little.
     */
    private void buildLengths() {
        System.arraycopy(freq, 0, scaled, 0, SYMBOLS);
        while (!tryBuildLengths()) {
            for (int s = 0; s < SYMBOLS; s++) {
                if (scaled[s] != 0) {
                    scaled[s] = (scaled[s] >>> 1) | 1;
                }
            }
        }
    }

    private boolean tryBuildLengths() {
        int leaves = 0;
        for (int s = 0; s < SYMBOLS; s++) {
            if (scaled[s] != 0) {
                sortKeys[leaves++] = ((long) scaled[s] << 16) | s;
            }
        }
        // Always at least two leaves: end-of-block plus one literal, as blocks are never empty.
        Arrays.sort(sortKeys, 0, leaves);
        for (int i = 0; i < leaves; i++) {
            nodeWeight[i] = (int) (sortKeys[i] >>> 16);
        }
        // Nodes 0..leaves-1 are the sorted leaves, leaves.. the internal nodes in creation order
        // (which is also non-decreasing weight order); the last one created is the root.
        int nextLeaf = 0;
        int nextInternal = leaves;
        int created = leaves;
        while (created < 2 * leaves - 1) {
            int a = (nextLeaf < leaves && (nextInternal >= created || nodeWeight[nextLeaf] <= nodeWeight[nextInternal]))
                    ? nextLeaf++ : nextInternal++;
            int b = (nextLeaf < leaves && (nextInternal >= created || nodeWeight[nextLeaf] <= nodeWeight[nextInternal]))
                    ? nextLeaf++ : nextInternal++;
            nodeWeight[created] = nodeWeight[a] + nodeWeight[b];
            parent[a] = created;
            parent[b] = created;
            created++;
        }
        int root = created - 1;
        depth[root] = 0;
        for (int i = root - 1; i >= 0; i--) {
            depth[i] = depth[parent[i]] + 1;
        }
        Arrays.fill(lengths, (byte) 0);
        for (int i = 0; i < leaves; i++) {
            if (depth[i] > MAX_BITS) {
                return false;
            }
            lengths[(int) (sortKeys[i] & 0xFFFF)] = (byte) depth[i];
        }
        return true;
    }

    /** Canonical codes (RFC 1951 3.2.2) from {@link #lengths}, bit-reversed for LSB-first output. */
    private void assignCodes() {
        Arrays.fill(blCount, 0);
        for (int s = 0; s < SYMBOLS; s++) {
            blCount[lengths[s]]++;
        }
        blCount[0] = 0;
        int[] next = nextCode;
        int code = 0;
        for (int bits = 1; bits <= MAX_BITS; bits++) {
            code = (code + blCount[bits - 1]) << 1;
            next[bits] = code;
        }
        for (int s = 0; s < SYMBOLS; s++) {
            int len = lengths[s];
            if (len != 0) {
                codes[s] = reverse(next[len]++, len);
            }
        }
    }

    private static int reverse(int code, int length) {
        return Integer.reverse(code) >>> (32 - length);
    }

    private void putBits(int value, int count) {
        bitBuf |= (long) value << bitCount;
        bitCount += count;
        while (bitCount >= 8) {
            out[pos++] = (byte) bitBuf;
            bitBuf >>>= 8;
            bitCount -= 8;
        }
    }

    private void flushToByte() {
        if (bitCount > 0) {
            out[pos++] = (byte) bitBuf;
        }
        bitBuf = 0;
        bitCount = 0;
    }

    private void ensure(int extra) {
        if (pos + extra > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, pos + extra));
        }
    }
}
