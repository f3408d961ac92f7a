package dev.easel.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.demo.DemoBundle;
import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import dev.easel.engine.onnx.CrossAttentionProjections.Projection;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The projections found in the committed demo model's UNet, exported by PyTorch with the names it
 * loses (onnx::MatMul_N weights): three cross-attentions' keys and values, told apart by structure
 * and node name, and the linear layer after its attention pooling of the caption, a value.
 * (Random SD-shaped graphs: CrossAttentionPatchTest.)
 */
class CrossAttentionProjectionsTest {

    @Test
    void findsTheDemoUnetsCrossAttentionAndItsPooledCaptionLayer() throws IOException {
        List<Projection> found = CrossAttentionProjections.find(OnnxGraphIndex.read(
                DemoBundle.DIR.resolve("unet/model.onnx")));
        assertEquals(7, found.size(), found.toString());
        assertEquals(3, found.stream().filter(p -> p.kind() == Kind.KEY).count());
        Projection pooled = found.get(found.size() - 1);
        assertEquals("/text_pool/text_pool.0/Gemm", pooled.node());
        assertEquals(Kind.VALUE, pooled.kind());
        assertTrue(pooled.transposed(), "a Gemm with transB = 1 stores [out, in]");
        assertEquals(96, pooled.in());
        assertEquals(128, pooled.out());
        found.stream().limit(6).forEach(p -> assertTrue(p.node().contains("/cross/"), p.toString()));
    }
}
