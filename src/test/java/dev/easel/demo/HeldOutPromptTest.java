package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldOutPromptTest {

    @Test
    void aFileReadsAsTheSameResource(@TempDir Path dir) throws IOException {
        Path held = dir.resolve("heldout.json");
        Path partial = dir.resolve("partial.json");
        try (InputStream a = HeldOutPrompt.class.getResourceAsStream(HeldOutPrompt.RESOURCE);
             InputStream b = HeldOutPrompt.class.getResourceAsStream(HeldOutPrompt.PARTIAL_RESOURCE)) {
            Files.copy(a, held);
            Files.copy(b, partial);
        }
        assertEquals(HeldOutPrompt.all(), HeldOutPrompt.read(held));
        assertEquals(HeldOutPrompt.partial(), HeldOutPrompt.read(partial));
    }

    @Test
    void theCommittedListsHoldWhatTheEvaluationSelects() {
        assertEquals(300, HeldOutPrompt.select(HeldOutPrompt.all(), "single", "test", Integer.MAX_VALUE).size());
        assertEquals(16, HeldOutPrompt.select(HeldOutPrompt.partial(), "single", "example", Integer.MAX_VALUE).size());
    }

    @Test
    void aMissingFileIsAnError(@TempDir Path dir) {
        assertThrows(UncheckedIOException.class, () -> HeldOutPrompt.read(dir.resolve("absent.json")));
    }
}
