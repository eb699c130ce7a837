package dev.imprint.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The GPT-2 architecture, as Hugging Face's {@code GPT2Config} describes it in a {@code config.json}:
 * learned positions, pre-LN blocks, an MLP of width 4C and an unembedding tied to the token embedding.
 * Dimensions: L layers, H heads, C channels, V vocabulary, Tmax positions.
 *
 * @param nLayer           L ({@code n_layer})
 * @param nHead            H ({@code n_head}); C must be divisible by H
 * @param nEmbd            C ({@code n_embd})
 * @param vocabSize        V ({@code vocab_size})
 * @param nPositions       Tmax ({@code n_positions}, older files: {@code n_ctx})
 * @param layerNormEpsilon ε added to the variance in every layer norm ({@code layer_norm_epsilon})
 * @param activation       the MLP nonlinearity ({@code activation_function})
 * @param bosTokenId       {@code bos_token_id}, in [0, V)
 * @param eosTokenId       {@code eos_token_id}, in [0, V)
 */
public record GPT2Config(int nLayer, int nHead, int nEmbd, int vocabSize, int nPositions, double layerNormEpsilon,
                         Activation activation, int bosTokenId, int eosTokenId) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The MLP's GELU: the tanh approximation GPT-2 was trained with, or the exact erf form. */
    public enum Activation {
        /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — HF {@code gelu_new}, {@code gelu_pytorch_tanh}, {@code gelu_fast}. */
        GELU_TANH("gelu_new"),
        /** 0.5·x·(1 + erf(x/√2)) — HF {@code gelu}. */
        GELU_EXACT("gelu");

        /** The name {@link #write} puts in {@code activation_function}. */
        public final String hfName;

        Activation(String hfName) {
            this.hfName = hfName;
        }

        /** The activation for an HF {@code activation_function} name. */
        public static Activation fromHf(String name) {
            return switch (name) {
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "gelu" -> GELU_EXACT;
                default -> throw new IllegalArgumentException("activation_function '" + name
                        + "' is not supported (expected gelu_new, gelu_pytorch_tanh, gelu_fast or gelu)");
            };
        }
    }

    public GPT2Config {
        positive("n_layer", nLayer);
        positive("n_head", nHead);
        positive("n_embd", nEmbd);
        positive("vocab_size", vocabSize);
        positive("n_positions", nPositions);
        if (nEmbd % nHead != 0) throw new IllegalArgumentException("n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        if (!(layerNormEpsilon > 0) || Double.isInfinite(layerNormEpsilon))
            throw new IllegalArgumentException("layer_norm_epsilon must be positive and finite, got " + layerNormEpsilon);
        if (activation == null) throw new IllegalArgumentException("activation_function is required");
        tokenId("bos_token_id", bosTokenId, vocabSize);
        tokenId("eos_token_id", eosTokenId, vocabSize);
    }

    private static void positive(String field, int value) {
        if (value <= 0) throw new IllegalArgumentException(field + " must be positive, got " + value);
    }

    private static void tokenId(String field, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) throw new IllegalArgumentException(field + " " + id + " is outside [0, " + vocabSize + ")");
    }

    /** GPT-2 small (124M): 12 layers, C = 768, 12 heads, GPT-2's vocabulary and 1024 positions. */
    public static GPT2Config gpt2Small() {
        return of(12, 768, 12, 50257, 1024);
    }

    /** A GPT-2 with GPT-2's defaults (ε = 1e-5, tanh GELU) and the last id as both bos and eos. */
    public static GPT2Config of(int layers, int dim, int heads, int vocab, int positions) {
        return new GPT2Config(layers, heads, dim, vocab, positions, 1e-5, Activation.GELU_TANH, vocab - 1, vocab - 1);
    }

    /** C / H, the width of one attention head. */
    public int headDim() {
        return nEmbd / nHead;
    }

    /**
     * Number of parameters: wte V·C + wpe Tmax·C + per layer 12C² + 13C (ln_1 2C, c_attn 3C² + 3C,
     * attn c_proj C² + C, ln_2 2C, c_fc 4C² + 4C, mlp c_proj 4C² + C) + ln_f 2C. The unembedding is wte.
     */
    public long parameterCount() {
        long c = nEmbd;
        return (long) vocabSize * c + (long) nPositions * c + nLayer * (12 * c * c + 13 * c) + 2 * c;
    }

    /**
     * Reads a Hugging Face {@code config.json}. Missing fields take HF's defaults where HF has one
     * (ε = 1e-5, {@code gelu_new}); absent token ids default to V − 1, which is HF's 50256 for
     * GPT-2's own vocabulary. Variants this implementation does not compute (an untied unembedding,
     * another MLP width, other attention scalings) are refused rather than silently ignored.
     */
    public static GPT2Config read(Path configJson) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson));
        } catch (NoSuchFileException e) {
            throw InputException.notFound(configJson + ": no such file");
        } catch (JsonProcessingException e) {
            throw new InputException(configJson + ": malformed JSON (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")", e);
        } catch (IOException e) {
            throw new InputException(configJson + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new InputException(configJson + ": not a JSON object");
        Fields f = new Fields(configJson, root);
        String modelType = f.string("model_type", "gpt2");
        if (!modelType.equals("gpt2")) throw f.bad("model_type '" + modelType + "' is not gpt2");
        if (!f.bool("tie_word_embeddings", true)) throw f.bad("tie_word_embeddings false: untied unembedding not supported");
        if (!f.bool("scale_attn_weights", true)) throw f.bad("scale_attn_weights false is not supported");
        if (f.bool("scale_attn_by_inverse_layer_idx", false)) throw f.bad("scale_attn_by_inverse_layer_idx true is not supported");
        int nEmbd = f.integer("n_embd");
        int nInner = f.integer("n_inner", 4 * nEmbd);
        if (nInner != 4 * nEmbd) throw f.bad("n_inner " + nInner + " is not 4·n_embd = " + 4 * nEmbd);
        int vocab = f.integer("vocab_size");
        String positionsField = root.hasNonNull("n_positions") || !root.hasNonNull("n_ctx") ? "n_positions" : "n_ctx";
        int positions = f.integer(positionsField);
        try {
            return new GPT2Config(f.integer("n_layer"), f.integer("n_head"), nEmbd, vocab, positions,
                    f.number("layer_norm_epsilon", 1e-5), Activation.fromHf(f.string("activation_function", "gelu_new")),
                    f.integer("bos_token_id", vocab - 1), f.integer("eos_token_id", vocab - 1));
        } catch (IllegalArgumentException e) {
            throw f.bad(e.getMessage());
        }
    }

    /** Typed access to config.json fields; every problem names the file and the field. A JSON null counts as absent. */
    private record Fields(Path file, JsonNode root) {
        InputException bad(String what) {
            return new InputException(file + ": " + what);
        }

        private JsonNode required(String name) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) throw bad("missing field " + name);
            return n;
        }

        int integer(String name) {
            JsonNode n = required(name);
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw bad("field " + name + " must be an integer, got " + n);
            return n.intValue();
        }

        int integer(String name, int absent) {
            return root.hasNonNull(name) ? integer(name) : absent;
        }

        double number(String name, double absent) {
            if (!root.hasNonNull(name)) return absent;
            JsonNode n = root.get(name);
            if (!n.isNumber()) throw bad("field " + name + " must be a number, got " + n);
            return n.doubleValue();
        }

        String string(String name, String absent) {
            if (!root.hasNonNull(name)) return absent;
            JsonNode n = root.get(name);
            if (!n.isTextual()) throw bad("field " + name + " must be a string, got " + n);
            return n.textValue();
        }

        boolean bool(String name, boolean absent) {
            if (!root.hasNonNull(name)) return absent;
            JsonNode n = root.get(name);
            if (!n.isBoolean()) throw bad("field " + name + " must be true or false, got " + n);
            return n.booleanValue();
        }
    }

    /** Writes this as a Hugging Face {@code config.json} that {@code GPT2LMHeadModel} loads, atomically. */
    public void write(Path configJson) {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("GPT2LMHeadModel");
        root.put("model_type", "gpt2");
        root.put("n_layer", nLayer).put("n_head", nHead).put("n_embd", nEmbd);
        root.put("vocab_size", vocabSize).put("n_positions", nPositions).put("n_ctx", nPositions);
        root.put("layer_norm_epsilon", layerNormEpsilon).put("activation_function", activation.hfName);
        root.put("bos_token_id", bosTokenId).put("eos_token_id", eosTokenId);
        root.put("tie_word_embeddings", true);
        // Imprint's forward pass has no dropout; saying so keeps HF's train-mode forward identical.
        root.put("resid_pdrop", 0.0).put("embd_pdrop", 0.0).put("attn_pdrop", 0.0);
        try {
            AtomicFiles.writeString(configJson, JSON.writeValueAsString(root) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
