package dev.easel.engine.pipeline;

import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * What a request asks of the CLIP model (docs/clip.md). Every mode reports each image's CLIP score.
 *
 * @param score            report each image's CLIP score even when no other mode is on
 * @param rerankCandidates best-of-N: generate this many candidates (seeds seed … seed + N − 1) and keep
 *                         the request's {@code numImages} with the highest score
 * @param verifier         verifier-guided sampling: branch, score predicted clean images, keep the best
 * @param guidanceScale    gradient CLIP guidance with this scale (needs the bundle's clip_guidance graph)
 * @param edit             directional edit: selection (rerank, verifier) maximises the image embedding's
 *                         move along target − source instead of similarity to the prompt; needs an image
 */
public record ClipOptions(boolean score, OptionalInt rerankCandidates, Optional<Verifier> verifier,
                          OptionalDouble guidanceScale, Optional<Edit> edit) {

    public static final ClipOptions NONE = new ClipOptions(false, OptionalInt.empty(), Optional.empty(),
            OptionalDouble.empty(), Optional.empty());

    /** Whether the request needs the CLIP model at all. */
    public boolean active() {
        return score || rerankCandidates.isPresent() || verifier.isPresent() || guidanceScale.isPresent()
                || edit.isPresent();
    }

    public ClipOptions withScore() {
        return new ClipOptions(true, rerankCandidates, verifier, guidanceScale, edit);
    }

    public ClipOptions withRerank(int candidates) {
        return new ClipOptions(score, OptionalInt.of(candidates), verifier, guidanceScale, edit);
    }

    public ClipOptions withVerifier(Verifier value) {
        return new ClipOptions(score, rerankCandidates, Optional.of(value), guidanceScale, edit);
    }

    public ClipOptions withGuidance(double scale) {
        return new ClipOptions(score, rerankCandidates, verifier, OptionalDouble.of(scale), edit);
    }

    public ClipOptions withEdit(Edit value) {
        return new ClipOptions(score, rerankCandidates, verifier, guidanceScale, Optional.of(value));
    }

    /**
     * Verifier-guided sampling.
     *
     * @param branches candidates per branch point (one of them the sampler's own step)
     * @param steps    after which denoising steps of the run to branch
     */
    public record Verifier(int branches, Steps steps) {
    }

    /** Branch points, as denoising step numbers of the run (1 = the first step the run takes). */
    public sealed interface Steps permits Every, At {
    }

    /** After every {@code n}-th step: n, 2n, … (never after the last step). */
    public record Every(int n) implements Steps {
    }

    /** After these steps (each 1 … steps of the run − 1). */
    public record At(List<Integer> steps) implements Steps {
        public At {
            steps = List.copyOf(steps);
        }
    }

    /** A directional (StyleGAN-NADA) edit: from what {@code source} describes to what {@code target} does. */
    public record Edit(String source, String target) {
    }
}
