package dev.easel.engine.pipeline;

import java.util.Optional;

/**
 * SDXL's size and crop conditioning (Podell et al. 2023, §2.2), passed to its UNet as
 * {@code time_ids}: the base takes (original height, original width, crop top, crop left, target
 * height, target width); the refiner (original size, crop, aesthetic score). Ignored by SD 1.x/2.x.
 *
 * @param originalSize           the size the model should believe the training image had; the output size when empty
 * @param cropTopLeft            where the training crop began; (0, 0) asks for a well-framed image
 * @param targetSize             the size aimed at; the output size when empty
 * @param aestheticScore         refiner: the score conditioning the prompt branch (diffusers' 6.0)
 * @param negativeAestheticScore refiner: the score conditioning the negative branch (diffusers' 2.5)
 */
public record MicroConditioning(Optional<Size> originalSize, Offset cropTopLeft, Optional<Size> targetSize,
                                double aestheticScore, double negativeAestheticScore) {

    /** diffusers' defaults. */
    public static final MicroConditioning DEFAULT = new MicroConditioning(Optional.empty(), new Offset(0, 0),
            Optional.empty(), 6.0, 2.5);

    /** A size in pixels. */
    public record Size(int width, int height) {
    }

    /** A crop's top-left corner in pixels. */
    public record Offset(int top, int left) {
    }

    public MicroConditioning withOriginalSize(Size size) {
        return new MicroConditioning(Optional.of(size), cropTopLeft, targetSize, aestheticScore, negativeAestheticScore);
    }

    public MicroConditioning withCropTopLeft(Offset offset) {
        return new MicroConditioning(originalSize, offset, targetSize, aestheticScore, negativeAestheticScore);
    }

    public MicroConditioning withTargetSize(Size size) {
        return new MicroConditioning(originalSize, cropTopLeft, Optional.of(size), aestheticScore, negativeAestheticScore);
    }

    public MicroConditioning withAestheticScores(double positive, double negative) {
        return new MicroConditioning(originalSize, cropTopLeft, targetSize, positive, negative);
    }

    /** For PNG metadata: e.g. {@code original 1024x768, crop 0,0, target output, aesthetic 6.0/2.5}. */
    public String describe() {
        return "original " + originalSize.map(size -> size.width() + "x" + size.height()).orElse("output")
                + ", crop " + cropTopLeft.top() + "," + cropTopLeft.left()
                + ", target " + targetSize.map(size -> size.width() + "x" + size.height()).orElse("output")
                + ", aesthetic " + aestheticScore + "/" + negativeAestheticScore;
    }

    /**
     * The time ids of one guidance branch, as diffusers' {@code _get_add_time_ids}.
     *
     * @param output     the output size (the default for the sizes)
     * @param aesthetic  5 values with the aesthetic score (refiner) instead of 6 with the target size
     * @param negative   the negative branch (its aesthetic score)
     */
    double[] timeIds(Size output, boolean aesthetic, boolean negative) {
        Size original = originalSize.orElse(output);
        if (aesthetic) {
            return new double[] {original.height(), original.width(), cropTopLeft.top(), cropTopLeft.left(),
                negative ? negativeAestheticScore : aestheticScore};
        }
        Size target = targetSize.orElse(output);
        return new double[] {original.height(), original.width(), cropTopLeft.top(), cropTopLeft.left(),
            target.height(), target.width()};
    }
}
