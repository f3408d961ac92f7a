package dev.easel.worker;

import dev.easel.engine.pipeline.Lora;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The adapter files jobs and variants may name: {@code <easel.loras.dir>/<name>.safetensors}.
 * A name is checked against the contract's pattern (no separators, no leading dot) and the file
 * must lie in the directory itself, so no name reaches outside it. Looks at the disk on each
 * call: adapters may be added while the worker runs. Immutable.
 */
final class LoraLibrary {

    /** The job schema's pattern for {@code loras[i].name}. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    static final String EXTENSION = ".safetensors";
    /** How many names a message lists. */
    private static final int LISTED = 20;

    private final Optional<Path> dir;

    LoraLibrary(Optional<Path> dir) {
        this.dir = dir.map(d -> d.toAbsolutePath().normalize());
    }

    /** No adapter directory: every name is unknown. */
    static LoraLibrary none() {
        return new LoraLibrary(Optional.empty());
    }

    /** Whether an adapter directory is configured. */
    boolean configured() {
        return dir.isPresent();
    }

    /** The adapter's file, when the name is valid and the file exists. */
    Optional<Path> file(String name) {
        if (dir.isEmpty() || !NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        Path file = dir.get().resolve(name + EXTENSION).normalize();
        if (!file.getParent().equals(dir.get())) {
            return Optional.empty();
        }
        // A link is followed only within the directory (Kubernetes mounts files as links into
        // ..data/ there): one that leads out of it would read a file no adapter name should reach.
        try {
            Path real = file.toRealPath();
            return real.startsWith(dir.get().toRealPath()) && Files.isRegularFile(real) ? Optional.of(file)
                    : Optional.empty();
        } catch (IOException e) { // missing, or a dangling link
            return Optional.empty();
        }
    }

    /** The engine's adapter for a name and scale. */
    Optional<Lora> lora(String name, double scale) {
        return file(name).map(f -> new Lora(name, f, scale));
    }

    /** What a message offers instead of an unknown name: the first names, or why there are none. */
    String known() {
        if (dir.isEmpty()) {
            return "no adapters configured (easel.loras.dir)";
        }
        try (Stream<Path> files = Files.list(dir.get())) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(EXTENSION))
                    .map(n -> n.substring(0, n.length() - EXTENSION.length()))
                    .filter(n -> file(n).isPresent()) // not a link out of the directory: such a name is no adapter
                    .sorted().toList();
            if (names.isEmpty()) {
                return "no adapters in easel.loras.dir";
            }
            return "one of " + String.join(", ", names.subList(0, Math.min(LISTED, names.size())))
                    + (names.size() > LISTED ? ", ..." : "");
        } catch (IOException e) {
            return "an adapter in easel.loras.dir (which cannot be listed: " + e.getMessage() + ")";
        }
    }
}
