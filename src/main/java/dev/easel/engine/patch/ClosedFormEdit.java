package dev.easel.engine.patch;

import java.util.List;

/**
 * The closed-form edit of a linear projection used as an associative memory (Bau et al. 2020,
 * "Rewriting a Deep Generative Model"), as TIME (Orgad et al. 2023, "Editing Implicit Assumptions
 * in Text-to-Image Diffusion Models", arXiv 2303.08084, its closed-form solution) and UCE (Gandikota
 * et al. 2023, "Unified Concept Editing in Diffusion Models", arXiv 2308.14761, its closed form with
 * preservation terms; λ·W and λ·I added as in TIME and UCE's released code) apply it to the UNet's cross-attention key
 * and value projections:
 *
 * <pre>
 *   W' = (λ·W + Σᵢ vᵢ* cᵢᵀ + Σₚ W c_p c_pᵀ) · (λ·I + Σᵢ cᵢ cᵢᵀ + Σₚ c_p c_pᵀ)⁻¹,   vᵢ* = W·cᵢ*
 * </pre>
 *
 * with cᵢ the edited (source) token embeddings, cᵢ* what they should now act as (the target's, or
 * for an erasure the anchor's), and c_p preserved embeddings. W is the math's [out, in] matrix.
 *
 * <p>How it is computed: with A = λI + Σ cᵢcᵢᵀ + Σ c_p c_pᵀ, the left factor is W·A + W·Σ (cᵢ* − cᵢ)cᵢᵀ,
 * so W' = W + W·Dᵀ·U·A⁻¹ where U's rows are the cᵢ and D's the cᵢ* − cᵢ. In the layout an ONNX
 * MatMul stores (x·S with S = Wᵀ, [in, out]) that is
 *
 * <pre>
 *   S' = S + K·(D·S),   K = A⁻¹·Uᵀ  (in × m)
 * </pre>
 *
 * A depends only on the embeddings, so it is factored (Cholesky, float64) once per edit and K
 * solved once; each projection then costs two thin products, O(m·in·out), instead of a solve with
 * {@code out} right-hand sides. An edit whose sources equal its targets has D = 0 and leaves every
 * weight exactly as it was. Not thread-safe to build; immutable once built.
 */
public final class ClosedFormEdit {

    private final int width;
    private final int rows;
    /** K = A⁻¹Uᵀ, row-major [width, rows]. */
    private final double[] k;
    /** D = targets − sources, row-major [rows, width]. */
    private final double[] d;

    private ClosedFormEdit(int width, int rows, double[] k, double[] d) {
        this.width = width;
        this.rows = rows;
        this.k = k;
        this.d = d;
    }

    /**
     * What to solve for.
     *
     * @param width     the text width (the projections' input size)
     * @param sources   edited embeddings cᵢ, each of {@code width} values
     * @param targets   cᵢ*, paired with {@code sources} row by row
     * @param preserved c_p, whose projections are kept
     * @param lambda    λ > 0: how strongly W itself is kept (TIME's default 0.1)
     */
    public record Problem(int width, List<double[]> sources, List<double[]> targets, List<double[]> preserved,
                          double lambda) {

        public Problem {
            sources = List.copyOf(sources);
            targets = List.copyOf(targets);
            preserved = List.copyOf(preserved);
            if (sources.size() != targets.size()) {
                throw new IllegalArgumentException(sources.size() + " source rows but " + targets.size() + " targets");
            }
            if (!(lambda > 0) || Double.isInfinite(lambda)) {
                throw new IllegalArgumentException("λ must be a finite number > 0, got " + lambda);
            }
        }
    }

    /** Factors A and solves K; see the class comment. */
    public static ClosedFormEdit solve(Problem p) {
        int n = p.width();
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            a[i * n + i] = p.lambda();
        }
        for (double[] c : p.sources()) {
            addOuter(a, check(c, n), n);
        }
        for (double[] c : p.preserved()) {
            addOuter(a, check(c, n), n);
        }
        Cholesky chol = Cholesky.factor(a, n);
        int m = p.sources().size();
        double[] k = new double[n * m];
        double[] d = new double[m * n];
        double[] column = new double[n];
        for (int r = 0; r < m; r++) {
            double[] c = p.sources().get(r);
            double[] t = check(p.targets().get(r), n);
            System.arraycopy(c, 0, column, 0, n);
            chol.solveInPlace(column); // A⁻¹cᵢ, column r of K
            for (int i = 0; i < n; i++) {
                k[i * m + r] = column[i];
                d[r * n + i] = t[i] - c[i];
            }
        }
        return new ClosedFormEdit(n, m, k, d);
    }

    /** The text width the edit was solved for. */
    public int width() {
        return width;
    }

    /**
     * The edited projection in MatMul layout: {@code stored} is S = Wᵀ, row-major [width, out];
     * returns S' = S + K·(D·S) in the same layout (a new array).
     */
    public double[] apply(double[] stored, int out) {
        if (stored.length != width * out) {
            throw new IllegalArgumentException("expected a [" + width + ", " + out + "] weight, got " + stored.length
                    + " values");
        }
        double[] ds = new double[rows * out]; // D·S [rows, out]
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < width; i++) {
                double dri = d[r * width + i];
                if (dri != 0) {
                    int si = i * out;
                    int dr = r * out;
                    for (int o = 0; o < out; o++) {
                        ds[dr + o] += dri * stored[si + o];
                    }
                }
            }
        }
        double[] result = stored.clone();
        if (isZero(ds)) {
            return result; // an identity edit: keep every weight bit for bit (even the sign of a zero)
        }
        for (int i = 0; i < width; i++) {
            int ri = i * out;
            for (int r = 0; r < rows; r++) {
                double kir = k[i * rows + r];
                int dr = r * out;
                for (int o = 0; o < out; o++) {
                    result[ri + o] += kir * ds[dr + o];
                }
            }
        }
        return result;
    }

    private static boolean isZero(double[] values) {
        for (double v : values) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    private static void addOuter(double[] a, double[] c, int n) {
        for (int i = 0; i < n; i++) {
            double ci = c[i];
            int ri = i * n;
            for (int j = 0; j < n; j++) {
                a[ri + j] += ci * c[j];
            }
        }
    }

    private static double[] check(double[] c, int n) {
        if (c.length != n) {
            throw new IllegalArgumentException("an embedding has " + c.length + " values; the projections take " + n);
        }
        for (double v : c) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("an embedding has a value that is not finite: " + v);
            }
        }
        return c;
    }
}
