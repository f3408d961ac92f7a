package dev.easel.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.easel.engine.tensor.Npy.NpyArray;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of {@link Npy#read} with Jazzer (docs/security.md "Fuzzing"). The reader
 * takes a path, so each input is written to one scratch file first. Any outcome other than an array
 * or an {@link IOException} is a finding; an array that is read must survive {@link Npy#write} and
 * a second read unchanged (as float32, which is what read returns).
 *
 * <p>Regression inputs (run by every {@code mvn test}): src/test/resources/dev/easel/engine/tensor/
 * NpyFuzzTestInputs/read/.
 */
class NpyFuzzTest {

    private static final Path DIR = scratch();
    private static final Path INPUT = DIR.resolve("input.npy");
    private static final Path COPY = DIR.resolve("copy.npy");

    @FuzzTest(maxDuration = "5m")
    @Timeout(10) // per input: Jazzer passes it to libFuzzer (-timeout); the fuzz-* runs turn off JUnit's own
    @DictionaryEntries({"\u0093NUMPY", "'descr'", "'fortran_order'", "'shape'", "'<f4'", "'>f4'", "'<f8'", "'<f2'",
        "False", "True", "(1, 2), }", "\"descr\""})
    void read(byte[] npy) throws IOException {
        Files.write(INPUT, npy);
        NpyArray array;
        try {
            array = Npy.read(INPUT);
        } catch (IOException expected) {
            return; // the documented failure
        }
        Npy.write(COPY, array.shape(), array.data());
        assertEquals(array, Npy.read(COPY), "the array does not survive write and read");
    }

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("npy-fuzz");
            dir.toFile().deleteOnExit();
            dir.resolve("input.npy").toFile().deleteOnExit();
            dir.resolve("copy.npy").toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
