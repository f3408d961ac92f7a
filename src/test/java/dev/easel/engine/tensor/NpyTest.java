package dev.easel.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.easel.engine.tensor.Npy.NpyArray;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsAndWritesNumpysExactHeader() throws IOException {
        float[] data = new float[1 * 4 * 8 * 8];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) Math.sin(i) * 3f;
        }
        Path file = dir.resolve("latents.npy");
        Npy.write(file, new long[] {1, 4, 8, 8}, data);
        assertEquals(new NpyArray(new long[] {1, 4, 8, 8}, data), Npy.read(file));

        byte[] bytes = Files.readAllBytes(file);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 8, 8), }";
        String header = dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n";
        assertEquals(header, new String(bytes, 10, 118, StandardCharsets.US_ASCII));
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0},
                java.util.Arrays.copyOf(bytes, 10));
        assertEquals(128 + 4 * data.length, bytes.length);

        for (long[] shape : new long[][] {{5}, {}, {2, 0, 3}}) {
            float[] values = new float[(int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
            java.util.Arrays.fill(values, 2.5f);
            Npy.write(file, shape, values);
            assertEquals(new NpyArray(shape, values), Npy.read(file));
        }
        String oneD = new String(Files.readAllBytes(dir.resolve("latents.npy")), StandardCharsets.US_ASCII);
        assertEquals(true, oneD.contains("'shape': (2, 0, 3), }"));
    }

    @Test
    void readsHandWrittenVersion1And2Headers() throws IOException {
        float[] values = {1f, -2f, 3.5f, 0f};
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(values);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        Path v1 = write("v1.npy", 1, dict, data.array());
        assertEquals(new NpyArray(new long[] {2, 2}, values), Npy.read(v1));
        Path v2 = write("v2.npy", 2, dict, data.array());
        assertEquals(new NpyArray(new long[] {2, 2}, values), Npy.read(v2));
    }

    @Test
    void convertsDoubleHalfAndBigEndian() throws IOException {
        ByteBuffer f8 = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.1).putDouble(-1e300).putDouble(3);
        NpyArray doubles = Npy.read(write("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8.array()));
        assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, 3f}, doubles.data());

        // float16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), -0.0, +inf
        ByteBuffer f2 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (int h : new int[] {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00}) {
            f2.putShort((short) h);
        }
        NpyArray halves = Npy.read(write("f2.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (6,), }", f2.array()));
        assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f, -0f, Float.POSITIVE_INFINITY}, halves.data());

        ByteBuffer be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(1.5f).putFloat(-7f);
        NpyArray big = Npy.read(write("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2), }", be.array()));
        assertArrayEquals(new float[] {1.5f, -7f}, big.data());
    }

    @Test
    void errorsNameTheFileAndTheProblem() throws IOException {
        Path fortran = write("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]);
        IOException e = assertThrows(IOException.class, () -> Npy.read(fortran));
        assertEquals(fortran + ": fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)",
                e.getMessage());

        Path ints = write("i.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", new byte[16]);
        assertEquals(ints + ": dtype '<i4' is not supported; expected '<f4', '>f4', f8 or f2",
                assertThrows(IOException.class, () -> Npy.read(ints)).getMessage());

        Path shortData = write("s.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[15]);
        assertEquals(shortData + ": shape [4] of <f4 needs 16 data bytes, file has 15",
                assertThrows(IOException.class, () -> Npy.read(shortData)).getMessage());

        Path notNpy = dir.resolve("x.npy");
        Files.writeString(notNpy, "hello, world");
        assertEquals(notNpy + ": not a .npy file (bad magic)",
                assertThrows(IOException.class, () -> Npy.read(notNpy)).getMessage());

        assertThrows(IllegalArgumentException.class, () -> Npy.write(notNpy, new long[] {3}, new float[2]));
    }

    /** A file as numpy lays it out: magic, version, header length, dict padded to 64 bytes with a newline. */
    private Path write(String name, int major, String dict, byte[] data) throws IOException {
        int prefix = major == 1 ? 10 : 12;
        int padding = (64 - (prefix + dict.length() + 1) % 64) % 64;
        byte[] header = (dict + " ".repeat(padding) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer lengths = ByteBuffer.allocate(prefix - 8).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            lengths.putShort((short) header.length);
        } else {
            lengths.putInt(header.length);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        out.writeBytes(lengths.array());
        out.writeBytes(header);
        out.writeBytes(data);
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }
}
