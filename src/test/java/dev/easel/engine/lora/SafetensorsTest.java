package dev.easel.engine.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.fixtures.SafetensorsFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    private static final float[] VALUES = {1.5f, -2.25f, 0.0f, 3.0f, 1e-3f, -0.5f};

    private static byte[] sample() {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        t.put("a.f32", new SafetensorsFiles.Entry("F32", new long[] {2, 3}, VALUES));
        t.put("b.f16", new SafetensorsFiles.Entry("F16", new long[] {6}, VALUES));
        t.put("c.bf16", new SafetensorsFiles.Entry("BF16", new long[] {3, 2}, VALUES));
        t.put("d.f64", new SafetensorsFiles.Entry("F64", new long[] {}, new float[] {7.0f}));
        return SafetensorsFiles.bytes(t, Map.of("format", "pt", "ss_network_dim", "4"));
    }

    @Test
    void readsFloat32Float16Bfloat16AndFloat64TensorsAndTheMetadata(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("x.safetensors"), sample());
        Safetensors st = Safetensors.read(file);
        assertThat(st.tensors().keySet()).containsExactly("a.f32", "b.f16", "c.bf16", "d.f64");
        assertThat(st.metadata()).containsEntry("format", "pt").containsEntry("ss_network_dim", "4");
        assertArrayEquals(new long[] {2, 3}, st.tensors().get("a.f32").shape());
        assertArrayEquals(VALUES, st.floats("a.f32"));
        assertArrayEquals(VALUES, st.floats("b.f16"), 1e-3f); // all exactly representable but 1e-3
        assertArrayEquals(VALUES, st.floats("c.bf16"), 1e-5f);
        assertArrayEquals(new float[] {7.0f}, st.floats("d.f64"));
        assertEquals(1, st.tensors().get("d.f64").count());
    }

    /** The header alone: the same tensors, shapes and metadata as the whole file, and no values. */
    @Test
    void aHeaderReadAloneIndexesTheSameTensorsAndHasNoValues(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("x.safetensors"), sample());
        Safetensors whole = Safetensors.read(file);
        Safetensors header = Safetensors.readHeader(file, "x.safetensors");
        assertThat(header.tensors().keySet()).containsExactlyElementsOf(whole.tensors().keySet());
        for (String name : whole.tensors().keySet()) {
            Safetensors.Tensor a = whole.tensors().get(name);
            Safetensors.Tensor b = header.tensors().get(name);
            assertArrayEquals(a.shape(), b.shape());
            assertThat(List.of(b.dtype(), b.begin(), b.end())).isEqualTo(List.of(a.dtype(), a.begin(), a.end()));
        }
        assertThat(header.metadata()).isEqualTo(whole.metadata());
        assertThatThrownBy(() -> header.floats("a.f32")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("header alone");
    }

    /** Every cut of a file is refused by the header read as by the whole read, or indexed alike. */
    @Test
    void aHeaderReadRefusesWhatTheWholeReadRefuses(@TempDir Path dir) throws Exception {
        byte[] good = sample();
        for (int length = 0; length <= good.length; length++) {
            Path cut = Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(good, length));
            String whole;
            try {
                whole = "ok " + Safetensors.parse("cut", Arrays.copyOf(good, length)).tensors().keySet();
            } catch (IllegalArgumentException e) {
                whole = e.getMessage();
            }
            String header;
            try {
                header = "ok " + Safetensors.readHeader(cut, "cut").tensors().keySet();
            } catch (IllegalArgumentException e) {
                header = e.getMessage();
            }
            assertThat(header).as("a file cut at %d bytes", length).isEqualTo(whole);
        }
    }

    @Test
    void aHeaderLengthBeyondTheFileIsRefusedBeforeReading() {
        byte[] bytes = sample();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, bytes.length);
        assertThatThrownBy(() -> Safetensors.parse("x.safetensors", bytes))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("x.safetensors").hasMessageContaining("header length");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L); // 2^64 - 1 unsigned
        assertThatThrownBy(() -> Safetensors.parse("x.safetensors", bytes))
                .hasMessageContaining("header length 18446744073709551615");
        assertThatThrownBy(() -> Safetensors.parse("x.safetensors", new byte[5]))
                .hasMessageContaining("shorter than the 8-byte header length");
    }

    @Test
    void offsetsOutsideTheDataOrNotMatchingTheShapeAreRefusedNamingTheTensor() {
        assertThatThrownBy(() -> parse("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8))
                .hasMessageContaining("tensor 'w'").hasMessageContaining("not within the 8 data bytes");
        assertThatThrownBy(() -> parse("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8))
                .hasMessageContaining("tensor 'w'").hasMessageContaining("8 data bytes for shape [3] of F32");
        assertThatThrownBy(() -> parse("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,0]}}", 8))
                .hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> parse("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", 8)).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).hasMessageContaining("overlap");
        assertThatThrownBy(() -> parse("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8))
                .hasMessageContaining("dtype \"Q4\"");
        assertThatThrownBy(() -> parse("[1,2]", 0)).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> parse("{\"w\":", 0)).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse("{\"w\":1,\"w\":2}", 0)).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse("{\"__metadata__\":{\"k\":1}}", 0)).hasMessageContaining("__metadata__.k");
    }

    @Test
    void anIntegerTensorIsNotReadAsFloats() {
        Safetensors st = parse("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        assertThatThrownBy(() -> st.floats("ids")).hasMessageContaining("dtype I64");
        assertThatThrownBy(() -> st.floats("missing")).hasMessageContaining("no tensor 'missing'");
    }

    /** Robustness: truncated and garbled files fail with IllegalArgumentException, never anything else. */
    @Test
    void truncatedOrGarbledFilesFailCleanly() {
        byte[] good = sample();
        for (int length = 0; length < good.length; length++) {
            byte[] cut = Arrays.copyOf(good, length);
            assertCleanly(cut);
        }
        Random rnd = new Random(17);
        for (int trial = 0; trial < 3000; trial++) {
            byte[] bad = good.clone();
            int flips = 1 + rnd.nextInt(4);
            for (int f = 0; f < flips; f++) {
                int at = rnd.nextInt(Math.min(bad.length, trial % 2 == 0 ? 24 : bad.length));
                bad[at] = (byte) rnd.nextInt(256);
            }
            assertCleanly(bad);
        }
        for (int trial = 0; trial < 500; trial++) {
            byte[] noise = new byte[rnd.nextInt(64)];
            rnd.nextBytes(noise);
            assertCleanly(noise);
        }
    }

    private static void assertCleanly(byte[] bytes) {
        try {
            Safetensors st = Safetensors.parse("fuzz", bytes);
            for (String name : st.tensors().keySet()) {
                try {
                    st.floats(name);
                } catch (IllegalArgumentException expected) {
                    assertThat(expected.getMessage()).startsWith("fuzz: ");
                }
            }
        } catch (IllegalArgumentException expected) {
            assertThat(expected.getMessage()).startsWith("fuzz: ");
        }
    }

    private static Safetensors parse(String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json);
        return Safetensors.parse("t.safetensors", buf.array());
    }
}
