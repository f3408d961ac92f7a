package dev.easel.engine.noise;

/**
 * Seeded standard-normal noise that is bit-for-bit the same on every machine and JVM.
 *
 * <p>Algorithm (the documented contract behind "same seed, same image"):
 * <ol>
 *   <li>Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) keyed
 *       by the 64-bit seed (key = low, high 32 bits), with a 128-bit counter starting at 0 and
 *       incremented by one per block; each block yields four 32-bit words.</li>
 *   <li>Each word becomes a uniform in (0, 1): {@code ((w >>> 8) + 0.5) / 2^24}.</li>
 *   <li>Consecutive uniform pairs (u1, u2) become two normals by Box–Muller:
 *       {@code sqrt(-2 ln u1) * cos(2 pi u2)}, then {@code sqrt(-2 ln u1) * sin(2 pi u2)},
 *       computed with {@link StrictMath} in double precision, rounded to float.</li>
 * </ol>
 * Draws form one stream: how they are split into {@code fill} calls does not change the values.
 * The pipeline gives image {@code i} of a request the generator of seed {@code seed + i}, so an
 * image depends only on its own seed, not on its position in a batch.
 */
public final class PhiloxNoise implements GaussianNoise {

    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_PI = 2 * Math.PI;
    private static final double INV_2_24 = 1.0 / (1 << 24);

    private final int key0;
    private final int key1;
    private long counter;
    /** Normals of the current block not yet handed out: [4]. */
    private final float[] pending = new float[4];
    /** The current block's four words: [4]. */
    private final int[] block = new int[4];
    private int pendingIndex = 4;

    public PhiloxNoise(long seed) {
        this.key0 = (int) seed;
        this.key1 = (int) (seed >>> 32);
    }

    @Override
    public void fill(float[] out, int offset, int length) {
        int end = offset + length;
        for (int i = offset; i < end; i++) {
            if (pendingIndex == 4) {
                nextBlock();
            }
            out[i] = pending[pendingIndex++];
        }
    }

    /** One Philox block → four normals. */
    private void nextBlock() {
        philox((int) counter, (int) (counter >>> 32), 0, 0, key0, key1, block);
        counter++;
        boxMuller(block[0], block[1], 0);
        boxMuller(block[2], block[3], 2);
        pendingIndex = 0;
    }

    /** Philox4x32-10 of one 128-bit counter under a 64-bit key; writes the four words to {@code out}. */
    static void philox(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    private void boxMuller(int w1, int w2, int at) {
        double u1 = ((w1 >>> 8) + 0.5) * INV_2_24;
        double u2 = ((w2 >>> 8) + 0.5) * INV_2_24;
        double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
        double theta = TWO_PI * u2;
        pending[at] = (float) (r * StrictMath.cos(theta));
        pending[at + 1] = (float) (r * StrictMath.sin(theta));
    }
}
