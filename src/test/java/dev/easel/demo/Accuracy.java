package dev.easel.demo;

import java.util.Locale;

/**
 * Counts of what the checker found right over a set of pictures. For one object: color, shape,
 * position (and size, background). For two: per object color and shape (matched to the prompt's
 * objects by color), the relation when both colors were found, and all of it right at once.
 */
public final class Accuracy {

    int images;
    int objects;
    int color;
    int shape;
    int shapeTemplate;
    int exactlyOne;
    int asAsked;
    int position;
    int size;
    int background;
    int relation;
    int allCorrect;
    int clipScored;
    double clipScoreSum;

    /** Adds one picture's CLIP score (when the run reported one). */
    void addClipScore(double score) {
        clipScored++;
        clipScoreSum += score;
    }

    /** Mean CLIP score of the pictures that have one; NaN when none has. */
    public double meanClipScore() {
        return clipScored == 0 ? Double.NaN : clipScoreSum / clipScored;
    }

    /** Fraction of objects (one per picture for single-object prompts) with the right color. */
    public double color() {
        return ratio(color, objects);
    }

    public double shape() {
        return ratio(shape, objects);
    }

    /** The same by the checker's template rule ({@link SceneChecker#templateShape}). */
    public double shapeTemplate() {
        return ratio(shapeTemplate, objects);
    }

    /** Fraction of pictures with exactly as many objects as the prompt asks for. */
    public double exactCount() {
        return ratio(exactlyOne, images);
    }

    /**
     * Fraction of pictures right in everything the prompt names (size and background too) with
     * exactly as many objects as it asks for.
     */
    public double asAsked() {
        return ratio(asAsked, images);
    }

    /** Single object: the right position; two objects: the right relation. */
    public double position() {
        return ratio(position, images);
    }

    public double size() {
        return ratio(size, images);
    }

    public double background() {
        return ratio(background, images);
    }

    public double allCorrect() {
        return ratio(allCorrect, images);
    }

    public int images() {
        return images;
    }

    private static double ratio(int n, int of) {
        return of == 0 ? 0 : n / (double) of;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d images: color %.1f%%, shape %.1f%% (template %.1f%%), position %.1f%%,"
                        + " size %.1f%%, background %.1f%%, all %.1f%%, count %.1f%%", images, 100 * color(), 100 * shape(),
                100 * shapeTemplate(), 100 * position(),
                100 * size(), 100 * background(), 100 * allCorrect(), 100 * exactCount());
    }
}
