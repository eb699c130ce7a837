package dev.imprint.io;

import dev.imprint.InputException;
import dev.imprint.io.SafeTensors.DType;
import dev.imprint.io.SafeTensors.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
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

class CheckpointFilesTest {
    @TempDir Path dir;

    /** Five F32 tensors of 24, 16, 8, 40 and 4 bytes (92 in all). */
    private static Map<String, Tensor> fiveTensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("wte.weight", Tensor.f32(new float[] {1, -2, 3.5f, Float.MIN_VALUE, -0f, Float.MAX_VALUE}, 3, 2));
        t.put("h.0.ln_1.weight", Tensor.f32(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 4));
        t.put("h.0.ln_1.bias", Tensor.f32(new float[] {-7, 1e-30f}, 2));
        t.put("h.0.mlp.c_fc.weight", Tensor.f32(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5));
        t.put("ln_f.bias", Tensor.f32(new float[] {42}, 1));
        return t;
    }

    @Test
    void roundTripsASingleFile() throws IOException {
        Map<String, Tensor> t = fiveTensors();
        CheckpointFiles.write(dir, t, Map.of("format", "pt"), 92);
        assertEquals(List.of(CheckpointFiles.SINGLE), names(dir));
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertEquals(List.copyOf(t.keySet()), List.copyOf(cf.names()));
            assertEquals(List.of(dir.resolve(CheckpointFiles.SINGLE)), cf.files());
            assertSameValues(t, cf);
        }
        try (SafeTensors st = SafeTensors.open(dir.resolve(CheckpointFiles.SINGLE))) {
            assertEquals(Map.of("format", "pt"), st.metadata());
        }
    }

    @Test
    void roundTripsThreeShardsCutInMapOrder() throws IOException {
        Map<String, Tensor> t = fiveTensors();
        // Limit 44: [24 + 16], then [8] (8 + 40 > 44), then [40 + 4] (exactly 44 fits).
        CheckpointFiles.write(dir, t, Map.of("format", "pt"), 44);
        String s1 = "model-00001-of-00003.safetensors", s2 = "model-00002-of-00003.safetensors", s3 = "model-00003-of-00003.safetensors";
        assertEquals(List.of(s1, s2, s3, CheckpointFiles.INDEX), names(dir));
        try (SafeTensors a = SafeTensors.open(dir.resolve(s1)); SafeTensors b = SafeTensors.open(dir.resolve(s2));
             SafeTensors c = SafeTensors.open(dir.resolve(s3))) {
            assertEquals(List.of("wte.weight", "h.0.ln_1.weight"), List.copyOf(a.tensors().keySet()));
            assertEquals(List.of("h.0.ln_1.bias"), List.copyOf(b.tensors().keySet()));
            assertEquals(List.of("h.0.mlp.c_fc.weight", "ln_f.bias"), List.copyOf(c.tensors().keySet()));
            assertEquals(Map.of("format", "pt"), c.metadata());
        }
        var index = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve(CheckpointFiles.INDEX).toFile());
        assertEquals(92, index.get("metadata").get("total_size").asLong());
        assertEquals(s3, index.get("weight_map").get("ln_f.bias").asText());
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertEquals(List.copyOf(t.keySet()), List.copyOf(cf.names()));
            assertEquals(List.of(dir.resolve(s1), dir.resolve(s2), dir.resolve(s3), dir.resolve(CheckpointFiles.INDEX)), cf.files());
            assertSameValues(t, cf);
            assertEquals(DType.F32, cf.info("ln_f.bias").dtype());
            assertEquals(40, cf.info("ln_f.bias").begin(), "offsets are within the shard");
            cf.requireShape("h.0.mlp.c_fc.weight", 2, 5);
            assertFails(dir.resolve(s3) + ": tensor 'h.0.mlp.c_fc.weight' has shape [2, 5], expected [5, 2]",
                    () -> cf.requireShape("h.0.mlp.c_fc.weight", 5, 2));
            assertFalse(cf.contains("lm_head.weight"));
            assertFails(dir.resolve(CheckpointFiles.INDEX) + ": tensor 'lm_head.weight' is missing", () -> cf.floats("lm_head.weight"));
        }
    }

    @Test
    void aTensorLargerThanTheLimitGetsAShardOfItsOwn() throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a", Tensor.f32(new float[1], 1));
        t.put("big", Tensor.f32(new float[10], 10));
        t.put("b", Tensor.f32(new float[1], 1));
        CheckpointFiles.write(dir, t, Map.of(), 8);
        try (SafeTensors big = SafeTensors.open(dir.resolve("model-00002-of-00003.safetensors"))) {
            assertEquals(List.of("big"), List.copyOf(big.tensors().keySet()));
        }
        // One tensor past the limit is still one shard, written as the single file (as Hugging Face does).
        Path one = dir.resolve("one");
        CheckpointFiles.write(one, Map.of("big", Tensor.f32(new float[10], 10)), Map.of(), 8);
        assertEquals(List.of(CheckpointFiles.SINGLE), names(one));
    }

    @Test
    void writeChecksEveryTensorBeforeWritingAnyFile() throws IOException {
        Map<String, Tensor> t = fiveTensors();
        t.put("bad", Tensor.f32(new float[5], 2, 3));
        var e = assertThrows(IllegalArgumentException.class, () -> CheckpointFiles.write(dir, t, Map.of(), 44));
        assertEquals("tensor 'bad': 5 values for shape [2, 3]", e.getMessage());
        assertEquals(List.of(), names(dir));
        assertThrows(IllegalArgumentException.class, () -> Tensor.f32(new float[0], 2, -1));
        assertThrows(IllegalArgumentException.class, () -> CheckpointFiles.write(dir, fiveTensors(), Map.of(), 0));
    }

    @Test
    void rewritingSwitchesLayoutsWithoutStaleFiles() throws IOException {
        Map<String, Tensor> t = fiveTensors();
        CheckpointFiles.write(dir, t, Map.of(), 44);
        assertEquals(4, names(dir).size());
        Files.writeString(dir.resolve("config.json"), "{}"); // not a weight file: left alone
        CheckpointFiles.write(dir, t, Map.of(), 1 << 20);
        assertEquals(List.of("config.json", CheckpointFiles.SINGLE), names(dir));
        CheckpointFiles.write(dir, t, Map.of(), 44);
        assertEquals(List.of("config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", CheckpointFiles.INDEX), names(dir));
        // Sharded to sharded with fewer shards: the old shards of the other count go.
        CheckpointFiles.write(dir, t, Map.of(), 48);
        assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", CheckpointFiles.INDEX), names(dir));
        // Same names again, new values: read back as written.
        Map<String, Tensor> t2 = new LinkedHashMap<>();
        t.forEach((k, v) -> t2.put(k, Tensor.f32(negated(((SafeTensors.F32Tensor) v).data()), v.shape())));
        CheckpointFiles.write(dir, t2, Map.of(), 48);
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertSameValues(t2, cf);
        }
        CheckpointFiles.write(dir, t, Map.of(), 1 << 20);
        assertEquals(List.of("config.json", CheckpointFiles.SINGLE), names(dir));
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertSameValues(t, cf);
        }
    }

    @Test
    void theIndexIsPreferredOverAStaleSingleFile() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        SafeTensors.write(dir.resolve(CheckpointFiles.SINGLE), Map.of("other", Tensor.f32(new float[1], 1)), Map.of());
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertEquals(List.copyOf(fiveTensors().keySet()), List.copyOf(cf.names()));
            assertFalse(cf.files().contains(dir.resolve(CheckpointFiles.SINGLE)));
        }
    }

    // ---- half precision ----

    @Test
    void f16RoundTripsWithinItsPrecision() {
        float sub = 0x1p-24f, maxSub = 0x3FFp-24f;
        float[] v = {1, -2, 0.5f, 65504, -65504, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                sub, -sub, maxSub, 0x1p-14f, 1e6f, 3.14159265f, -0.1f, 0x1p-26f};
        float[] back = writeAndRead(Tensor.f16(v, v.length));
        assertEquals(DType.F16, Tensor.f16(v, v.length).dtype());
        float[] expected = {1, -2, 0.5f, 65504, -65504, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                sub, -sub, maxSub, 0x1p-14f, Float.POSITIVE_INFINITY, 3.140625f, -0x1.998p-4f, 0f};
        assertArrayEquals(expected, back); // assertArrayEquals compares bits: ±0 and NaN exactly
        for (int i = 0; i < v.length; i++)
            if (Float.isFinite(back[i]) && Math.abs(v[i]) >= 0x1p-14f && Math.abs(v[i]) <= 65504)
                assertTrue(Math.abs(back[i] - v[i]) <= Math.abs(v[i]) * 0x1p-11f, "value " + v[i]);
    }

    @Test
    void bf16RoundTripsWithinItsPrecision() {
        float[] v = {1, -3, 1.5f, -0.15625f, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0xFFC0_0000),
                Float.MIN_NORMAL, 0x1p-133f, 3.14159265f, -2.71828183f, 1e30f, -1e-30f, 123456.789f, Float.MAX_VALUE};
        float[] back = writeAndRead(Tensor.bf16(v, 3, 6));
        float[] exact = {1, -3, 1.5f, -0.15625f, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_NORMAL, 0x1p-133f};
        for (float x : exact) {
            int i = indexOf(v, x);
            assertEquals(Float.floatToIntBits(x), Float.floatToIntBits(back[i]), "representable " + x + " is exact");
        }
        assertTrue(Float.isNaN(back[8]) && Float.isNaN(back[9]));
        assertEquals(0, Float.floatToRawIntBits(back[8]) >>> 31, "sign of NaN kept");
        assertEquals(1, Float.floatToRawIntBits(back[9]) >>> 31, "sign of -NaN kept");
        for (int i = 12; i < 17; i++) {
            assertTrue(Math.abs(back[i] - v[i]) <= Math.abs(v[i]) * 0x1p-8f, "value " + v[i] + " read " + back[i]);
            assertEquals(Math.signum(v[i]), Math.signum(back[i]));
        }
        assertEquals(Float.POSITIVE_INFINITY, back[17], "MAX_VALUE rounds up past bfloat16's largest finite value");
    }

    @Test
    void bf16RoundsToNearestTiesToEven() {
        // 0x3F80_8000 lies exactly halfway between bf16 0x3F80 (1.0) and 0x3F81: the even one, 0x3F80, wins.
        assertEquals((short) 0x3F80, SafeTensors.bf16Bits(Float.intBitsToFloat(0x3F80_8000)));
        // 0x3F81_8000 is halfway between 0x3F81 (odd) and 0x3F82 (even): rounds up.
        assertEquals((short) 0x3F82, SafeTensors.bf16Bits(Float.intBitsToFloat(0x3F81_8000)));
        // Just past and just short of halfway.
        assertEquals((short) 0x3F81, SafeTensors.bf16Bits(Float.intBitsToFloat(0x3F80_8001)));
        assertEquals((short) 0x3F81, SafeTensors.bf16Bits(Float.intBitsToFloat(0x3F81_7FFF)));
        // Negative ties mirror the positive ones.
        assertEquals((short) 0xBF80, SafeTensors.bf16Bits(Float.intBitsToFloat(0xBF80_8000)));
        assertEquals((short) 0xBF82, SafeTensors.bf16Bits(Float.intBitsToFloat(0xBF81_8000)));
        // A NaN whose payload is only in the dropped bits stays NaN instead of truncating to infinity.
        assertEquals((short) 0x7FC0, SafeTensors.bf16Bits(Float.intBitsToFloat(0x7F80_0001)));
        assertEquals((short) 0xFFC0, SafeTensors.bf16Bits(Float.intBitsToFloat(0xFF80_0001)));
        float[] back = writeAndRead(Tensor.bf16(new float[] {Float.intBitsToFloat(0x3F80_8000), Float.intBitsToFloat(0xBF81_8000)}, 2));
        assertArrayEquals(new float[] {1f, Float.intBitsToFloat(0xBF82_0000)}, back);
    }

    @Test
    void negativeHalfPrecisionBitPatternsWidenWithTheirSign() throws IOException {
        // Written by hand: BF16 0x8000 (-0), 0x8001 (the smallest negative subnormal), 0xFF80 (-inf), 0xC2F7 (-123.5);
        // F16 0x8001 (smallest negative subnormal), 0xFBFF (-65504).
        ByteBuffer data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (int s : new int[] {0x8000, 0x8001, 0xFF80, 0xC2F7, 0x8001, 0xFBFF}) data.putShort((short) s);
        Path file = raw("""
                {"b": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]},
                 "h": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}}""", data.array(), dir.resolve("neg.safetensors"));
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(new float[] {-0f, -0x1p-133f, Float.NEGATIVE_INFINITY, -123.5f}, st.floats("b"));
            assertArrayEquals(new float[] {-0x1p-24f, -65504f}, st.floats("h"));
        }
    }

    @Test
    void tensorsPastFourGibibytesAreAddressedWithLongOffsets() throws IOException {
        // A sparse file: a 2^32 + 8-byte F16 tensor, then a small F32 one beyond it. An int offset would wrap to 8.
        long pad = (1L << 32) + 8;
        String header = "{\"pad\": {\"dtype\": \"F16\", \"shape\": [" + pad / 2 + "], \"data_offsets\": [0, " + pad + "]},"
                + " \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [" + pad + ", " + (pad + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            f.write(h);
            f.seek(8 + h.length + pad);
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(2.5f).putFloat(-1f).array());
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(new float[] {2.5f, -1f}, st.floats("w"));
            assertEquals(pad, st.info("w").begin());
            var e = assertThrows(InputException.class, () -> st.floats("pad"));
            assertEquals(file + ": tensor 'pad' has " + pad / 2 + " elements, more than a Java array holds", e.getMessage());
        } finally {
            Files.delete(file);
        }
    }

    // ---- errors ----

    @Test
    void aFolderWithoutWeightsIsNotFound() {
        InputException e = assertThrows(InputException.class, () -> CheckpointFiles.open(dir));
        assertEquals(dir + ": no model.safetensors or model.safetensors.index.json", e.getMessage());
        assertEquals(InputException.NOT_FOUND, e.exitCode());
    }

    @Test
    void aMalformedIndexNamesTheProblem() throws IOException {
        Path index = dir.resolve(CheckpointFiles.INDEX);
        String p = index + ": malformed index: ";
        assertOpenFails(p + "not valid JSON", "{\"weight_map\": ");
        assertOpenFails(p + "not valid JSON", "{\"weight_map\": {}} trailing");
        assertOpenFails(p + "not valid JSON", "{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}");
        assertOpenFails(p + "not a JSON object", "[]");
        assertOpenFails(p + "not a JSON object", "");
        assertOpenFails(p + "no weight_map object", "{\"metadata\": {}}");
        assertOpenFails(p + "no weight_map object", "{\"weight_map\": []}");
        assertOpenFails(p + "metadata is not an object", "{\"metadata\": 3, \"weight_map\": {\"a\": \"x.safetensors\"}}");
        assertOpenFails(p + "weight_map lists no tensors", "{\"weight_map\": {}}");
        assertOpenFails(p + "weight_map entry for tensor 'a' is not a string", "{\"weight_map\": {\"a\": 1}}");
    }

    @Test
    void shardPathsMayNotLeaveTheFolder() throws IOException {
        Path model = Files.createDirectory(dir.resolve("model"));
        SafeTensors.write(dir.resolve("outside.safetensors"), Map.of("a", Tensor.f32(new float[1], 1)), Map.of());
        Path index = model.resolve(CheckpointFiles.INDEX);
        for (String shard : List.of("../outside.safetensors", dir.resolve("outside.safetensors").toString(), "sub/../../outside.safetensors", "", ".")) {
            Files.writeString(index, "{\"weight_map\": {\"a\": \"" + shard + "\"}}");
            InputException e = assertThrows(InputException.class, () -> CheckpointFiles.open(model));
            assertEquals(index + ": malformed index: weight_map entry for tensor 'a' names shard '" + shard + "' outside the model folder", e.getMessage());
        }
    }

    @Test
    void aMissingShardIsNotFound() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        InputException e = assertThrows(InputException.class, () -> CheckpointFiles.open(dir));
        assertEquals(dir.resolve("model-00002-of-00003.safetensors") + ": no such file (model.safetensors.index.json lists tensor 'h.0.ln_1.bias' in it)",
                e.getMessage());
        assertEquals(InputException.NOT_FOUND, e.exitCode());
    }

    @Test
    void aTensorTheShardLacksIsAnError() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        editIndex("\"ln_f.bias\"", "\"ln_f.weight\": \"model-00003-of-00003.safetensors\", \"ln_f.bias\"");
        assertOpenFails(dir.resolve("model-00003-of-00003.safetensors")
                + ": tensor 'ln_f.weight' is listed in model.safetensors.index.json but missing from this shard");
    }

    @Test
    void aTensorTheIndexDoesNotListIsAnError() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        editIndex("\"ln_f.bias\" : \"model-00003-of-00003.safetensors\"", "\"unrelated\" : \"model-00003-of-00003.safetensors\"");
        assertOpenFails(dir.resolve("model-00003-of-00003.safetensors") + ": tensor 'ln_f.bias' is not listed in model.safetensors.index.json");
    }

    @Test
    void theSameTensorInTwoShardsIsAnError() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        Path s2 = dir.resolve("model-00002-of-00003.safetensors");
        Map<String, Tensor> two = new LinkedHashMap<>();
        two.put("h.0.ln_1.bias", Tensor.f32(new float[] {-7, 1e-30f}, 2));
        two.put("wte.weight", Tensor.f32(new float[6], 3, 2));
        SafeTensors.write(s2, two, Map.of());
        assertOpenFails(s2 + ": tensor 'wte.weight' is also in model-00001-of-00003.safetensors (the same tensor in two shards)");
        // The index placing a tensor in a shard that lacks it, while another shard has it:
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        editIndex("\"ln_f.bias\" : \"model-00003-of-00003.safetensors\"", "\"ln_f.bias\" : \"model-00001-of-00003.safetensors\"");
        assertOpenFails(dir.resolve("model-00003-of-00003.safetensors")
                + ": tensor 'ln_f.bias' is here but model.safetensors.index.json lists it in model-00001-of-00003.safetensors");
    }

    @Test
    void aMalformedShardIsReportedByItsOwnName() throws IOException {
        CheckpointFiles.write(dir, fiveTensors(), Map.of(), 44);
        Path s1 = dir.resolve("model-00001-of-00003.safetensors");
        Files.write(s1, new byte[] {1, 2, 3});
        assertOpenFails(s1 + ": malformed safetensors: file is 3 bytes, shorter than the 8-byte header length");
    }

    // ---- helpers ----

    private float[] writeAndRead(Tensor t) {
        CheckpointFiles.write(dir, Map.of("t", t), Map.of(), 1 << 20);
        try (CheckpointFiles cf = CheckpointFiles.open(dir)) {
            assertEquals(t.dtype(), cf.info("t").dtype());
            cf.requireShape("t", t.shape());
            return cf.floats("t");
        }
    }

    private static int indexOf(float[] v, float x) {
        for (int i = 0; i < v.length; i++) if (Float.floatToIntBits(v[i]) == Float.floatToIntBits(x)) return i;
        throw new AssertionError(x);
    }

    private static float[] negated(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = -v[i];
        return out;
    }

    private static void assertSameValues(Map<String, Tensor> expected, CheckpointFiles cf) {
        expected.forEach((name, t) -> {
            assertArrayEquals(((SafeTensors.F32Tensor) t).data(), cf.floats(name), name);
            assertArrayEquals(t.shape(), cf.info(name).shape(), name);
        });
    }

    private void editIndex(String from, String to) throws IOException {
        Path index = dir.resolve(CheckpointFiles.INDEX);
        String s = Files.readString(index);
        assertTrue(s.contains(from), s);
        Files.writeString(index, s.replace(from, to));
    }

    private void assertOpenFails(String prefix, String indexJson) throws IOException {
        Files.writeString(dir.resolve(CheckpointFiles.INDEX), indexJson);
        assertOpenFails(prefix);
    }

    private void assertOpenFails(String prefix) {
        InputException e = assertThrows(InputException.class, () -> CheckpointFiles.open(dir).close());
        assertTrue(e.getMessage().startsWith(prefix), () -> "expected '" + prefix + "…', got '" + e.getMessage() + "'");
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    private static void assertFails(String message, Runnable r) {
        assertEquals(message, assertThrows(InputException.class, r::run).getMessage());
    }

    private static Path raw(String header, byte[] data, Path file) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    private static List<String> names(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
