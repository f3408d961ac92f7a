package dev.easel.demo;

import java.nio.file.Path;

/** Where the committed demo model lives, relative to the repository root (Maven's working directory). */
public final class DemoBundle {

    public static final Path DIR = Path.of("src", "demo-model", "bundle");

    private DemoBundle() {
    }
}
