package dev.easel.engine.pipeline;

import dev.easel.engine.bundle.ClipPreprocessorConfig.Resample;
import dev.easel.engine.image.ImageTensors;
import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.image.Resampler;
import dev.easel.engine.onnx.VaeDecoder;
import java.util.Optional;

/**
 * One job's previews: every {@link PreviewOptions#every()} steps, the job's images as their
 * clean estimate x0 shows them, drawn as the options ask (several images side by side in a grid,
 * row by row), encoded as a small PNG and handed to the listener's
 * {@link ProgressListener#onPreview}. Reads x0 only and owns every buffer it writes, so the job's
 * result is the same with previews or without. Not thread-safe: one per job.
 */
final class Previewer implements AutoCloseable {

    /** No previews: {@link #due} is never true. */
    static final Previewer NONE = new Previewer(null, null, null);

    /** What previews are drawn with: the model's latent → RGB factors, or its VAE decoder. */
    interface Drawing {
        LatentRgb latentRgb();

        /** Opens a decoder for the job's latents (one image [C, h, w], unscaled) → pixels [3, h·f, w·f]. */
        Decoder decoder();
    }

    /** One job's VAE decoder buffers. */
    interface Decoder extends AutoCloseable {
        void decode(float[] unscaled, float[] pixels);

        @Override
        void close();
    }

    /**
     * Where the previews go and what they show.
     *
     * @param images       images of the job, all shown
     * @param latentHeight latent rows of one image
     * @param total        steps of the whole run, as the listener counts them
     */
    record Target(ModelGeometry geometry, int images, int latentHeight, int latentWidth, int total,
                  ProgressListener sink) {
    }

    private final PreviewOptions options;
    private final Drawing drawing;
    private final Target target;
    /** Steps done before this stage's loop (a refiner's stage follows the base's). */
    private int offset;
    private PngEncoder png;
    private Decoder decoder;
    /** The job's preview buffers, made with its first preview: their shapes are the job's. */
    private Canvas canvas;

    Previewer(PreviewOptions options, Drawing drawing, Target target) {
        this.options = options;
        this.drawing = drawing;
        this.target = target;
    }

    /** The job's previews, drawn with {@code model}; {@link #NONE} when the request asks for none. */
    static Previewer create(Optional<PreviewOptions> options, StableDiffusionModel model, Target target) {
        if (options.isEmpty()) {
            return NONE;
        }
        ModelGeometry g = model.geometry();
        Drawing drawing = new Drawing() {
            @Override
            public LatentRgb latentRgb() {
                return model.latentRgb();
            }

            @Override
            public Decoder decoder() {
                VaeDecoder.DecoderRun run = model.vaeDecoder().start(g.latentChannels(), target.latentHeight(),
                        target.latentWidth(), g.vaeScaleFactor());
                return new Decoder() {
                    @Override
                    public void decode(float[] unscaled, float[] pixels) {
                        run.decode(unscaled, 0, pixels);
                    }

                    @Override
                    public void close() {
                        run.close();
                    }
                };
            }
        };
        return new Previewer(options.get(), drawing, target);
    }

    /** Counts the next loop's steps after {@code steps} done before it (an SDXL refiner's stage). */
    void continueAfter(int steps) {
        this.offset = steps;
    }

    /** Whether a preview follows step {@code step} (1-based) of the current loop. */
    boolean due(int step) {
        return options != null && options.due(offset + step, target.total());
    }

    /**
     * Draws and hands over the preview of step {@code step} of the current loop.
     *
     * @param x0 [n, C, h, w] the clean estimate at that step (scaled latents); every image is shown
     */
    void show(float[] x0, int step) {
        if (canvas == null) {
            canvas = canvas();
        }
        Canvas c = canvas;
        for (int image = 0; image < target.images(); image++) {
            draw(x0, image, c.tile());
            if (c.cell() != c.tile()) {
                // Nearest when enlarging keeps the latent pixels crisp; bilinear averages when shrinking.
                Resample filter = c.picture().cellWidth() > c.tileWidth() ? Resample.NEAREST : Resample.BILINEAR;
                Resampler.resize(c.tile(), 0, c.tileWidth(), c.tileHeight(), 3, filter, c.cell(), 0,
                        c.picture().cellWidth(), c.picture().cellHeight());
            }
            if (c.pixels() != c.cell()) {
                c.picture().place(c.cell(), image, c.pixels());
            }
        }
        if (png == null) {
            png = new PngEncoder();
        }
        int width = c.picture().width();
        int height = c.picture().height();
        byte[] bytes = png.encode(ImageTensors.toImage(c.pixels(), 0, width, height));
        target.sink().onPreview(new Preview(offset + step, target.total(), options.mode(), width, height, bytes));
    }

    /**
     * One job's preview buffers. Each image is fitted to its cell before it is placed, so a job of
     * many large images never holds more than one of them at full size.
     *
     * @param tile     [3, tileHeight, tileWidth] one image as drawn (latent size, or decoded)
     * @param cell     [3, cell height, cell width] of {@code picture}: the tile fitted (the tile itself when it fits)
     * @param pixels   [3, height, width] of {@code picture}: every image in its cell (the cell itself for
     *                 one image); cells without an image stay mid grey (0 in [-1, 1])
     * @param unscaled [C, h, w] one image's latents for the decoder (decode mode; else empty)
     */
    private record Canvas(int tileWidth, int tileHeight, float[] tile, Grid picture, float[] cell, float[] pixels,
                          float[] unscaled) {
    }

    private Canvas canvas() {
        boolean decode = options.mode() == PreviewMode.DECODE;
        int scale = decode ? target.geometry().vaeScaleFactor() : 1;
        int tileWidth = target.latentWidth() * scale;
        int tileHeight = target.latentHeight() * scale;
        Grid full = Grid.of(target.images(), tileWidth, tileHeight);
        int[] size = fit(full.width(), full.height());
        Grid picture = new Grid(full.columns(), full.rows(), Math.max(1, size[0] / full.columns()),
                Math.max(1, size[1] / full.rows()));
        float[] tile = new float[3 * tileHeight * tileWidth];
        float[] cell = picture.cellWidth() == tileWidth && picture.cellHeight() == tileHeight ? tile
                : new float[3 * picture.cellHeight() * picture.cellWidth()];
        float[] pixels = target.images() == 1 ? cell : new float[3 * picture.height() * picture.width()];
        float[] unscaled = new float[decode ? target.geometry().latentChannels() * target.latentHeight()
                * target.latentWidth() : 0];
        return new Canvas(tileWidth, tileHeight, tile, picture, cell, pixels, unscaled);
    }

    /** Where a job's pictures go in its preview: ⌈√n⌉ columns, filled row by row. */
    record Grid(int columns, int rows, int cellWidth, int cellHeight) {

        static Grid of(int images, int cellWidth, int cellHeight) {
            int columns = (int) Math.ceil(Math.sqrt(images));
            return new Grid(columns, (images + columns - 1) / columns, cellWidth, cellHeight);
        }

        int width() {
            return columns * cellWidth;
        }

        int height() {
            return rows * cellHeight;
        }

        /** Copies picture {@code index} [3, cellHeight, cellWidth] into its cell of {@code grid} [3, height, width]. */
        void place(float[] tile, int index, float[] grid) {
            int top = index / columns * cellHeight;
            int left = index % columns * cellWidth;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < cellHeight; y++) {
                    int to = (c * height() + top + y) * width() + left;
                    System.arraycopy(tile, (c * cellHeight + y) * cellWidth, grid, to, cellWidth);
                }
            }
        }
    }

    /** Image {@code image} of x0 as RGB [3, h, w] (h, w: latent size, times the VAE's factor when decoding). */
    private void draw(float[] x0, int image, float[] rgb) {
        ModelGeometry g = target.geometry();
        int h = target.latentHeight();
        int w = target.latentWidth();
        if (options.mode() == PreviewMode.DECODE) {
            if (decoder == null) {
                decoder = drawing.decoder();
            }
            float[] unscaled = canvas.unscaled();
            int perImage = unscaled.length;
            float inverse = 1f / g.scalingFactor();
            for (int i = 0; i < perImage; i++) {
                unscaled[i] = x0[image * perImage + i] * inverse;
            }
            decoder.decode(unscaled, rgb);
        } else {
            drawing.latentRgb().apply(x0, image, h, w, rgb);
        }
    }

    /**
     * The preview's size: scaled down to fit {@code maxSide}; an approximate preview at latent size
     * is enlarged by a whole factor, at most the VAE's, so it reads at a glance.
     */
    private int[] fit(int width, int height) {
        int max = options.maxSide();
        int longest = Math.max(width, height);
        if (longest > max) {
            return new int[]{Math.max(1, Math.round((float) width * max / longest)),
                    Math.max(1, Math.round((float) height * max / longest))};
        }
        int k = Math.min(max / longest, options.mode() == PreviewMode.APPROX ? target.geometry().vaeScaleFactor() : 1);
        return new int[]{width * Math.max(1, k), height * Math.max(1, k)};
    }

    @Override
    public void close() {
        if (decoder != null) {
            decoder.close();
            decoder = null;
        }
    }
}
