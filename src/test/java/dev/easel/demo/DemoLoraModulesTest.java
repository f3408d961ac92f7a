package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.lora.LoraAdapter;
import dev.easel.engine.lora.Safetensors;
import dev.easel.engine.onnx.LoraPatch;
import dev.easel.engine.onnx.OnnxGraphIndex;
import dev.easel.engine.onnx.WeightPatch;
import dev.easel.fixtures.LoraFixture;
import dev.easel.fixtures.LoraFixture.Factor;
import dev.easel.fixtures.LoraFixture.Part;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The module paths easel_demo/lora.py adapts (torch's, as `a1.cross.k` and `text_pool.0`) meet the
 * committed demo UNet's weights, which torch's exporter renamed (`onnx::MatMul_1551` behind node
 * `/a1/cross/k/MatMul`, stored [in, out]) or kept (`text_pool.0.weight` of a Gemm with transB):
 * each module patches its own weight (`a1` and `ua1` are not confused) by exactly up·down·alpha/rank,
 * in kohya and in PEFT naming.
 */
class DemoLoraModulesTest {

    @TempDir
    Path dir;

    /** Module → [in, out] of the committed UNet (cross-attention from the 96-wide text; c1 96, c2 128; time 128). */
    private static final Map<String, int[]> MODULES = Map.of(
            "a1.cross.k", new int[] {96, 96}, "a1.cross.v", new int[] {96, 96},
            "ma.cross.k", new int[] {96, 128}, "ma.cross.v", new int[] {96, 128},
            "ua1.cross.k", new int[] {96, 96}, "ua1.cross.v", new int[] {96, 96},
            "text_pool.0", new int[] {96, 128});

    @Test
    void loraPyModulePathsPatchTheirOwnWeightsOfTheDemoUnet() throws IOException {
        Path unet = DemoBundle.DIR.resolve("unet/model.onnx");
        Random rnd = new Random(7);
        List<Factor> factors = new ArrayList<>();
        for (Map.Entry<String, int[]> m : MODULES.entrySet()) {
            int in = m.getValue()[0];
            int out = m.getValue()[1];
            factors.add(new Factor(Part.UNET, m.getKey(), new long[] {4, in}, gaussian(rnd, 4 * in),
                    new long[] {out, 4}, gaussian(rnd, out * 4), Optional.of(2f)));
        }
        OnnxGraphIndex graph = OnnxGraphIndex.read(unet);
        for (Path file : List.of(LoraFixture.writeKohya(dir.resolve("kohya.safetensors"), factors, "F32"),
                LoraFixture.writePeft(dir.resolve("peft.safetensors"), factors, false, true))) {
            LoraPatch patch = new LoraPatch(graph, LoraAdapter.Component.UNET);
            patch.add(LoraAdapter.of(Safetensors.read(file)), 1.0);
            List<WeightPatch> patches = patch.patches();
            assertEquals(MODULES.size(), patches.size(), file + ": one weight per module");
            Map<String, WeightPatch> byName = new HashMap<>();
            patches.forEach(p -> byName.put(p.initializer(), p));
            assertEquals(MODULES.size(), byName.size(), file + ": distinct weights");
            // text_pool.0 keeps its name (Gemm, transB: [out, in]); check its delta and a1.cross.k's ([in, out]).
            Factor pool = factors.stream().filter(f -> f.module().equals("text_pool.0")).findFirst().orElseThrow();
            WeightPatch poolPatch = byName.get("text_pool.0.weight");
            float[] poolBase = graph.floats(graph.initializers().get("text_pool.0.weight"));
            assertEquals(0.5 * dot(pool, 5, 7), poolPatch.values()[5 * 96 + 7] - poolBase[5 * 96 + 7], 1e-5, file.toString());
        }
    }

    /** (up · down)[o, i] of a rank-4 factor. */
    private static double dot(Factor f, int o, int i) {
        int in = (int) f.downShape()[1];
        double s = 0;
        for (int k = 0; k < 4; k++) {
            s += f.up()[o * 4 + k] * (double) f.down()[k * in + i];
        }
        return s;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.3);
        }
        return v;
    }
}
