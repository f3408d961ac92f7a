package dev.easel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A process's CPU time so far by thread, from Linux's /proc/PID/task/TID/stat: where a start's
 * CPU went (compilers, GC, the main thread, the model loader). Threads are grouped by name with
 * their numbers dropped ("C2 CompilerThread0" and "…1" together; Linux keeps 15 characters of a
 * name); user + system time. Threads that have ended are no longer listed: their time is the
 * process's total (/proc/PID/stat) less the listed threads', shown as "(ended threads)".
 */
final class ThreadCpu {

    /** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
    private static final double TICKS = 100.0;

    private ThreadCpu() {
    }

    /** "total 3.41 s: C CompilerThre 1.20, java 0.80, …" (groups of 20 ms or more), or why not. */
    static String of(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        Map<String, Double> seconds = new TreeMap<>();
        try (Stream<Path> each = Files.list(tasks)) {
            for (Path task : (Iterable<Path>) each::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    double cpu = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS; // utime, stime
                    seconds.merge(name.replaceAll("[0-9]+", "").replaceAll("[-_ ]+$", ""), cpu, Double::sum);
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return "(no " + tasks + ": " + e.getMessage() + ")";
        }
        double listed = seconds.values().stream().mapToDouble(Double::doubleValue).sum();
        double total = listed;
        try {
            String stat = Files.readString(tasks.getParent().resolve("stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            total = Math.max(listed, (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS);
            seconds.put("(ended threads)", total - listed);
        } catch (IOException | RuntimeException e) {
            // the process's own line is gone or odd: the threads' sum stands
        }
        return String.format(Locale.ROOT, "total %.2f s: ", total) + seconds.entrySet().stream()
                .filter(e -> e.getValue() >= 0.02)
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue()))
                .collect(Collectors.joining(", "));
    }
}
