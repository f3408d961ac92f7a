package dev.easel.engine.pipeline;

/**
 * What one request may ask of CLIP: each mode multiplies the work of a plain run.
 *
 * @param maxRerankCandidates    most candidates best-of-N reranking may generate (they are batched
 *                               through the UNet together)
 * @param maxVerifierEvaluations most candidate evaluations the verifier may make per image:
 *                               branches × branch points (each one UNet pass, one VAE decode, one
 *                               CLIP image embedding)
 * @param maxGuidanceScale       largest {@code clipGuidanceScale}
 */
public record ClipLimits(int maxRerankCandidates, int maxVerifierEvaluations, float maxGuidanceScale) {

    public ClipLimits {
        if (maxRerankCandidates < 1 || maxVerifierEvaluations < 1 || !(maxGuidanceScale >= 0)) {
            throw new IllegalArgumentException("CLIP limits out of range: " + maxRerankCandidates + ", "
                    + maxVerifierEvaluations + ", " + maxGuidanceScale);
        }
    }

    public static ClipLimits defaults() {
        return new ClipLimits(16, 64, 1000f);
    }
}
