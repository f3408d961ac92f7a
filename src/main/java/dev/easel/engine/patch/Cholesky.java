package dev.easel.engine.patch;

/**
 * Cholesky factorisation A = L·Lᵀ of a symmetric positive definite n×n matrix in float64, and
 * solves against it. Small and plain on purpose: the only matrix it sees is the edit's
 * λI + Σ c cᵀ (n = the text width, 768–2048), factored once per edit.
 */
final class Cholesky {

    private final int n;
    /** L, row-major n×n; the upper triangle is unused. */
    private final double[] l;

    private Cholesky(int n, double[] l) {
        this.n = n;
        this.l = l;
    }

    /** Factors {@code a} (row-major n×n, symmetric; not modified). */
    static Cholesky factor(double[] a, int n) {
        if (a.length != n * n) {
            throw new IllegalArgumentException("expected an " + n + "x" + n + " matrix, got " + a.length + " values");
        }
        double[] l = a.clone();
        for (int j = 0; j < n; j++) {
            int rj = j * n;
            double d = l[rj + j];
            for (int k = 0; k < j; k++) {
                d -= l[rj + k] * l[rj + k];
            }
            if (!(d > 0)) {
                // λ > 0 makes λI + Σ c cᵀ positive definite; only NaN/∞ embeddings or λ ≤ 0 get here.
                throw new IllegalArgumentException("the edit's matrix λI + Σ c cᵀ is not positive definite (pivot "
                        + d + " at " + j + "); λ must be > 0 and the embeddings finite");
            }
            double djj = Math.sqrt(d);
            l[rj + j] = djj;
            for (int i = j + 1; i < n; i++) {
                int ri = i * n;
                double s = l[ri + j];
                for (int k = 0; k < j; k++) {
                    s -= l[ri + k] * l[rj + k];
                }
                l[ri + j] = s / djj;
            }
        }
        return new Cholesky(n, l);
    }

    /** Solves A·x = b for one right-hand side, in place. */
    void solveInPlace(double[] b) {
        for (int i = 0; i < n; i++) { // L·y = b
            double s = b[i];
            int ri = i * n;
            for (int k = 0; k < i; k++) {
                s -= l[ri + k] * b[k];
            }
            b[i] = s / l[ri + i];
        }
        for (int i = n - 1; i >= 0; i--) { // Lᵀ·x = y
            double s = b[i];
            for (int k = i + 1; k < n; k++) {
                s -= l[k * n + i] * b[k];
            }
            b[i] = s / l[i * n + i];
        }
    }
}
