package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ImageTensorsTest {

    @Test
    void decoderOutputRoundsHalfToEvenAndClamps() {
        // (x/2 + 0.5) * 255 is exactly 64.5, 65.5, 66.5 and 127.5 in float32 for the first four.
        float[] x = {-0.49411762f, -0.48627448f, -0.47843134f, 0f, -1f, 1f, -1.5f, 7f, Float.NaN,
            Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0.1f};
        int[] expected = {64, 66, 66, 128, 0, 255, 0, 255, 0, 0, 255, 140};
        for (int i = 0; i < 4; i++) {
            assertEquals(Math.floor((x[i] / 2f + 0.5f) * 255f) + 0.5, (x[i] / 2f + 0.5f) * 255f, "not a tie: " + x[i]);
        }
        // One 3×4×1 NCHW image: channel c holds x[c*4 .. c*4+3].
        RgbImage image = ImageTensors.toImage(x, 0, 4, 1);
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < 4; p++) {
                assertEquals(expected[c * 4 + p], image.rgb()[p * 3 + c] & 0xFF, "x=" + x[c * 4 + p]);
            }
        }
    }

    @Test
    void picksTheIndexedImageOfABatchIntoAReusedBuffer() {
        float[] batch = new float[2 * 3 * 2];
        java.util.Arrays.fill(batch, 6, 12, 1f); // image 1 all white
        byte[] rgb = new byte[6];
        ImageTensors.toImage(batch, 1, 2, 1, rgb);
        assertArrayEquals(new byte[] {-1, -1, -1, -1, -1, -1}, rgb);
        ImageTensors.toImage(batch, 0, 2, 1, rgb);
        assertArrayEquals(new byte[] {-128, -128, -128, -128, -128, -128}, rgb); // 127.5 rounds to 128
        assertEquals("tensor of 12 floats has no image 2 of 3×1×2",
                assertThrows(ImageException.class, () -> ImageTensors.toImage(batch, 2, 2, 1, rgb)).getMessage());
        assertEquals("output buffer of 5 bytes does not fit a 2×1 RGB image (6 bytes)",
                assertThrows(ImageException.class, () -> ImageTensors.toImage(batch, 0, 2, 1, new byte[5])).getMessage());
    }

    @Test
    void toTensorIsPlanarAndInvertedByToImage() {
        byte[] rgb = new byte[256 * 3];
        for (int i = 0; i < 256; i++) {
            rgb[i * 3] = (byte) i;
            rgb[i * 3 + 1] = (byte) (255 - i);
            rgb[i * 3 + 2] = (byte) (i * 7);
        }
        RgbImage image = new RgbImage(16, 16, rgb);
        float[] tensor = new float[2 + 3 * 256];
        ImageTensors.toTensor(image, tensor, 2);
        assertEquals(-1f, tensor[2]); // R of pixel 0
        assertEquals(1f, tensor[2 + 256]); // G of pixel 0
        assertEquals(128 / 255f * 2f - 1f, tensor[2 + 128]);
        float[] nchw = java.util.Arrays.copyOfRange(tensor, 2, tensor.length);
        assertEquals(image, ImageTensors.toImage(nchw, 0, 16, 16));
        assertThrows(ImageException.class, () -> ImageTensors.toTensor(image, new float[3 * 256], 1));
    }

    @Test
    void maskToLatentBinarizesThenTakesNearestSample() {
        // 8×4 mask, latent 4×2: factor 2, latent (i, j) samples mask pixel (2i, 2j).
        int[] m = {
            128, 0, 127, 255, 0, 0, 255, 255,
            255, 255, 255, 255, 255, 255, 255, 255,
            0, 255, 200, 0, 127, 255, 129, 0,
            255, 255, 255, 255, 255, 255, 255, 255};
        byte[] pixels = new byte[m.length];
        for (int i = 0; i < m.length; i++) {
            pixels[i] = (byte) m[i];
        }
        float[] out = new float[1 + 8];
        ImageTensors.maskToLatent(new GrayImage(8, 4, pixels), 4, 2, out, 1);
        assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0, 1, 0, 1}, out);
        ImageException e = assertThrows(ImageException.class,
                () -> ImageTensors.maskToLatent(new GrayImage(8, 4, pixels), 3, 2, out, 0));
        assertEquals("mask is 8×4, which is not latent size 3×2 times one whole factor", e.getMessage());
        assertThrows(ImageException.class, () -> ImageTensors.maskToLatent(new GrayImage(8, 4, pixels), 4, 1, out, 0));
    }

    @Test
    void maskToPixelsZeroesTheRepaintedArea() {
        RgbImage image = new RgbImage(2, 1, new byte[] {0, (byte) 255, 51, (byte) 255, 0, 102});
        GrayImage mask = new GrayImage(2, 1, new byte[] {127, (byte) 128});
        float[] out = new float[6];
        ImageTensors.maskToPixels(image, mask, out, 0);
        assertArrayEquals(new float[] {-1f, 0f, 1f, 0f, 51 / 255f * 2f - 1f, 0f}, out);
        assertEquals("mask is 1×2 but the image is 2×1", assertThrows(ImageException.class,
                () -> ImageTensors.maskToPixels(image, new GrayImage(1, 2, new byte[2]), out, 0)).getMessage());
    }

    @Test
    void lumaMatchesPil() {
        RgbImage image = new RgbImage(4, 1, new byte[] {(byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255,
            (byte) 255, (byte) 255, (byte) 255});
        assertArrayEquals(new byte[] {76, (byte) 150, 29, (byte) 255}, GrayImage.luma(image).pixels());
    }
}
