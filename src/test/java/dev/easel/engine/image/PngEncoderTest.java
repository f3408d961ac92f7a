package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Node;

class PngEncoderTest {

    private final PngEncoder encoder = new PngEncoder();
    private final PngDecoder decoder = new PngDecoder();

    @Test
    void roundTripsRandomAndSmoothImagesThroughBothDecoders() throws IOException {
        int[][] sizes = {{1, 1}, {1, 9}, {9, 1}, {3, 5}, {17, 13}, {255, 3}, {64, 64}, {301, 211}};
        for (int[] size : sizes) {
            for (RgbImage image : List.of(PngDecoderTest.randomImage(size[0], size[1], size[0] * 31L + size[1]),
                    smooth(size[0], size[1]), uniform(size[0], size[1]))) {
                byte[] png = encoder.encode(image);
                assertEquals(image, decoder.decode(png).rgb(), "own decoder, " + image);
                assertEquals(image, fromImageIo(ImageIO.read(new ByteArrayInputStream(png))), "ImageIO, " + image);
            }
        }
    }

    @Test
    void reusesBuffersAcrossSizes() {
        RgbImage big = smooth(200, 100);
        RgbImage small = smooth(7, 3);
        byte[] first = encoder.encode(small);
        encoder.encode(big);
        assertArrayEquals(first, encoder.encode(small));
        assertEquals(big, decoder.decode(encoder.encode(big)).rgb());
    }

    @Test
    void compressesGeneratedLookingContent() {
        RgbImage image = smooth(512, 512);
        byte[] png = encoder.encode(image);
        assertTrue(png.length < image.rgb().length * 0.6, "only compressed to " + png.length);
        // Noise does not compress: stored blocks keep the overhead tiny.
        RgbImage noise = PngDecoderTest.randomImage(512, 512, 5);
        assertTrue(encoder.encode(noise).length < noise.rgb().length * 1.01);
    }

    @Test
    void writesTextAsTextOrInternationalTextInOrder() throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", "a café at dusk, 35mm");
        text.put("negative", "blurry\nlow quality");
        text.put("Comment", "桜の木の下の猫 🐈");
        text.put("seed", "42");
        byte[] png = encoder.encode(smooth(16, 16), text);

        PngImage decoded = decoder.decode(png);
        assertEquals(List.copyOf(text.entrySet()), List.copyOf(decoded.text().entrySet()));
        assertEquals(List.of("IHDR", "tEXt", "tEXt", "iTXt", "tEXt", "IDAT", "IEND"), chunkTypes(png));

        ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
        reader.setInput(new MemoryCacheImageInputStream(new ByteArrayInputStream(png)));
        IIOMetadata metadata = reader.getImageMetadata(0);
        Node root = metadata.getAsTree("javax_imageio_png_1.0");
        Map<String, String> seen = new LinkedHashMap<>();
        for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n.getNodeName().equals("tEXt") || n.getNodeName().equals("iTXt")) {
                for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                    String value = n.getNodeName().equals("tEXt") ? attribute(e, "value") : attribute(e, "text");
                    seen.put(attribute(e, "keyword"), value);
                }
            }
        }
        reader.dispose();
        assertEquals(text, seen);
    }

    @Test
    void rejectsInvalidKeywords() {
        RgbImage image = smooth(2, 2);
        for (String key : List.of("", " lead", "trail ", "two  spaces", "k".repeat(80), "猫")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> encoder.encode(image, Map.of(key, "v")));
            assertTrue(e.getMessage().contains("not a valid PNG keyword"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(image, Map.of("k", "a\0b")));
    }

    static RgbImage smooth(int w, int h) {
        return TestImages.generatedLooking(w, h, w * 1000L + h);
    }

    private static RgbImage uniform(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        java.util.Arrays.fill(rgb, (byte) 77);
        return new RgbImage(w, h, rgb);
    }

    private static RgbImage fromImageIo(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = image.getRGB(x, y);
                int p = (y * w + x) * 3;
                rgb[p] = (byte) (argb >> 16);
                rgb[p + 1] = (byte) (argb >> 8);
                rgb[p + 2] = (byte) argb;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static String attribute(Node node, String name) {
        return node.getAttributes().getNamedItem(name).getNodeValue();
    }

    private static List<String> chunkTypes(byte[] png) {
        List<String> types = new ArrayList<>();
        for (int pos = 8; pos < png.length; ) {
            int length = ((png[pos] & 0xFF) << 24) | ((png[pos + 1] & 0xFF) << 16) | ((png[pos + 2] & 0xFF) << 8)
                    | (png[pos + 3] & 0xFF);
            types.add(new String(png, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1));
            pos += 12 + length;
        }
        return types;
    }
}
