package dev.easel.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The read-only data beside the checkout (../shared): CLIP tokenizer files and reference bundle configs. */
public final class SharedData {

    private SharedData() {
    }

    public static Path root() {
        Path root = Path.of(System.getProperty("easel.shared.dir", "../shared")).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("shared data not found at " + root
                    + " (expected ../shared beside the checkout, or -Deasel.shared.dir)");
        }
        return root;
    }

    public static Path sd15Bundle() {
        return root().resolve("reference-bundles/sd15-olive");
    }

    public static Path clipTokenizer() {
        return root().resolve("clip-tokenizer");
    }
}
