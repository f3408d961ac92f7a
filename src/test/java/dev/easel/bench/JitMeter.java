package dev.easel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * CPU time spent by another JVM's JIT compiler threads (HotSpot names them {@code C1 CompilerThreadN}
 * and {@code C2 CompilerThreadN}), read from Linux's {@code /proc/<pid>/task/<tid>/stat}.
 *
 * <p>Why: a worker's job path is compiled over its first several thousand jobs, and while C2
 * compiles it takes a core the broker and the store share; a latency measured then is the JIT's,
 * not the worker's. The benchmark warms up until this meter reads quiet.
 */
final class JitMeter {

    /** Linux's USER_HZ: the unit of the stat file's utime and stime on every mainstream kernel. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private final Path tasks;

    private JitMeter(Path tasks) {
        this.tasks = tasks;
    }

    /** A meter for the process, or empty where /proc is not there to read (not Linux). */
    static Optional<JitMeter> of(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        return Files.isDirectory(tasks) ? Optional.of(new JitMeter(tasks)) : Optional.empty();
    }

    /** CPU ticks (user and system) of each compiler thread alive now, by thread id. */
    Map<String, Long> snapshot() {
        Map<String, Long> ticks = new HashMap<>();
        try (Stream<Path> threads = Files.list(tasks)) {
            for (Path thread : (Iterable<Path>) threads::iterator) {
                try {
                    String name = Files.readString(thread.resolve("comm")).strip();
                    if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
                        ticks.put(thread.getFileName().toString(), cpuTicks(Files.readString(thread.resolve("stat"))));
                    }
                } catch (IOException e) {
                    // the thread ended between the listing and the read: its time is gone with it
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + tasks + ": " + e.getMessage(), e);
        }
        return ticks;
    }

    /**
     * Compiler CPU time between two snapshots, in nanoseconds. HotSpot starts and stops compiler
     * threads as its queue grows and shrinks, so threads are matched by id: one that ended in
     * between is lost (an undercount of its last part), one that started counts whole.
     */
    static long cpuNanosBetween(Map<String, Long> before, Map<String, Long> after) {
        long ticks = 0;
        for (Map.Entry<String, Long> thread : after.entrySet()) {
            ticks += thread.getValue() - before.getOrDefault(thread.getKey(), 0L);
        }
        return ticks * NANOS_PER_TICK;
    }

    /**
     * utime + stime of one stat line: fields 14 and 15 (proc(5)), counted after the command name,
     * which is in parentheses and may itself hold spaces and parentheses.
     */
    static long cpuTicks(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        // fields[0] is field 3 (state), so field n is fields[n - 3]
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
