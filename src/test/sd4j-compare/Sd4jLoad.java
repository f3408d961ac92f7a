import ai.onnxruntime.OrtEnvironment;
import com.oracle.labs.mlrg.sd4j.SD4J;

/**
 * Sd4jLoad BUNDLE: a cold JVM's load of a bundle by oracle/sd4j's SD 1.5 CPU pipeline (compare.sh
 * builds sd4j beside Easel; its code is not Easel's). Runs with the sd4j checkout as the working
 * directory: its tokenizer graph and ./libortextensions.so are found relative to it.
 */
public final class Sd4jLoad {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        String dir = java.nio.file.Path.of(args[0]).toAbsolutePath().toString();
        OrtEnvironment.getEnvironment();
        long t1 = System.nanoTime();
        // Opens the tokenizer graph (+ ortextensions), text_encoder, unet, vae_decoder (+ safety_checker if present).
        SD4J sd = SD4J.factory(new SD4J.SD4JConfig(dir, SD4J.ExecutionProvider.CPU, 0, SD4J.ModelType.SD1_5));
        long t2 = System.nanoTime();
        System.out.printf("env_ms=%.1f load_ms=%.1f total_ms=%.1f%n",
                (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t2 - t0) / 1e6);
        sd.close();
        System.exit(0);
    }
}
