package dev.easel.engine.onnx;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * ONNX Runtime's optimized graphs, kept on disk so a second start skips graph optimization (the
 * larger part of opening a session). The first session of a model writes its optimized graph
 * ({@code SessionOptions.setOptimizedModelFilePath}); later ones load that graph with
 * optimization off, as ONNX Runtime documents for offline optimization.
 *
 * <p>An optimized graph is specific to the model, the ONNX Runtime version, the execution
 * provider, the optimization level and the machine (ALL_OPT lays data out for the CPU's vector
 * width), so the key hashes all of them: the model file and its external data by path, size and
 * modification time, the version, provider, level, architecture and the CPU's flags. Entries are
 * written into a temporary directory and renamed into place, so concurrent workers sharing the
 * cache never read a half-written graph. A cache that cannot be written is logged and skipped.
 */
final class OptimizedModelCache {

    private static final System.Logger LOG = System.getLogger(OptimizedModelCache.class.getName());
    static final String MODEL = "model.onnx";
    static final String DATA = "model.onnx_data";

    private final Path root;
    private final String environment;

    OptimizedModelCache(Path root, String environment) {
        this.root = root;
        this.environment = environment;
    }

    /** What the key must change with besides the model: ONNX Runtime, provider, level, machine. */
    static String environment(String ortVersion, EngineOptions options) {
        return "ort=" + ortVersion + ";provider=" + options.provider() + ";opt=" + options.optimization()
                + ";arch=" + System.getProperty("os.arch") + ";cpu=" + cpuFlags();
    }

    private static String cpuFlags() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags") || l.startsWith("Features")).findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** Where a model's optimized graph is, when it has been written. */
    Optional<Path> lookup(Path model) {
        Path entry = root.resolve(key(model)).resolve(MODEL);
        return Files.isRegularFile(entry) ? Optional.of(entry) : Optional.empty();
    }

    /** A fresh directory to write a model's optimized graph into; {@link #commit} puts it in place. */
    Path stage(Path model) throws IOException {
        Files.createDirectories(root);
        return Files.createDirectory(root.resolve(key(model) + ".tmp-" + UUID.randomUUID()));
    }

    /** Renames a written entry into place; another writer that got there first wins, this copy is dropped. */
    void commit(Path model, Path staged) {
        Path target = root.resolve(key(model));
        try {
            if (Files.isRegularFile(staged.resolve(MODEL))) {
                Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
                LOG.log(Level.INFO, "{0}: optimized graph cached in {1}", model, target);
            }
        } catch (AtomicMoveNotSupportedException e) {
            LOG.log(Level.WARNING, "{0}: the ONNX Runtime cache {1} cannot rename atomically; not cached", model, root);
        } catch (IOException e) {
            // Usually a concurrent writer's entry already in place.
            LOG.log(Level.DEBUG, "{0}: not cached: {1}", model, e.toString());
        } finally {
            deleteQuietly(staged);
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Left for the next clean-up; nothing reads temporary entries.
        }
    }

    /** Hex SHA-256 of the model's identity (path, size, time of it and its external data) and the environment. */
    String key(Path model) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(environment.getBytes(StandardCharsets.UTF_8));
            Path dir = model.toAbsolutePath().getParent();
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    sha.update((f.getFileName() + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f).toMillis()
                            + ";").getBytes(StandardCharsets.UTF_8));
                }
            }
            sha.update(model.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
