package dev.easel.demo;

import dev.easel.engine.image.RgbImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Finds the objects in a picture of the demo world without any help from the model or its Python
 * code: the background is the median color of the border; object pixels are those far from it,
 * split into 4-connected components; each large component is one object. Its color is the
 * palette color nearest to its interior's mean; its shape comes from geometric descriptors of the
 * region (pixels nearer the object's color than the background's): how the width grows from top
 * to bottom (an upright triangle widens, circles and squares do not) and how much of its
 * bounding box's corners it fills (square ≈ 1, circle ≈ 0.4); its position from the center of its bounding box (for an
 * upright triangle the area centroid lies lower), by thirds of the picture.
 */
public final class SceneChecker {

    public enum Shape { CIRCLE, SQUARE, TRIANGLE }

    /**
     * One found object; (cx, cy) is the center of its bounding box, in pixels. {@code shape} is the
     * corner rule's reading, {@code templateShape} the template rule's ({@link #templateShape}).
     * {@code color} is the nearest palette color; {@code colorWord} the nearest of the checker's
     * {@link NamedColors} (the palette's word unless the checker knows extra colors).
     */
    public record Found(Palette color, Shape shape, Shape templateShape, String size, String position, double cx,
                        double cy, int area, int boxWidth, int boxHeight, String colorWord) {
    }

    /**
     * The background's palette color and the objects, largest first (at most the number asked
     * for); {@code count} is how many objects the picture holds in all; {@code backgroundWord} as
     * {@link Found#colorWord}.
     */
    public record Scene(Palette background, List<Found> objects, int count, String backgroundWord) {
    }

    private final NamedColors names;

    /** A checker of the world's 8 colors. */
    public SceneChecker() {
        this(NamedColors.palette());
    }

    /**
     * A checker that also names colors by {@code names} ({@link Found#colorWord},
     * {@link Scene#backgroundWord}); everything else it reads does not depend on them.
     */
    public SceneChecker(NamedColors names) {
        this.names = names;
    }

    /** A pixel is an object candidate when its RGB distance from the background exceeds this. */
    private static final double OBJECT_DISTANCE = 60;
    /** Components smaller than this (pixels) are noise, not objects. */
    private static final int MIN_AREA = 20;
    /** Bounding-box side (pixels of a 64-pixel picture) between "small" (14) and "big" (26). */
    private static final double SIZE_SPLIT = 20.0 / 64;
    /** Side of a corner patch of the bounding box, as a fraction of the box's side. */
    private static final double CORNER = 0.25;
    /**
     * Corner fill between a circle's and a square's: anti-aliased circles of the world's sizes (14–26
     * px) fill 0.37–0.42 of the corner patches, squares 1.0; the threshold is their midpoint.
     */
    private static final double SQUARE_CORNER_FILL = 0.7;

    /** Finds up to {@code maxObjects} objects, largest first. */
    public Scene check(RgbImage image, int maxObjects) {
        int w = image.width();
        int h = image.height();
        double[] bg = borderMedian(image);
        boolean[] candidate = new boolean[w * h];
        for (int i = 0; i < w * h; i++) {
            candidate[i] = distance(image, i, bg) > OBJECT_DISTANCE;
        }
        List<int[]> components = components(candidate, w, h);
        components.sort(Comparator.comparingInt((int[] c) -> c.length).reversed());
        List<Found> found = new ArrayList<>();
        int count = 0;
        for (int[] component : components) {
            if (component.length < MIN_AREA) {
                break;
            }
            if (found.size() < maxObjects) {
                found.add(describe(image, component, bg));
            }
            count++;
        }
        return new Scene(Palette.nearest(bg[0], bg[1], bg[2]), List.copyOf(found), count, names.nearest(bg[0], bg[1], bg[2]));
    }

    private Found describe(RgbImage image, int[] component, double[] bg) {
        int w = image.width();
        int h = image.height();
        double[] color = interiorMean(image, component, w, h);
        // Refine the region inside the component's box (plus a margin): pixels nearer the
        // object's color than the background's, so anti-aliased edges count by their majority.
        int x0 = w;
        int y0 = h;
        int x1 = -1;
        int y1 = -1;
        for (int i : component) {
            x0 = Math.min(x0, i % w);
            x1 = Math.max(x1, i % w);
            y0 = Math.min(y0, i / w);
            y1 = Math.max(y1, i / w);
        }
        x0 = Math.max(0, x0 - 1);
        y0 = Math.max(0, y0 - 1);
        x1 = Math.min(w - 1, x1 + 1);
        y1 = Math.min(h - 1, y1 + 1);
        boolean[] inside = new boolean[w * h];
        for (int i : component) {
            inside[i] = true;
        }
        int[] rowWidth = new int[h];
        boolean[] region = new boolean[w * h];
        int area = 0;
        int bx0 = w;
        int by0 = h;
        int bx1 = -1;
        int by1 = -1;
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                int i = y * w + x;
                if (!nearComponent(inside, x, y, w, h)) {
                    continue;
                }
                if (distance(image, i, color) < distance(image, i, bg)) {
                    area++;
                    rowWidth[y]++;
                    region[i] = true;
                    bx0 = Math.min(bx0, x);
                    bx1 = Math.max(bx1, x);
                    by0 = Math.min(by0, y);
                    by1 = Math.max(by1, y);
                }
            }
        }
        if (area == 0) { // the refinement dropped everything: fall back to the raw component
            return new Found(Palette.nearest(color[0], color[1], color[2]), Shape.CIRCLE, Shape.CIRCLE, "small", "center",
                    w / 2.0, h / 2.0, 0, 0, 0, names.nearest(color[0], color[1], color[2]));
        }
        int boxW = bx1 - bx0 + 1;
        int boxH = by1 - by0 + 1;
        // The world places an object by its bounding box; an upright triangle's centroid sits a
        // sixth of its height below that box's center, so position uses the box's center.
        double cx = bx0 + boxW / 2.0;
        double cy = by0 + boxH / 2.0;
        Box box = new Box(bx0, by0, boxW, boxH);
        Shape shape = shape(rowWidth, by0, boxH, cornerFill(region, w, box));
        String size = Math.max(boxW / (double) w, boxH / (double) h) > SIZE_SPLIT ? "big" : "small";
        return new Found(Palette.nearest(color[0], color[1], color[2]), shape, templateShape(region, w, box), size,
                position(cx / w, cy / h),
                cx, cy, area, boxW, boxH, names.nearest(color[0], color[1], color[2]));
    }

    /** Whether (x, y) is in the component or 4-adjacent to it: the region grows by at most a pixel. */
    private static boolean nearComponent(boolean[] inside, int x, int y, int w, int h) {
        int i = y * w + x;
        return inside[i] || (x > 0 && inside[i - 1]) || (x < w - 1 && inside[i + 1])
                || (y > 0 && inside[i - w]) || (y < h - 1 && inside[i + w]);
    }

    /**
     * Upright triangle: rows near the top are much narrower than rows near the bottom. Otherwise
     * how much of the bounding box's corners the region fills separates squares from circles. Not
     * the fill of the whole box (square 1, circle π/4): a square whose sides bow in a little, with
     * its corners still sharp, fills 0.80–0.89 of its box and reads as a circle by that measure, while
     * its corners stay nearly full. On rounded squares the two measures draw the line close
     * together: at a corner radius of about 0.33 of the side (box fill: 0.36).
     */
    static Shape shape(int[] rowWidth, int top, int boxHeight, double cornerFill) {
        double upper = meanWidth(rowWidth, top + boxHeight * 0.15, top + boxHeight * 0.35);
        double lower = meanWidth(rowWidth, top + boxHeight * 0.65, top + boxHeight * 0.85);
        if (lower > 0 && upper / lower < 0.6) {
            return Shape.TRIANGLE;
        }
        return cornerFill > SQUARE_CORNER_FILL ? Shape.SQUARE : Shape.CIRCLE;
    }

    /** A bounding box in pixels: top-left corner and size. */
    record Box(int x0, int y0, int width, int height) {
    }

    /** Mean coverage of the four corner patches ({@link #CORNER} of each side) of a region's bounding box. */
    static double cornerFill(boolean[] region, int w, Box box) {
        int x0 = box.x0();
        int y0 = box.y0();
        int kw = Math.max(1, (int) Math.round(box.width() * CORNER));
        int kh = Math.max(1, (int) Math.round(box.height() * CORNER));
        int x1 = x0 + box.width() - 1;
        int y1 = y0 + box.height() - 1;
        int covered = 0;
        for (int dy = 0; dy < kh; dy++) {
            for (int dx = 0; dx < kw; dx++) {
                covered += (region[(y0 + dy) * w + x0 + dx] ? 1 : 0) + (region[(y0 + dy) * w + x1 - dx] ? 1 : 0)
                        + (region[(y1 - dy) * w + x0 + dx] ? 1 : 0) + (region[(y1 - dy) * w + x1 - dx] ? 1 : 0);
            }
        }
        return covered / (4.0 * kw * kh);
    }

    /**
     * The second, stricter rule: the ideal shape (a circle, a square and an upright triangle, each
     * filling the region's bounding box) whose intersection over union with the region is highest.
     * It has no threshold to tune; a square with bowed-in sides or a rounded apex loses against
     * the circle sooner than by the corner rule.
     */
    static Shape templateShape(boolean[] region, int w, Box box) {
        Shape best = Shape.CIRCLE;
        double bestIou = -1;
        for (Shape shape : Shape.values()) {
            double iou = templateIou(region, w, box, shape);
            if (iou > bestIou) {
                bestIou = iou;
                best = shape;
            }
        }
        return best;
    }

    /** Sub-samples per pixel side when an ideal shape's coverage of a pixel is measured. */
    private static final int TEMPLATE_SUBSAMPLES = 4;

    /** Intersection over union of the region and the ideal {@code shape} filling its box (coverage per pixel). */
    static double templateIou(boolean[] region, int w, Box box, Shape shape) {
        double intersection = 0;
        double union = 0;
        for (int y = box.y0(); y < box.y0() + box.height(); y++) {
            for (int x = box.x0(); x < box.x0() + box.width(); x++) {
                double cover = coverage(shape, box, x, y);
                boolean in = region[y * w + x];
                intersection += in ? cover : 0;
                union += in ? 1 : cover;
            }
        }
        return union == 0 ? 0 : intersection / union;
    }

    /** The fraction of pixel (x, y) inside the ideal shape filling the box (box edges on pixel edges). */
    private static double coverage(Shape shape, Box box, int x, int y) {
        int n = TEMPLATE_SUBSAMPLES;
        double halfW = box.width() / 2.0;
        double halfH = box.height() / 2.0;
        double cx = box.x0() + halfW;
        double cy = box.y0() + halfH;
        int inside = 0;
        for (int sy = 0; sy < n; sy++) {
            for (int sx = 0; sx < n; sx++) {
                double px = x + (sx + 0.5) / n;
                double py = y + (sy + 0.5) / n;
                boolean in = switch (shape) {
                    case SQUARE -> true;
                    case CIRCLE -> sq((px - cx) / halfW) + sq((py - cy) / halfH) <= 1;
                    case TRIANGLE -> Math.abs(px - cx) <= halfW * (py - box.y0()) / box.height();
                };
                inside += in ? 1 : 0;
            }
        }
        return inside / (double) (n * n);
    }

    private static double sq(double v) {
        return v * v;
    }

    private static double meanWidth(int[] rowWidth, double from, double to) {
        int a = (int) Math.floor(from);
        int b = Math.max(a, (int) Math.ceil(to) - 1);
        double sum = 0;
        for (int y = a; y <= b; y++) {
            sum += rowWidth[y];
        }
        return sum / (b - a + 1);
    }

    /** Thirds of the picture: "center", "left", "top", "top left", ... as the captions say. */
    static String position(double fx, double fy) {
        String col = fx < 1 / 3.0 ? "left" : fx > 2 / 3.0 ? "right" : "";
        String row = fy < 1 / 3.0 ? "top" : fy > 2 / 3.0 ? "bottom" : "";
        if (row.isEmpty() && col.isEmpty()) {
            return "center";
        }
        return row.isEmpty() ? col : col.isEmpty() ? row : row + " " + col;
    }

    /** Mean color of the component's pixels whose 4 neighbours are in it too (no edge blend). */
    private static double[] interiorMean(RgbImage image, int[] component, int w, int h) {
        boolean[] inside = new boolean[w * h];
        for (int i : component) {
            inside[i] = true;
        }
        double[] sum = new double[3];
        int n = 0;
        for (int pass = 0; pass < 2 && n == 0; pass++) {
            for (int i : component) {
                int x = i % w;
                int y = i / w;
                boolean interior = x > 0 && x < w - 1 && y > 0 && y < h - 1 && inside[i - 1] && inside[i + 1]
                        && inside[i - w] && inside[i + w];
                if (interior || pass == 1) {
                    for (int c = 0; c < 3; c++) {
                        sum[c] += image.rgb()[i * 3 + c] & 0xFF;
                    }
                    n++;
                }
            }
        }
        return new double[] {sum[0] / n, sum[1] / n, sum[2] / n};
    }

    private static double[] borderMedian(RgbImage image) {
        int w = image.width();
        int h = image.height();
        int ring = Math.max(1, Math.min(w, h) / 32);
        List<Integer> border = new ArrayList<>();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (x < ring || y < ring || x >= w - ring || y >= h - ring) {
                    border.add(y * w + x);
                }
            }
        }
        double[] median = new double[3];
        int[] values = new int[border.size()];
        for (int c = 0; c < 3; c++) {
            for (int k = 0; k < values.length; k++) {
                values[k] = image.rgb()[border.get(k) * 3 + c] & 0xFF;
            }
            Arrays.sort(values);
            median[c] = values[values.length / 2];
        }
        return median;
    }

    private static double distance(RgbImage image, int pixel, double[] color) {
        double dr = (image.rgb()[pixel * 3] & 0xFF) - color[0];
        double dg = (image.rgb()[pixel * 3 + 1] & 0xFF) - color[1];
        double db = (image.rgb()[pixel * 3 + 2] & 0xFF) - color[2];
        return Math.sqrt(dr * dr + dg * dg + db * db);
    }

    /** 4-connected components of the marked pixels, each as its pixel indices. */
    private static List<int[]> components(boolean[] marked, int w, int h) {
        int[] label = new int[w * h];
        int[] stack = new int[w * h];
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int start = 0; start < w * h; start++) {
            if (!marked[start] || label[start] != 0) {
                continue;
            }
            next++;
            int top = 0;
            int count = 0;
            int[] members = new int[w * h];
            stack[top++] = start;
            label[start] = next;
            while (top > 0) {
                int i = stack[--top];
                members[count++] = i;
                int x = i % w;
                int y = i / w;
                int[] neighbours = {x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1};
                for (int j : neighbours) {
                    if (j >= 0 && marked[j] && label[j] == 0) {
                        label[j] = next;
                        stack[top++] = j;
                    }
                }
            }
            out.add(Arrays.copyOf(members, count));
        }
        return out;
    }
}
