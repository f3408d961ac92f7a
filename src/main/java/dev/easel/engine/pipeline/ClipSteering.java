package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.ClipGuidanceModel;
import java.util.BitSet;
import java.util.Optional;

/**
 * The CLIP modes that act inside the denoising loop, for one job: gradient guidance adjusts each
 * step's prediction, verifier search takes the chosen steps itself. Either, both or neither.
 */
final class ClipSteering implements DenoisingLoop.Steering, AutoCloseable {

    /**
     * @param first index of the run's first timestep
     * @param count timesteps in the schedule
     */
    record Job(StableDiffusionModel model, GenerationRequest request, DiffusionPipeline.JobShape shape, int first,
               int count) {
    }

    private final Optional<GradientGuidance> gradient;
    private final Optional<VerifierSearch> verifier;

    private ClipSteering(Optional<GradientGuidance> gradient, Optional<VerifierSearch> verifier) {
        this.gradient = gradient;
        this.verifier = verifier;
    }

    static ClipSteering create(Job job, Optional<ClipObjective> objective, ClipLimits limits, StageTimings.Clock clock) {
        ClipOptions options = job.request().clip();
        if (objective.isEmpty()) {
            return new ClipSteering(Optional.empty(), Optional.empty());
        }
        // Checked before anything is allocated, so a bad request leaves nothing open.
        Optional<BitSet> points = options.verifier().map(v -> points(v, job, limits));
        if (options.guidanceScale().isPresent()) {
            checkLatentSize(job.model().clipGuidance("clipGuidanceScale"), job);
        }
        Optional<GradientGuidance> gradient = options.guidanceScale().isEmpty() ? Optional.empty()
                : Optional.of(new GradientGuidance(job.model().clipGuidance("clipGuidanceScale"),
                        (float) options.guidanceScale().getAsDouble(), objective.get().promptEmbedding(),
                        job.model().geometry(), job.shape(), clock));
        try { // the verifier's model or buffers can fail to open: the gradient's tensors are not left open
            Optional<VerifierSearch> verifier = options.verifier().map(v -> new VerifierSearch(job.model(),
                    v.branches(), points.orElseThrow(), objective.get(), new VerifierSearch.Geometry(job.shape(),
                            job.request().width(), job.request().height(), job.request().seed()), clock));
            return new ClipSteering(gradient, verifier);
        } catch (RuntimeException | Error e) {
            gradient.ifPresent(GradientGuidance::close);
            throw e;
        }
    }

    /** A gradient graph built for one picture size (the demo model's: 64×64) takes only that size. */
    static void checkLatentSize(ClipGuidanceModel guidance, Job job) {
        int[] fixed = guidance.latentShape();
        DiffusionPipeline.JobShape shape = job.shape();
        if ((fixed[1] > 0 && fixed[1] != shape.height()) || (fixed[2] > 0 && fixed[2] != shape.width())) {
            int factor = job.model().geometry().vaeScaleFactor();
            throw new InvalidRequestException("clipGuidanceScale", "the model's " + StableDiffusionModel.CLIP_GUIDANCE
                    + " takes " + side(fixed[2], factor) + "x" + side(fixed[1], factor) + " pictures only, but this"
                    + " request is " + job.request().width() + "x" + job.request().height());
        }
    }

    private static String side(int latent, int factor) {
        return latent > 0 ? String.valueOf(latent * factor) : "any";
    }

    /**
     * The loop indices after which the verifier branches, checked against the run and the budget.
     * Steps are the caller's: a run of {@code steps × strength} steps, as the job's intake counts
     * them. PNDM's schedule holds more timesteps than steps (its warm-up repeats one, or runs
     * Runge–Kutta over the first three), all at its start, so the caller's step s ends at loop
     * index first + extra + s − 1.
     */
    static BitSet points(ClipOptions.Verifier verifier, Job job, ClipLimits limits) {
        int run = job.count() - job.first();
        int extra = Math.max(0, job.count() - job.request().steps());
        int total = Math.max(1, run - extra);
        int offset = job.first() + run - total;
        BitSet points = new BitSet();
        if (verifier.steps() instanceof ClipOptions.Every every) {
            for (int s = every.n(); s < total; s += every.n()) {
                points.set(offset + s - 1);
            }
        } else {
            for (int s : ((ClipOptions.At) verifier.steps()).steps()) {
                if (s < 1 || s >= total) {
                    throw new InvalidRequestException("verifier.atSteps", "step " + s + " is outside this run's 1 … "
                            + (total - 1) + " (it takes " + total + " steps; the last cannot branch)");
                }
                points.set(offset + s - 1);
            }
        }
        if (points.isEmpty()) {
            throw new InvalidRequestException("verifier", "selects no step of this run's " + total
                    + " steps to branch after");
        }
        long evaluations = (long) points.cardinality() * verifier.branches();
        if (evaluations > limits.maxVerifierEvaluations()) {
            throw new InvalidRequestException("verifier", points.cardinality() + " branch points × "
                    + verifier.branches() + " branches = " + evaluations + " candidate evaluations per image exceeds the"
                    + " limit of " + limits.maxVerifierEvaluations());
        }
        return points;
    }

    @Override
    public void adjust(DenoisingLoop loop, int i, float[] latents, float[] guided) {
        if (gradient.isPresent()) {
            gradient.get().adjust(loop, i, latents, guided);
        }
    }

    @Override
    public boolean branch(DenoisingLoop loop, int i, float[] latents, float[] guided) {
        return verifier.isPresent() && verifier.get().branch(loop, i, latents, guided);
    }

    @Override
    public void close() {
        gradient.ifPresent(GradientGuidance::close);
        verifier.ifPresent(VerifierSearch::close);
    }
}
