package dev.easel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {

    @Test
    void listsThisProcesssThreadsByNameWithItsTotal() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux only");
        long end = System.nanoTime() + 200_000_000L;
        double spin = 0;
        while (System.nanoTime() < end) { // some CPU time on this thread, so it is listed
            spin += Math.sqrt(spin + 1);
        }
        String line = ThreadCpu.of(ProcessHandle.current().pid());
        assertThat(line).as("spun %s", spin).matches("total [0-9.]+ s: .*").contains("(ended threads)");
        assertThat(ThreadCpu.of(Long.MAX_VALUE)).startsWith("(no /proc/");
    }
}
