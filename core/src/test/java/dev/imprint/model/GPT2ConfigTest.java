package dev.imprint.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;
import dev.imprint.model.GPT2Config.Activation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GPT2ConfigTest {
    @TempDir Path dir;

    /** GPT-2 small's config.json as published on the Hugging Face hub (task-specific params dropped). */
    private static final String HUB_GPT2 = """
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
             "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
             "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "summary_activation": null,
             "summary_first_dropout": 0.1, "summary_proj_to_labels": true, "summary_type": "cls_index",
             "summary_use_proj": true, "vocab_size": 50257}
            """;

    @Test
    void readsTheHubGpt2Config() throws IOException {
        assertEquals(GPT2Config.gpt2Small(), read(HUB_GPT2));
    }

    @Test
    void writeThenReadRoundTrips() {
        GPT2Config c = new GPT2Config(3, 4, 64, 4096, 256, 1e-6, Activation.GELU_EXACT, 7, 4095);
        Path file = dir.resolve("sub/config.json");
        c.write(file);
        assertEquals(c, GPT2Config.read(file));
    }

    @Test
    void writesWhatHuggingFaceExpects() throws IOException {
        Path file = dir.resolve("config.json");
        GPT2Config.of(4, 256, 4, 8192, 256).write(file);
        JsonNode j = new ObjectMapper().readTree(Files.readString(file));
        assertEquals("GPT2LMHeadModel", j.get("architectures").get(0).asText());
        assertEquals("gpt2", j.get("model_type").asText());
        assertEquals("gelu_new", j.get("activation_function").asText());
        assertEquals(256, j.get("n_ctx").asInt());
        assertEquals(256, j.get("n_positions").asInt());
        assertEquals(8191, j.get("eos_token_id").asInt());
        assertEquals(true, j.get("tie_word_embeddings").asBoolean());
        for (String p : new String[] {"resid_pdrop", "embd_pdrop", "attn_pdrop"}) assertEquals(0.0, j.get(p).asDouble(), p);
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left beside config.json");
        }
    }

    @Test
    void sizesOfGpt2Small() {
        GPT2Config c = GPT2Config.gpt2Small();
        assertEquals(64, c.headDim());
        assertEquals(124_439_808L, c.parameterCount()); // GPT2LMHeadModel.num_parameters() for "gpt2"
        assertEquals(50256, c.eosTokenId());
    }

    @Test
    void defaultsAndFallbacks() throws IOException {
        GPT2Config c = read("""
                {"n_layer": 2, "n_head": 2, "n_embd": 8, "vocab_size": 300, "n_ctx": 16, "activation_function": "gelu"}""");
        assertEquals(new GPT2Config(2, 2, 8, 300, 16, 1e-5, Activation.GELU_EXACT, 299, 299), c);
        assertEquals(Activation.GELU_TANH, read(minimal("\"activation_function\": \"gelu_pytorch_tanh\"")).activation());
        assertEquals(Activation.GELU_TANH, read(minimal("\"activation_function\": \"gelu_fast\"")).activation());
        assertEquals(Activation.GELU_TANH, read(minimal("\"tie_word_embeddings\": true, \"bos_token_id\": null")).activation());
    }

    @Test
    void constructorValidationMessages() {
        assertInvalid("n_layer must be positive, got 0", () -> new GPT2Config(0, 1, 8, 10, 4, 1e-5, Activation.GELU_TANH, 0, 0));
        assertInvalid("n_head must be positive, got -1", () -> new GPT2Config(1, -1, 8, 10, 4, 1e-5, Activation.GELU_TANH, 0, 0));
        assertInvalid("n_embd must be positive, got 0", () -> new GPT2Config(1, 1, 0, 10, 4, 1e-5, Activation.GELU_TANH, 0, 0));
        assertInvalid("vocab_size must be positive, got 0", () -> new GPT2Config(1, 1, 8, 0, 4, 1e-5, Activation.GELU_TANH, 0, 0));
        assertInvalid("n_positions must be positive, got 0", () -> new GPT2Config(1, 1, 8, 10, 0, 1e-5, Activation.GELU_TANH, 0, 0));
        assertInvalid("n_embd 100 is not divisible by n_head 3", () -> GPT2Config.of(1, 100, 3, 10, 4));
        assertInvalid("layer_norm_epsilon must be positive and finite, got 0.0",
                () -> new GPT2Config(1, 1, 8, 10, 4, 0, Activation.GELU_TANH, 0, 0));
        assertInvalid("layer_norm_epsilon must be positive and finite, got NaN",
                () -> new GPT2Config(1, 1, 8, 10, 4, Double.NaN, Activation.GELU_TANH, 0, 0));
        assertInvalid("layer_norm_epsilon must be positive and finite, got Infinity",
                () -> new GPT2Config(1, 1, 8, 10, 4, Double.POSITIVE_INFINITY, Activation.GELU_TANH, 0, 0));
        assertInvalid("activation_function is required", () -> new GPT2Config(1, 1, 8, 10, 4, 1e-5, null, 0, 0));
        assertInvalid("bos_token_id 10 is outside [0, 10)", () -> new GPT2Config(1, 1, 8, 10, 4, 1e-5, Activation.GELU_TANH, 10, 0));
        assertInvalid("eos_token_id -1 is outside [0, 10)", () -> new GPT2Config(1, 1, 8, 10, 4, 1e-5, Activation.GELU_TANH, 0, -1));
        assertInvalid("activation_function 'relu' is not supported (expected gelu_new, gelu_pytorch_tanh, gelu_fast or gelu)",
                () -> Activation.fromHf("relu"));
    }

    @Test
    void readProblemsNameTheFileAndField() throws IOException {
        assertReadFails("missing field n_layer", "{\"n_head\": 1, \"n_embd\": 8, \"vocab_size\": 10, \"n_positions\": 4}");
        assertReadFails("missing field n_positions", "{\"n_layer\": 1, \"n_head\": 1, \"n_embd\": 8, \"vocab_size\": 10}");
        assertReadFails("field n_head must be an integer, got \"12\"", minimal("\"n_head\": \"12\""));
        assertReadFails("field n_embd must be an integer, got 8.5", minimal("\"n_embd\": 8.5"));
        assertReadFails("field layer_norm_epsilon must be a number, got \"small\"", minimal("\"layer_norm_epsilon\": \"small\""));
        assertReadFails("field tie_word_embeddings must be true or false, got 1", minimal("\"tie_word_embeddings\": 1"));
        assertReadFails("tie_word_embeddings false: untied unembedding not supported", minimal("\"tie_word_embeddings\": false"));
        assertReadFails("model_type 'llama' is not gpt2", minimal("\"model_type\": \"llama\""));
        assertReadFails("activation_function 'relu' is not supported", minimal("\"activation_function\": \"relu\""));
        assertReadFails("n_inner 16 is not 4·n_embd = 32", minimal("\"n_inner\": 16"));
        assertReadFails("scale_attn_weights false is not supported", minimal("\"scale_attn_weights\": false"));
        assertReadFails("scale_attn_by_inverse_layer_idx true is not supported", minimal("\"scale_attn_by_inverse_layer_idx\": true"));
        assertReadFails("n_embd 8 is not divisible by n_head 3", minimal("\"n_head\": 3"));
        assertReadFails("eos_token_id 10 is outside [0, 10)", minimal("\"eos_token_id\": 10"));
        assertReadFails("malformed JSON", "{\"n_layer\": 1,");
        assertReadFails("not a JSON object", "[1, 2]");
        InputException e = assertThrows(InputException.class, () -> GPT2Config.read(dir.resolve("absent.json")));
        assertEquals(dir.resolve("absent.json") + ": no such file", e.getMessage());
    }

    /** A valid small config with {@code extra} fields (which, being later, override). */
    private static String minimal(String extra) {
        return "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8, \"vocab_size\": 10, \"n_positions\": 4, " + extra + "}";
    }

    private GPT2Config read(String json) throws IOException {
        Path file = Files.createTempFile(dir, "config", ".json");
        Files.writeString(file, json);
        return GPT2Config.read(file);
    }

    private void assertReadFails(String expected, String json) throws IOException {
        InputException e = assertThrows(InputException.class, () -> read(json), expected);
        String message = e.getMessage();
        assertEquals(true, message.startsWith(dir.toString()) && message.contains(": " + expected), message);
        assertEquals(1, message.lines().count(), message);
    }

    private static void assertInvalid(String expected, Runnable construct) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, construct::run).getMessage());
    }
}
