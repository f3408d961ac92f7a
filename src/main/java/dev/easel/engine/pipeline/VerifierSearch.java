package dev.easel.engine.pipeline;

import dev.easel.engine.image.ClipImageProcessor;
import dev.easel.engine.noise.BatchNoise;
import dev.easel.engine.onnx.VaeDecoder;
import dev.easel.engine.scheduler.Scheduler;
import java.util.BitSet;

/**
 * Verifier-guided sampling: a search over the noise instead of brute best-of-N. After each chosen
 * step {@code i} it makes {@code branches} candidates for the next noise level {@code i + 1}:
 * <ol>
 *   <li>candidate 0 is the sampler's own step (so a branch point never does worse than the plain run
 *       as far as the verifier can tell);</li>
 *   <li>candidates 1 … b−1 re-noise the clean estimate x0(i) to level i + 1 with fresh noise
 *       ({@link Scheduler#addNoise}: the forward process, valid for every scheduler's sample space).</li>
 * </ol>
 * Each candidate is evaluated once at level i + 1 (UNet with guidance), its own clean estimate is
 * decoded by the VAE and scored by CLIP ({@link ClipObjective}); each image keeps its best
 * candidate, whose prediction then serves the next step, so a branch point costs b − 1 extra UNet
 * passes, b decodes and b CLIP embeddings per image.
 *
 * <p>Schedulers with history (PNDM's past noise estimates, DPM-Solver++'s previous x0) would mix
 * estimates of two different samples after a re-noised candidate is kept, so the scheduler is then
 * restarted as if the run began at step i + 1 (the start an img2img run has: lower-order steps until
 * its history refills). When every image keeps candidate 0 the scheduler goes on untouched. A
 * branch point whose next timestep is evaluated twice (PNDM's improved-Euler repeat after its first
 * step) is skipped: a restart there would step from the repeated timestep a second time.
 *
 * <p>Fresh noise comes from a stream of its own per image (seed + i, offset), so the job's other
 * noise is what it would be without the verifier.
 */
final class VerifierSearch implements DenoisingLoop.Steering, AutoCloseable {

    /** Separates the verifier's noise streams from the job's start noise (seeds seed + i). */
    static final long NOISE_STREAM = 0x5EED_C11BL;

    private final int branches;
    private final BitSet points;
    private final ClipObjective objective;
    private final float inverseScaling;
    private final int width;
    private final int height;
    private final BatchNoise fresh;
    private final VaeDecoder.DecoderRun decoder;
    private final StageTimings.Clock clock;
    /** [branches][n, C, h, w] candidate samples, their guided predictions and clean estimates */
    private final float[][] samples;
    private final float[][] predictions;
    private final float[] x0;
    private final float[] noise;
    private final float[] decoderInput;
    /** [3, H, W] decoded, and [n, 3, H, W] in [0, 1] for CLIP */
    private final float[] pixels;
    private final float[] unit;
    private final double[] best;
    private final int[] choice;

    /**
     * @param points loop indices after which to branch
     */
    VerifierSearch(StableDiffusionModel model, int branches, BitSet points, ClipObjective objective,
                   Geometry geometry, StageTimings.Clock clock) {
        DiffusionPipeline.JobShape shape = geometry.shape();
        this.branches = branches;
        this.points = points;
        this.objective = objective;
        this.inverseScaling = 1f / model.geometry().scalingFactor();
        this.width = geometry.width();
        this.height = geometry.height();
        this.fresh = BatchNoise.seeded(geometry.seed() ^ NOISE_STREAM, shape.images(), shape.perImage());
        this.clock = clock;
        this.samples = new float[branches][shape.latentSize()];
        this.predictions = new float[branches][shape.latentSize()];
        this.x0 = new float[shape.latentSize()];
        this.noise = new float[shape.latentSize()];
        this.decoderInput = new float[shape.latentSize()];
        this.pixels = new float[3 * width * height];
        this.unit = new float[shape.images() * 3 * width * height];
        this.best = new double[shape.images()];
        this.choice = new int[shape.images()];
        this.decoder = model.vaeDecoder().start(shape.channels(), shape.height(), shape.width(),
                model.geometry().vaeScaleFactor());
    }

    /** The job's image size, shape and seed. */
    record Geometry(DiffusionPipeline.JobShape shape, int width, int height, long seed) {
    }

    @Override
    public boolean branch(DenoisingLoop loop, int i, float[] latents, float[] guided) {
        double[] timesteps = loop.timesteps();
        if (!points.get(i) || i + 1 >= timesteps.length
                || (i + 2 < timesteps.length && timesteps[i + 1] == timesteps[i + 2])) {
            return false;
        }
        Scheduler scheduler = loop.scheduler();
        scheduler.predictOriginal(guided, i, latents, x0);
        System.arraycopy(latents, 0, samples[0], 0, latents.length);
        long t0 = System.nanoTime();
        scheduler.step(guided, i, samples[0], loop.noise());
        clock.scheduler += System.nanoTime() - t0;
        for (int k = 1; k < branches; k++) {
            fresh.fill(noise);
            scheduler.addNoise(x0, noise, i + 1, samples[k]);
        }
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        DiffusionPipeline.JobShape shape = loop.shape();
        for (int k = 0; k < branches; k++) {
            loop.predict(samples[k], i + 1, predictions[k]);
            scheduler.predictOriginal(predictions[k], i + 1, samples[k], x0);
            double[] scores = score(x0, shape);
            for (int j = 0; j < shape.images(); j++) {
                if (scores[j] > best[j]) {
                    best[j] = scores[j];
                    choice[j] = k;
                }
            }
        }
        boolean restart = false;
        int per = shape.perImage();
        for (int j = 0; j < shape.images(); j++) {
            System.arraycopy(samples[choice[j]], j * per, latents, j * per, per);
            System.arraycopy(predictions[choice[j]], j * per, guided, j * per, per);
            restart |= choice[j] != 0;
        }
        if (restart) {
            loop.restartScheduler();
        }
        return true;
    }

    /** Decodes each image's clean estimate and judges it. */
    private double[] score(float[] clean, DiffusionPipeline.JobShape shape) {
        for (int k = 0; k < clean.length; k++) {
            decoderInput[k] = clean[k] * inverseScaling;
        }
        int plane = 3 * width * height;
        for (int j = 0; j < shape.images(); j++) {
            long t0 = System.nanoTime();
            decoder.decode(decoderInput, j, pixels);
            clock.vaeDecode += System.nanoTime() - t0;
            ClipImageProcessor.decodedToUnit(pixels, 0, plane, unit, j * plane);
        }
        return objective.judge(unit, shape.images(), width, height).objective();
    }

    @Override
    public void close() {
        decoder.close();
    }
}
