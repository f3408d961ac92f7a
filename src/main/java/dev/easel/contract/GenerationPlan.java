package dev.easel.contract;

import dev.easel.engine.pipeline.GenerationRequest;

/**
 * A job turned into an engine request, with the seed stated on its own: when the job left the seed
 * out the worker chose one, and it must report that seed so the client can reproduce the images.
 *
 * @param request    what the engine runs
 * @param seed       the seed of image 0 (image i uses seed + i); equals {@code request.seed()}
 * @param seedChosen true when the job had no seed and {@code seed} was drawn by the worker
 */
public record GenerationPlan(GenerationRequest request, long seed, boolean seedChosen) {
}
