package dev.imprint.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;
import dev.imprint.model.ModelConfig.AttentionSpec;
import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.tensor.Rope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * config.json of each family: published configurations read into the model they describe (checked
 * by transformers' parameter counts), write → read round trips, and one-line refusals of what
 * Imprint does not compute.
 */
class HfConfigTest {
    @TempDir Path dir;

    /** GPT-2 small's config.json as published on the Hugging Face hub (task-specific params dropped). */
    static final String GPT2_SMALL = """
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
             "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
             "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "summary_activation": null, "vocab_size": 50257}
            """;
    /** EleutherAI/pythia-160m. */
    static final String PYTHIA_160M = """
            {"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "gelu",
             "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-05,
             "max_position_embeddings": 2048, "model_type": "gpt_neox", "num_attention_heads": 12, "num_hidden_layers": 12,
             "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false, "torch_dtype": "float16",
             "use_cache": true, "use_parallel_residual": true, "vocab_size": 50304}
            """;
    /** Qwen/Qwen2-0.5B. */
    static final String QWEN2_05B = """
            {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
             "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
             "max_position_embeddings": 131072, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
             "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
             "sliding_window": 131072, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
             "use_sliding_window": false, "vocab_size": 151936}
            """;
    /** meta-llama/Llama-3.2-1B. */
    static final String LLAMA_32_1B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
             "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
             "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
             "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
             "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "vocab_size": 128256}
            """;
    /** mistralai/Mistral-7B-v0.1. */
    static final String MISTRAL_7B = """
            {"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
             "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "vocab_size": 32000}
            """;

    @Test
    void publishedConfigsDescribeTheModelsTheirParameterCountsSay() throws IOException {
        // transformers' num_parameters() of each checkpoint (a tied head counted once)
        ModelConfig gpt2 = read(GPT2_SMALL);
        assertEquals(ModelConfig.gpt2Small(), gpt2);
        assertEquals(124_439_808L, gpt2.parameterCount());

        ModelConfig pythia = read(PYTHIA_160M);
        assertEquals(Family.GPT_NEOX, pythia.family());
        assertEquals(162_322_944L, pythia.parameterCount());
        assertEquals(new Positions.Rotary(10000, 16, Rope.Scaling.none()), pythia.positions());
        assertTrue(pythia.parallelResidual());
        assertEquals(MlpSpec.Kind.GELU_EXACT, pythia.mlp().kind());

        ModelConfig qwen = read(QWEN2_05B);
        assertEquals(494_032_768L, qwen.parameterCount());
        assertEquals(new AttentionSpec(14, 2, 64, true, false, QkvFusion.SEPARATE), qwen.attention());
        assertEquals(151643, qwen.bosTokenId());

        ModelConfig llama = read(LLAMA_32_1B);
        assertEquals(1_235_814_400L, llama.parameterCount());
        assertEquals(new AttentionSpec(32, 8, 64, false, false, QkvFusion.SEPARATE), llama.attention());
        Positions.Rotary rot = assertInstanceOf(Positions.Rotary.class, llama.positions());
        assertEquals(Rope.Scaling.llama3(32, 1, 4, 8192), rot.scaling());
        assertEquals(500000.0, rot.theta());

        ModelConfig mistral = read(MISTRAL_7B);
        assertEquals(7_241_732_096L, mistral.parameterCount());
        assertEquals(4096, mistral.contextLength(), "sliding-window attention is causal attention up to the window: the context stops there");
    }

    @Test
    void everyFamilyRoundTripsThroughItsConfigJson() {
        List<ModelConfig> configs = List.of(
                ModelConfig.gpt2(3, 64, 4, 4096, 256),
                new ModelConfig(Family.GPT2, 2, 32, 100, 64, Norm.layerNorm(1e-6), new AttentionSpec(2, 2, 16, true, true, QkvFusion.FUSED_BLOCKS),
                        new Positions.Learned(), new MlpSpec(MlpSpec.Kind.GELU_EXACT, 80, true), false, false, 7, 99),
                ModelConfig.llama(2, 64, 4, 2, 176, 512, 64),
                new ModelConfig(Family.LLAMA, 2, 64, 512, 128, Norm.rms(1e-6), new AttentionSpec(4, 1, 32, true, true, QkvFusion.SEPARATE),
                        new Positions.Rotary(500000, 32, Rope.Scaling.llama3(8, 1, 4, 64)), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, true),
                        false, false, 1, 2),
                new ModelConfig(Family.QWEN2, 2, 64, 512, 128, Norm.rms(1e-6), new AttentionSpec(4, 2, 16, true, false, QkvFusion.SEPARATE),
                        new Positions.Rotary(1e6, 16, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, true, 3, 4),
                new ModelConfig(Family.MISTRAL, 2, 64, 512, 128, Norm.rms(1e-5), new AttentionSpec(4, 2, 16, false, false, QkvFusion.SEPARATE),
                        new Positions.Rotary(1e4, 16, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, false, 1, 2),
                ModelConfig.neox(2, 64, 4, 512, 64),
                new ModelConfig(Family.GPT_NEOX, 2, 64, 512, 64, Norm.layerNorm(1e-5), new AttentionSpec(4, 4, 16, false, false, QkvFusion.FUSED_PER_HEAD),
                        new Positions.Rotary(1e4, 16, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.GELU_TANH, 256, true), false, true, 0, 0));
        int i = 0;
        for (ModelConfig c : configs) {
            Path file = dir.resolve("c" + i++ + "/config.json");
            HfConfig.write(c, file);
            assertEquals(c, HfConfig.read(file), c.family() + " round trip");
        }
    }

    @Test
    void writesWhatTransformersExpects() throws IOException {
        Path file = dir.resolve("config.json");
        HfConfig.write(ModelConfig.gpt2(4, 256, 4, 8192, 256), file);
        JsonNode j = new ObjectMapper().readTree(file.toFile());
        assertEquals("GPT2LMHeadModel", j.get("architectures").get(0).asText());
        assertEquals("gpt2", j.get("model_type").asText());
        assertEquals("gelu_new", j.get("activation_function").asText());
        assertEquals(256, j.get("n_positions").asInt());
        assertEquals(8191, j.get("eos_token_id").asInt());
        assertEquals(true, j.get("tie_word_embeddings").asBoolean());
        for (String p : new String[] {"resid_pdrop", "embd_pdrop", "attn_pdrop"}) assertEquals(0.0, j.get(p).asDouble(), p);

        HfConfig.write(ModelConfig.llama(2, 64, 4, 2, 176, 512, 64), file);
        j = new ObjectMapper().readTree(file.toFile());
        assertEquals("LlamaForCausalLM", j.get("architectures").get(0).asText());
        assertEquals(2, j.get("num_key_value_heads").asInt());
        assertEquals("silu", j.get("hidden_act").asText());

        HfConfig.write(ModelConfig.neox(2, 64, 4, 512, 64), file);
        j = new ObjectMapper().readTree(file.toFile());
        assertEquals("GPTNeoXForCausalLM", j.get("architectures").get(0).asText());
        assertEquals(0.25, j.get("rotary_pct").asDouble(), "head 16, rotary 4 dims");
        assertEquals(true, j.get("use_parallel_residual").asBoolean());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left beside config.json");
        }
    }

    @Test
    void defaultsOfEachFamily() throws IOException {
        ModelConfig gpt2 = read("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"vocab_size\": 300, \"n_ctx\": 16, \"activation_function\": \"gelu\"}");
        assertEquals(MlpSpec.Kind.GELU_EXACT, gpt2.mlp().kind());
        assertEquals(299, gpt2.eosTokenId());
        assertEquals(32, gpt2.mlp().width());
        ModelConfig llama = read("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, "
                + "\"intermediate_size\": 96, \"vocab_size\": 100, \"eos_token_id\": [7, 8]}");
        assertEquals(new AttentionSpec(4, 4, 16, false, false, QkvFusion.SEPARATE), llama.attention());
        assertEquals(2048, llama.contextLength());
        assertEquals(1e-6, llama.norm().eps());
        assertEquals(7, llama.eosTokenId(), "the first of Llama 3's end-of-sequence ids");
        assertEquals(false, llama.tiedHead());
    }

    @Test
    void unsupportedModelsAreRefusedInOneLine() throws IOException {
        assertReadFails("model_type 'mixtral' is not supported (expected gpt2, llama, qwen2, mistral or gpt_neox)", "{\"model_type\": \"mixtral\"}");
        assertReadFails("model_type 'bert' is not supported", "{\"model_type\": \"bert\"}");
        String llama = "\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"intermediate_size\": 96, \"vocab_size\": 100";
        assertReadFails("num_local_experts is set: num local experts is not supported", "{" + llama + ", \"num_local_experts\": 8}");
        assertReadFails("rope_scaling type 'yarn' is not supported (expected llama3)", "{" + llama + ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}");
        assertReadFails("hidden_act 'gelu' is not supported (expected silu)", "{" + llama + ", \"hidden_act\": \"gelu\"}");
        assertReadFails("num_key_value_heads 3 does not divide num_attention_heads 4", "{" + llama + ", \"num_key_value_heads\": 3}");
        assertReadFails("use_sliding_window true: sliding-window attention is not supported",
                "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"intermediate_size\": 96, "
                        + "\"vocab_size\": 100, \"use_sliding_window\": true}");
        assertReadFails("rotary_pct 0.01 gives 0 rotary dimensions of 16: need a positive even number",
                "{\"model_type\": \"gpt_neox\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 100, \"rotary_pct\": 0.01}");
        String gpt2 = "\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8, \"vocab_size\": 10, \"n_positions\": 4";
        assertReadFails("scale_attn_weights false is not supported", "{" + gpt2 + ", \"scale_attn_weights\": false}");
        assertReadFails("scale_attn_by_inverse_layer_idx true is not supported", "{" + gpt2 + ", \"scale_attn_by_inverse_layer_idx\": true}");
        assertReadFails("activation_function 'relu' is not supported", "{" + gpt2 + ", \"activation_function\": \"relu\"}");
    }

    @Test
    void readProblemsNameTheFileAndField() throws IOException {
        String gpt2 = "\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8, \"vocab_size\": 10, \"n_positions\": 4";
        assertReadFails("missing field n_layer", "{\"n_head\": 1, \"n_embd\": 8, \"vocab_size\": 10, \"n_positions\": 4}");
        assertReadFails("field n_head must be an integer, got \"12\"", "{" + gpt2 + ", \"n_head\": \"12\"}");
        assertReadFails("field layer_norm_epsilon must be a number, got \"small\"", "{" + gpt2 + ", \"layer_norm_epsilon\": \"small\"}");
        assertReadFails("field tie_word_embeddings must be true or false, got 1", "{" + gpt2 + ", \"tie_word_embeddings\": 1}");
        assertReadFails("n_embd 8 is not divisible by n_head 3", "{" + gpt2 + ", \"n_head\": 3}");
        assertReadFails("eos_token_id 10 is outside [0, 10)", "{" + gpt2 + ", \"eos_token_id\": 10}");
        assertReadFails("layers must be positive, got 0", "{" + gpt2 + ", \"n_layer\": 0}");
        assertReadFails("malformed JSON", "{\"n_layer\": 1,");
        assertReadFails("not a JSON object", "[1, 2]");
        InputException e = assertThrows(InputException.class, () -> HfConfig.read(dir.resolve("absent.json")));
        assertEquals(dir.resolve("absent.json") + ": no such file", e.getMessage());
        assertEquals(InputException.NOT_FOUND, e.exitCode());
    }

    @Test
    void constructorValidationMessages() {
        assertInvalid("num_key_value_heads 3 does not divide num_attention_heads 4", () -> new AttentionSpec(4, 3, 16, false, false, QkvFusion.SEPARATE));
        assertInvalid("a fused q/k/v matrix needs as many key/value heads as heads", () -> new AttentionSpec(4, 2, 16, true, true, QkvFusion.FUSED_BLOCKS));
        assertInvalid("RMSNorm has no bias", () -> new Norm(Norm.Kind.RMS_NORM, true, 1e-5));
        assertInvalid("norm epsilon must be positive and finite, got NaN", () -> Norm.layerNorm(Double.NaN));
        assertInvalid("rotary dimensions must be positive and even, got 3", () -> new Positions.Rotary(1e4, 3, Rope.Scaling.none()));
        assertInvalid("dim 100 is not divisible by 3 heads", () -> ModelConfig.gpt2(1, 100, 3, 10, 4));
        assertInvalid("bos_token_id 10 is outside [0, 10)", () -> new ModelConfig(Family.GPT2, 1, 8, 10, 4, Norm.layerNorm(1e-5),
                new AttentionSpec(2, 2, 4, true, true, QkvFusion.FUSED_BLOCKS), new Positions.Learned(), new MlpSpec(MlpSpec.Kind.GELU_TANH, 32, true),
                false, true, 10, 0));
    }

    private ModelConfig read(String json) throws IOException {
        Path file = Files.createTempFile(dir, "config", ".json");
        Files.writeString(file, json);
        return HfConfig.read(file);
    }

    private void assertReadFails(String expected, String json) throws IOException {
        InputException e = assertThrows(InputException.class, () -> read(json), expected);
        String message = e.getMessage();
        assertEquals(true, message.startsWith(dir.toString()) && message.contains(": " + expected), message);
        assertEquals(1, message.lines().count(), message);
        assertEquals(InputException.INVALID, e.exitCode(), message);
    }

    private static void assertInvalid(String expected, Runnable construct) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, construct::run).getMessage());
    }
}
