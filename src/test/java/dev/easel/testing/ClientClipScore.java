package dev.easel.testing;

import dev.easel.engine.image.ClipImageProcessor;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.ClipModel;
import java.util.List;

/** CLIPScore of a picture computed from the picture alone, as a client would from the PNG. */
public final class ClientClipScore {

    private ClientClipScore() {
    }

    /** 100 · max(cos(text, image), 0), both embeddings from {@code clip}. */
    public static double of(ClipModel clip, String prompt, RgbImage image) {
        float[] text = clip.embedTexts(List.of(prompt));
        float[] img = clip.embedImages(ClipImageProcessor.unitPixels(image), 1, image.width(), image.height());
        double cos = 0;
        for (int k = 0; k < text.length; k++) {
            cos += text[k] * img[k];
        }
        return 100 * Math.max(cos, 0);
    }
}
