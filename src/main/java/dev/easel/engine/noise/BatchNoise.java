package dev.easel.engine.noise;

/**
 * Noise for a batch of images, each drawn from its own generator: segment {@code i} of every
 * fill (length {@code perImage}) comes from {@code generators[i]}. This keeps image {@code i}'s
 * result a function of its own seed alone, whatever the batch size.
 */
public final class BatchNoise implements GaussianNoise {

    private final GaussianNoise[] generators;
    private final int perImage;

    /**
     * @param generators one generator per image
     * @param perImage   elements per image in every array passed to {@link #fill}
     */
    public BatchNoise(GaussianNoise[] generators, int perImage) {
        this.generators = generators.clone();
        this.perImage = perImage;
    }

    /** Image {@code i} gets {@code new PhiloxNoise(seed + i)}. */
    public static BatchNoise seeded(long seed, int images, int perImage) {
        GaussianNoise[] generators = new GaussianNoise[images];
        for (int i = 0; i < images; i++) {
            generators[i] = new PhiloxNoise(seed + i);
        }
        return new BatchNoise(generators, perImage);
    }

    @Override
    public void fill(float[] out, int offset, int length) {
        if (offset != 0 || length != generators.length * perImage) {
            throw new IllegalArgumentException("batch noise fills whole batches of "
                    + generators.length + " x " + perImage + " values, got offset " + offset
                    + " length " + length);
        }
        for (int i = 0; i < generators.length; i++) {
            generators[i].fill(out, i * perImage, perImage);
        }
    }
}
