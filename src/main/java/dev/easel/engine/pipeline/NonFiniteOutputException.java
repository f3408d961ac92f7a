package dev.easel.engine.pipeline;

/**
 * A model produced NaN or infinite values: an overflow in the UNet or VAE (a float16 export past its
 * range, an extreme setting). Stored, they would be a black picture answered as a success; the job
 * fails instead, naming where.
 */
public final class NonFiniteOutputException extends RuntimeException {

    NonFiniteOutputException(String message) {
        super(message);
    }

    /** Throws when any of {@code values} is NaN or infinite; {@code what} names them in the message. */
    static void check(float[] values, String what) {
        int bad = 0;
        int first = -1;
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            throw new NonFiniteOutputException(what + " hold " + bad + " of " + values.length
                    + " values that are NaN or infinite (the first at " + first + ", " + values[first]
                    + "): the model overflowed; nothing was stored");
        }
    }
}
