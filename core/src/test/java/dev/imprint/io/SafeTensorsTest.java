package dev.imprint.io;

import dev.imprint.InputException;
import dev.imprint.io.SafeTensors.DType;
import dev.imprint.io.SafeTensors.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir Path dir;

    @Test
    void roundTripsF32F64I64AndMetadata() {
        float[] w = {1.5f, -2f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, -0f};
        double[] d = {Math.PI, -1e300, 4.9e-324};
        long[] ids = {Long.MIN_VALUE, 0, 50256, Long.MAX_VALUE};
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("h.0.attn.c_attn.weight", Tensor.f32(w, 2, 3));
        tensors.put("scalar", Tensor.f32(new float[] {7f}));
        tensors.put("empty", Tensor.f32(new float[0], 0, 4));
        tensors.put("d", Tensor.f64(d, 3));
        tensors.put("ids", Tensor.i64(ids, 2, 2));
        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, tensors, Map.of("format", "pt", "note", "ünïcode"));

        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(List.of("h.0.attn.c_attn.weight", "scalar", "empty", "d", "ids"), List.copyOf(st.tensors().keySet()));
            assertEquals(Map.of("format", "pt", "note", "ünïcode"), st.metadata());
            assertEquals(DType.F32, st.info("h.0.attn.c_attn.weight").dtype());
            st.requireShape("h.0.attn.c_attn.weight", 2, 3);
            st.requireShape("scalar");
            st.requireShape("empty", 0, 4);
            assertArrayEquals(w, st.floats("h.0.attn.c_attn.weight"));
            assertArrayEquals(new float[] {7f}, st.floats("scalar"));
            assertArrayEquals(new float[0], st.floats("empty"));
            assertArrayEquals(d, st.doubles("d"));
            assertArrayEquals(ids, st.longs("ids"));
            assertArrayEquals(new double[] {1.5, -2, Float.MIN_VALUE, Float.MAX_VALUE, Double.NaN, -0.0}, st.doubles("h.0.attn.c_attn.weight"));
        }
        assertEquals((8 + headerLength(file)) % 8, 0, "header padded to a multiple of 8");
        assertEquals(List.of("d", "empty", "h.0.attn.c_attn.weight", "scalar"), SafeTensors.readAllFloats(file).keySet().stream().sorted().toList());
    }

    @Test
    void aByteChangedOnDiskIsNamedWithItsTensor() throws IOException {
        Path file = dir.resolve("checked.safetensors");
        float[] a = {1f, 2f, 3f}, b = {4f, 5f};
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a", Tensor.f32(a, 3));
        t.put("b", Tensor.f32(b, 2));
        SafeTensors.write(file, t, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        // the header's checksums are the CRC32C of each tensor's bytes, computed here from the file itself
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        java.util.zip.CRC32C ca = new java.util.zip.CRC32C(), cb = new java.util.zip.CRC32C();
        ca.update(bytes, 8 + (int) headerLen, 12);
        cb.update(bytes, 8 + (int) headerLen + 12, 8);
        assertTrue(header.contains(String.format("\"%s\":\"%08x,%08x\"", SafeTensors.CRC32C_KEY, ca.getValue(), cb.getValue())), header);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(Map.of("format", "pt"), st.metadata(), "the checksums are not user metadata");
        }
        bytes[8 + (int) headerLen + 13] ^= 0x01; // one bit of b's first value
        Files.write(file, bytes);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(a, st.floats("a"), 0f, "the tensors around it still read");
            InputException e = assertThrows(InputException.class, () -> st.floats("b"));
            assertEquals(file + ": tensor 'b' is damaged (its bytes do not match the CRC32C written with them)", e.getMessage());
        }
    }

    @Test
    void aReadMapsOnlyWhileItCopies() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "needs Linux's /proc to see the mappings");
        Path file = dir.resolve("mapped-weights.safetensors");
        float[] w = new float[300_000];
        for (int i = 0; i < w.length; i++) w[i] = i * 0.5f;
        SafeTensors.write(file, Map.of("w", Tensor.f32(w, 300, 1000)), Map.of());
        String name = file.toRealPath().toString();
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(w, st.floats("w"), 0f);
            // the file stays open for further reads, but none of its pages are mapped into the process any more
            assertFalse(Files.readString(maps).contains(name), "the tensor's mapping outlives the read");
            assertArrayEquals(w, st.floats("w"), 0f);
        }
    }

    @Test
    void writeRefusesDataThatDoesNotFillTheShape() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(dir.resolve("x.safetensors"), Map.of("w", Tensor.f32(new float[5], 2, 3)), Map.of()));
        assertEquals("tensor 'w': 5 values for shape [2, 3]", e.getMessage());
    }

    @Test
    void readsHalfPrecisionAndInt32WrittenByHand() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(6 + 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x3800); // F16: 1, -2, 0.5
        data.putShort((short) 0x3FC0).putShort((short) 0xC040);                           // BF16: 1.5, -3
        data.putInt(-7).putInt(123456);                                                   // I32
        Path file = raw("""
                {"h": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]},
                 "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [6, 10]},
                 "i": {"dtype": "I32", "shape": [2], "data_offsets": [10, 18]}}""", data.array());
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(new float[] {1f, -2f, 0.5f}, st.floats("h"));
            assertArrayEquals(new float[] {1.5f, -3f}, st.floats("b"));
            assertArrayEquals(new double[] {1.5, -3}, st.doubles("b"));
            assertArrayEquals(new long[] {-7, 123456}, st.longs("i"));
            assertEquals(DType.BF16, st.info("b").dtype());
            assertFails(file + ": tensor 'i' has dtype I32, expected a floating type", () -> st.floats("i"));
            assertFails(file + ": tensor 'h' has dtype F16, expected an integer type", () -> st.longs("h"));
        }
    }

    @Test
    void lookupsNameTheMissingTensorAndTheShapeMismatch() {
        Path file = dir.resolve("m.safetensors");
        SafeTensors.write(file, Map.of("wte", Tensor.f32(new float[6], 3, 2)), Map.of());
        try (SafeTensors st = SafeTensors.open(file)) {
            assertFalse(st.contains("wpe"));
            assertFails(file + ": tensor 'wpe' is missing", () -> st.floats("wpe"));
            assertFails(file + ": tensor 'wpe' is missing", () -> st.info("wpe"));
            assertFails(file + ": tensor 'wte' has shape [3, 2], expected [2, 3]", () -> st.requireShape("wte", 2, 3));
        }
    }

    @Test
    void malformedFilesAreInputErrorsNamingTheProblem() throws IOException {
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[] {1, 2, 3});
        assertMalformed(shortFile, "file is 3 bytes, shorter than the 8-byte header length");

        Path pastEof = dir.resolve("past.safetensors");
        Files.write(pastEof, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array());
        assertMalformed(pastEof, "header length 100 runs past the end of the 12-byte file");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(-1).array());
        assertMalformed(huge, "header length -1 is outside [2, " + SafeTensors.MAX_HEADER_BYTES + "]");

        assertMalformed(raw("not json at all", new byte[0]), "header is not valid JSON");
        assertMalformed(raw("[1, 2]", new byte[0]), "header is not a JSON object");
        assertMalformed(raw("{\"__metadata__\": {\"n\": 1}}", new byte[0]), "__metadata__.n is not a string");
        assertMalformed(raw(entry("w", "Q4", "[2]", "[0, 2]"), new byte[2]), "tensor 'w': unsupported dtype Q4");
        assertMalformed(raw("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]), "tensor 'w': missing dtype");
        assertMalformed(raw(entry("w", "F32", "[2, -1]", "[0, 8]"), new byte[8]), "tensor 'w': shape [2,-1] has an invalid dimension");
        assertMalformed(raw(entry("w", "F32", "[2]", "[0]"), new byte[8]), "tensor 'w': data_offsets must be [begin, end]");
        assertMalformed(raw(entry("w", "F32", "[2]", "[0, 12]"), new byte[8]), "tensor 'w': data_offsets [0, 12] outside the 8-byte data section");
        assertMalformed(raw(entry("w", "F32", "[2]", "[8, 4]"), new byte[8]), "tensor 'w': data_offsets [8, 4] outside the 8-byte data section");
        assertMalformed(raw(entry("w", "F32", "[3]", "[0, 8]"), new byte[8]), "tensor 'w': 8 bytes do not hold shape [3] of F32");
        assertMalformed(raw("""
                {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                 "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", new byte[12]),
                "tensor 'b' overlaps tensor 'a'");

        InputException missing = assertThrows(InputException.class, () -> SafeTensors.open(dir.resolve("absent.safetensors")));
        assertEquals(dir.resolve("absent.safetensors") + ": no such file", missing.getMessage());
    }

    // The next four were accepted before the checks they exercise were added.

    @Test
    void trailingGarbageAfterTheHeaderIsRejected() throws IOException {
        assertMalformed(raw("{} trailing", new byte[0]), "header is not valid JSON");
    }

    @Test
    void offsetsBeyondALongAreRejected() throws IOException {
        // Jackson's asLong() of 2^64 is 0, which would make [0, 0] a valid empty tensor.
        assertMalformed(raw(entry("w", "F32", "[0]", "[0, 18446744073709551616]"), new byte[8]),
                "tensor 'w': data_offsets must be [begin, end]");
    }

    @Test
    void byteCountsThatWrapAreRejected() throws IOException {
        // 2^61 float64s are 2^64 bytes, which wraps to 0 in a long.
        assertMalformed(raw(entry("w", "F64", "[2305843009213693952]", "[0, 0]"), new byte[8]),
                "tensor 'w': 0 bytes do not hold shape [2305843009213693952] of F64");
    }

    @Test
    void anEmptyTensorDoesNotHideAnOverlap() throws IOException {
        // Sorted by begin: a, e, b; b overlaps a, not its neighbour e.
        assertMalformed(raw("""
                {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                 "e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
                 "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}""", new byte[16]),
                "tensor 'b' overlaps tensor 'a'");
    }

    @Test
    void emptyTensorsMayShareAnOffset() throws IOException {
        Path file = raw("""
                {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                 "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
                 "f": {"dtype": "I64", "shape": [0], "data_offsets": [4, 4]}}""", new byte[4]);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(3, st.tensors().size());
            assertArrayEquals(new long[0], st.longs("f"));
        }
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "{\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": " + offsets + "}}";
    }

    /** A safetensors file from a header string and raw data bytes, with no checks. */
    private Path raw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path file = Files.createTempFile(dir, "raw", ".safetensors");
        Files.write(file, b.array());
        return file;
    }

    private static long headerLength(Path file) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertMalformed(Path file, String problem) {
        InputException e = assertThrows(InputException.class, () -> SafeTensors.open(file).close(), problem);
        String prefix = file + ": malformed safetensors: " + problem;
        assertTrue(e.getMessage().startsWith(prefix), () -> "expected '" + prefix + "…', got '" + e.getMessage() + "'");
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    private static void assertFails(String message, Runnable r) {
        assertEquals(message, assertThrows(InputException.class, r::run).getMessage());
    }

    /** Tensors put one at a time, in reverse order, give the bytes of a whole-file write; nothing appears before commit. */
    @Test
    void writerPutsTensorsInAnyOrderAndCommitsWhole() throws java.io.IOException {
        Map<String, SafeTensors.Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("a", SafeTensors.Tensor.f32(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        tensors.put("b", SafeTensors.Tensor.f64(new double[] {Math.PI}, 1));
        tensors.put("c", SafeTensors.Tensor.i64(new long[] {7, 8}, 2));
        Path whole = dir.resolve("whole.safetensors"), pieces = dir.resolve("pieces.safetensors");
        SafeTensors.write(whole, tensors, Map.of("k", "v"));
        Map<String, SafeTensors.Entry> entries = new java.util.LinkedHashMap<>();
        tensors.forEach((n, t) -> entries.put(n, new SafeTensors.Entry(t.dtype(), t.shape())));
        try (SafeTensors.Writer w = SafeTensors.Writer.create(pieces, entries, Map.of("k", "v"))) {
            for (String n : List.of("c", "b", "a")) {
                w.put(n, tensors.get(n));
                assertFalse(java.nio.file.Files.exists(pieces), "nothing before commit");
            }
            w.commit();
        }
        assertArrayEquals(java.nio.file.Files.readAllBytes(whole), java.nio.file.Files.readAllBytes(pieces));
    }

    @Test
    void writerClosedBeforeCommitLeavesTheOldFileAndNoTemporary() throws java.io.IOException {
        Path file = dir.resolve("f.safetensors");
        SafeTensors.write(file, Map.of("x", SafeTensors.Tensor.f32(new float[] {1}, 1)), Map.of());
        byte[] before = java.nio.file.Files.readAllBytes(file);
        Map<String, SafeTensors.Entry> entries = Map.of("x", new SafeTensors.Entry(SafeTensors.DType.F32, new long[] {2}));
        try (SafeTensors.Writer w = SafeTensors.Writer.create(file, entries, Map.of())) {
            assertThrows(IllegalArgumentException.class, () -> w.put("x", SafeTensors.Tensor.f32(new float[] {1, 2, 3}, 3)), "shape differs from the header");
            assertThrows(IllegalStateException.class, w::commit, "x never written");
        }
        assertArrayEquals(before, java.nio.file.Files.readAllBytes(file));
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "the temporary file is gone");
        }
    }
}
