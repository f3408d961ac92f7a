package dev.easel.bench;

import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.image.TestImages;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Map;

/**
 * Times {@link PngEncoder} on one thread for a 512×512 image that looks like a generated picture
 * (smooth gradients plus fine noise). Arguments: [iterations] [warm-up iterations].
 *
 * <pre>./mvnw -q -o test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.easel.bench.PngBenchmark</pre>
 */
public final class PngBenchmark {

    private PngBenchmark() {
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        RgbImage image = TestImages.generatedLooking(512, 512, 42);
        Map<String, String> text = Map.of("prompt", "a lighthouse on a cliff at dusk, oil painting ✨", "seed", "1234");
        PngEncoder encoder = new PngEncoder();
        int bytes = 0;
        for (int i = 0; i < warmup; i++) {
            bytes = encoder.encode(image, text).length;
        }
        // Thread CPU time beside wall time: on a shared machine, waiting for a core inflates only the latter.
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] wall = new long[iterations];
        long[] cpu = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long cpuStart = threads.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            bytes = encoder.encode(image, text).length;
            wall[i] = System.nanoTime() - start;
            cpu[i] = threads.getCurrentThreadCpuTime() - cpuStart;
        }
        System.out.printf("PNG 512x512 RGB, %d images after %d warm-up: %d bytes (%.1f %% of raw %d)%n",
                iterations, warmup, bytes, 100.0 * bytes / image.rgb().length, image.rgb().length);
        report("wall", wall);
        report("cpu ", cpu);
    }

    private static void report(String label, long[] nanos) {
        Arrays.sort(nanos);
        System.out.printf("  %s ms/image: mean %.2f, p50 %.2f, p99 %.2f%n", label,
                Arrays.stream(nanos).average().orElseThrow() / 1e6, nanos[nanos.length / 2] / 1e6,
                nanos[(int) Math.ceil(nanos.length * 0.99) - 1] / 1e6);
    }
}
