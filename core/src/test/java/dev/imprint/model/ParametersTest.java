package dev.imprint.model;

import dev.imprint.InputException;
import dev.imprint.io.CheckpointFiles;
import dev.imprint.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each family's weights in its Hugging Face layout: written, read back, sharded, in half precision, and refused when they describe another model. */
class ParametersTest {
    static final List<ModelConfig> FAMILIES = List.of(ModelConfig.gpt2(2, 16, 2, 37, 16), ModelConfig.llama(2, 16, 4, 2, 48, 37, 16),
            ModelConfig.neox(2, 16, 2, 37, 16));

    @Test
    void everyFamilyRoundTripsExactly(@TempDir Path dir) {
        for (ModelConfig c : FAMILIES) {
            Parameters p = Parameters.initialize(c, 3);
            Path d = dir.resolve(c.family().modelType());
            p.save(d, Map.of());
            Parameters back = Parameters.load(d, c);
            for (ParameterLayout.Entry e : p.layout().entries()) assertArrayEquals(p.tensor(e), back.tensor(e), e.name());
        }
    }

    @Test
    void hfNamesAndGpt2sConv1dOrientation(@TempDir Path dir) {
        ModelConfig gpt2 = FAMILIES.get(0);
        Parameters p = Parameters.initialize(gpt2, 3);
        p.save(dir, Map.of());
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            // Conv1D stores c_fc as (in, out) = (C, 4C); Imprint holds (out, in)
            assertArrayEquals(new long[] {16, 64}, st.info("transformer.h.1.mlp.c_fc.weight").shape());
            float[] stored = st.floats("transformer.h.1.mlp.c_fc.weight"), held = p.tensor(ParameterRole.UP_W, 1);
            assertEquals(stored[3 * 64 + 5], held[5 * 16 + 3], "stored (in 3, out 5) is held at (out 5, in 3)");
            assertTrue(!st.contains("lm_head.weight"), "a tied head is not written");
        }
        Parameters llama = Parameters.initialize(FAMILIES.get(1), 4);
        llama.save(dir.resolve("llama"), Map.of());
        try (SafeTensors st = SafeTensors.open(dir.resolve("llama/model.safetensors"))) {
            assertArrayEquals(new long[] {8, 16}, st.info("model.layers.0.self_attn.k_proj.weight").shape(), "2 kv heads of 4 dims");
            assertTrue(st.contains("model.layers.1.mlp.gate_proj.weight") && !st.contains("model.layers.1.mlp.gate_proj.bias"));
        }
    }

    @Test
    void shardedAndHalfPrecisionWeightsLoad(@TempDir Path dir) {
        ModelConfig c = FAMILIES.get(2);
        Parameters p = Parameters.initialize(c, 5);
        for (SafeTensors.DType type : new SafeTensors.DType[] {SafeTensors.DType.BF16, SafeTensors.DType.F16}) {
            Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
            for (ParameterLayout.Entry e : p.layout().entries()) {
                long[] shape = e.role().vector() ? new long[] {e.cols()} : new long[] {e.rows(), e.cols()};
                tensors.put(e.name(), type == SafeTensors.DType.BF16 ? SafeTensors.Tensor.bf16(p.tensor(e), shape) : SafeTensors.Tensor.f16(p.tensor(e), shape));
            }
            Path d = dir.resolve(type.name());
            CheckpointFiles.write(d, tensors, Map.of(), 4096); // several shards
            assertTrue(Files.exists(d.resolve(CheckpointFiles.INDEX)));
            Parameters back = Parameters.load(d, c);
            double tol = type == SafeTensors.DType.BF16 ? 1.0 / 256 : 1.0 / 2048;
            for (ParameterLayout.Entry e : p.layout().entries()) {
                float[] a = p.tensor(e), b = back.tensor(e);
                for (int i = 0; i < a.length; i++)
                    assertEquals(a[i], b[i], tol * Math.abs(a[i]) + 1e-7, type + " " + e.name() + "[" + i + "]");
            }
        }
    }

    @Test
    void weightsOfAnotherModelAreRefused(@TempDir Path dir) throws Exception {
        ModelConfig c = FAMILIES.get(1);
        Parameters.initialize(c, 1).save(dir, Map.of());
        ModelConfig fewerLayers = ModelConfig.llama(1, 16, 4, 2, 48, 37, 16);
        InputException extra = assertThrows(InputException.class, () -> Parameters.load(dir, fewerLayers));
        assertTrue(extra.getMessage().contains("tensor 'model.layers.1.") && extra.getMessage().contains("is not part of a llama model"), extra.getMessage());
        ModelConfig moreLayers = ModelConfig.llama(3, 16, 4, 2, 48, 37, 16);
        InputException missing = assertThrows(InputException.class, () -> Parameters.load(dir, moreLayers));
        assertTrue(missing.getMessage().contains("missing tensor 'model.layers.2.input_layernorm.weight'"), missing.getMessage());
        ModelConfig otherWidth = ModelConfig.llama(2, 16, 4, 2, 64, 37, 16);
        InputException shape = assertThrows(InputException.class, () -> Parameters.load(dir, otherWidth));
        assertTrue(shape.getMessage().contains("model.layers.0.mlp.gate_proj.weight"), shape.getMessage());
        assertEquals(1, shape.getMessage().lines().count());
    }

    @Test
    void parameterCountsAreLongs() {
        // a 7B-parameter shape is described and counted without overflow (loading needs the memory)
        ModelConfig mistral7b = new ModelConfig(Family.MISTRAL, 32, 4096, 32000, 4096, ModelConfig.Norm.rms(1e-5),
                new ModelConfig.AttentionSpec(32, 8, 128, false, false, ModelConfig.QkvFusion.SEPARATE),
                new ModelConfig.Positions.Rotary(1e4, 128, dev.imprint.tensor.Rope.Scaling.none()),
                new ModelConfig.MlpSpec(ModelConfig.MlpSpec.Kind.SWIGLU, 14336, false), false, false, 1, 2);
        assertEquals(7_241_732_096L, mistral7b.parameterCount());
        assertEquals(4 * 7_241_732_096L, ModelDirectory.weightBytes(mistral7b));
    }
}
