package dev.imprint.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.io.JsonFiles;
import dev.imprint.io.AtomicFiles;
import dev.imprint.model.ModelConfig.AttentionSpec;
import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.tensor.Rope;

import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face {@code config.json}, read into a {@link ModelConfig} and written from one, for the
 * model types gpt2, llama, qwen2, mistral and gpt_neox. Missing fields take the defaults of the
 * family's transformers config class. Anything Imprint does not compute — another model type,
 * sliding-window attention shorter than the context, mixtures of experts, another activation or
 * rope scaling — is refused with one line naming the field, never run as a different model.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Fields that only exist for model variants Imprint does not implement. */
    private static final List<String> UNSUPPORTED = List.of("num_local_experts", "num_experts", "num_experts_per_tok",
            "moe_intermediate_size", "quantization_config", "cross_attention_hidden_size", "add_cross_attention");

    private HfConfig() {}

    /** Reads and validates a config.json. */
    public static ModelConfig read(Path configJson) {
        JsonNode root = JsonFiles.readObject(configJson);
        Fields f = new Fields(configJson, root);
        String modelType = f.string("model_type", "gpt2");
        Family family = Family.ofModelType(modelType);
        if (family == null) throw f.bad("model_type '" + modelType + "' is not supported (expected gpt2, llama, qwen2, mistral or gpt_neox)");
        for (String field : UNSUPPORTED)
            if (root.hasNonNull(field) && !(root.get(field).isBoolean() && !root.get(field).booleanValue()))
                throw f.bad(field + " is set: " + field.replace('_', ' ') + " is not supported");
        try {
            return switch (family) {
                case GPT2 -> gpt2(f);
                case LLAMA, QWEN2, MISTRAL -> llama(f, family);
                case GPT_NEOX -> neox(f);
            };
        } catch (IllegalArgumentException e) {
            throw f.bad(e.getMessage());
        }
    }

    private static ModelConfig gpt2(Fields f) {
        if (!f.bool("scale_attn_weights", true)) throw f.bad("scale_attn_weights false is not supported");
        if (f.bool("scale_attn_by_inverse_layer_idx", false)) throw f.bad("scale_attn_by_inverse_layer_idx true is not supported");
        int C = f.integer("n_embd"), H = f.integer("n_head"), V = f.integer("vocab_size");
        if (H <= 0 || C % H != 0) throw f.bad("n_embd " + C + " is not divisible by n_head " + H);
        String positionsField = f.root.hasNonNull("n_positions") || !f.root.hasNonNull("n_ctx") ? "n_positions" : "n_ctx";
        MlpSpec.Kind act = gelu(f, "activation_function", "gelu_new");
        return new ModelConfig(Family.GPT2, f.integer("n_layer"), C, V, f.integer(positionsField),
                Norm.layerNorm(f.number("layer_norm_epsilon", 1e-5)),
                new AttentionSpec(H, H, C / H, true, true, QkvFusion.FUSED_BLOCKS), new Positions.Learned(),
                new MlpSpec(act, f.integer("n_inner", 4 * C), true), false, f.bool("tie_word_embeddings", true),
                f.tokenId("bos_token_id", V - 1), f.tokenId("eos_token_id", V - 1));
    }

    private static ModelConfig llama(Fields f, Family family) {
        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu")) throw f.bad("hidden_act '" + act + "' is not supported (expected silu)");
        int C = f.integer("hidden_size"), H = f.integer("num_attention_heads"), V = f.integer("vocab_size");
        int KV = f.integer("num_key_value_heads", H);
        if (H <= 0) throw f.bad("num_attention_heads must be positive, got " + H);
        int D = f.integer("head_dim", C / H);
        int context = f.integer("max_position_embeddings", family == Family.MISTRAL ? 32768 : 2048);
        if (family == Family.QWEN2 && f.bool("use_sliding_window", false))
            throw f.bad("use_sliding_window true: sliding-window attention is not supported");
        if (family == Family.MISTRAL && f.root.hasNonNull("sliding_window")) {
            // Within the window, sliding-window attention is plain causal attention: cap the context there.
            int window = f.integer("sliding_window");
            if (window <= 0) throw f.bad("sliding_window must be positive, got " + window);
            context = Math.min(context, window);
        }
        boolean qkvBias, outBias;
        if (family == Family.QWEN2) {
            qkvBias = true;
            outBias = false;
        } else {
            qkvBias = outBias = f.bool("attention_bias", false);
        }
        boolean mlpBias = family == Family.LLAMA && f.bool("mlp_bias", false);
        return new ModelConfig(family, f.integer("num_hidden_layers"), C, V, context, Norm.rms(f.number("rms_norm_eps", 1e-6)),
                new AttentionSpec(H, KV, D, qkvBias, outBias, QkvFusion.SEPARATE),
                new Positions.Rotary(f.number("rope_theta", 10000.0), D, ropeScaling(f)),
                new MlpSpec(MlpSpec.Kind.SWIGLU, f.integer("intermediate_size"), mlpBias), false,
                f.bool("tie_word_embeddings", false), f.tokenId("bos_token_id", family == Family.LLAMA ? 1 : V - 1),
                f.tokenId("eos_token_id", family == Family.LLAMA ? 2 : V - 1));
    }

    private static ModelConfig neox(Fields f) {
        int C = f.integer("hidden_size"), H = f.integer("num_attention_heads"), V = f.integer("vocab_size");
        if (H <= 0 || C % H != 0) throw f.bad("hidden_size " + C + " is not divisible by num_attention_heads " + H);
        if (f.root.hasNonNull("rope_scaling")) throw f.bad("rope_scaling is not supported for gpt_neox");
        int D = C / H;
        double pct = f.number("rotary_pct", 0.25);
        int R = (int) (D * pct); // as GPTNeoXAttention: int(head_size * rotary_pct)
        if (!(pct > 0) || pct > 1 || R < 2 || R % 2 != 0)
            throw f.bad("rotary_pct " + pct + " gives " + R + " rotary dimensions of " + D + ": need a positive even number");
        double theta = f.root.hasNonNull("rope_theta") ? f.number("rope_theta", 10000) : f.number("rotary_emb_base", 10000);
        boolean bias = f.bool("attention_bias", true);
        return new ModelConfig(Family.GPT_NEOX, f.integer("num_hidden_layers"), C, V, f.integer("max_position_embeddings", 2048),
                Norm.layerNorm(f.number("layer_norm_eps", 1e-5)),
                new AttentionSpec(H, H, D, bias, bias, QkvFusion.FUSED_PER_HEAD), new Positions.Rotary(theta, R, Rope.Scaling.none()),
                new MlpSpec(gelu(f, "hidden_act", "gelu"), f.integer("intermediate_size", 4 * C), true),
                f.bool("use_parallel_residual", true), f.bool("tie_word_embeddings", false),
                f.tokenId("bos_token_id", 0), f.tokenId("eos_token_id", 2));
    }

    private static MlpSpec.Kind gelu(Fields f, String field, String absent) {
        String name = f.string(field, absent);
        return switch (name) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> MlpSpec.Kind.GELU_TANH;
            case "gelu" -> MlpSpec.Kind.GELU_EXACT;
            default -> throw f.bad(field + " '" + name + "' is not supported (expected gelu_new, gelu_pytorch_tanh, gelu_fast or gelu)");
        };
    }

    private static Rope.Scaling ropeScaling(Fields f) {
        JsonNode s = f.root.get("rope_scaling");
        if (s == null || s.isNull()) return Rope.Scaling.none();
        if (!s.isObject()) throw f.bad("rope_scaling must be an object, got " + s);
        Fields r = new Fields(f.file, s);
        String type = r.string("rope_type", r.string("type", "default"));
        return switch (type) {
            case "default" -> Rope.Scaling.none();
            case "llama3" -> {
                try {
                    yield Rope.Scaling.llama3(r.number("factor", Double.NaN), r.number("low_freq_factor", Double.NaN),
                            r.number("high_freq_factor", Double.NaN), r.integer("original_max_position_embeddings"));
                } catch (IllegalArgumentException e) {
                    throw f.bad("rope_scaling: " + e.getMessage());
                }
            }
            default -> throw f.bad("rope_scaling type '" + type + "' is not supported (expected llama3)");
        };
    }

    /** Writes {@code config} as the config.json its family's transformers class loads, atomically. */
    public static void write(ModelConfig config, Path configJson) {
        ObjectNode root = JSON.createObjectNode();
        Family family = config.family();
        root.putArray("architectures").add(family.architecture());
        root.put("model_type", family.modelType());
        AttentionSpec a = config.attention();
        switch (family) {
            case GPT2 -> {
                require(config, a.fusion() == QkvFusion.FUSED_BLOCKS && a.qkvBias() && a.outBias() && config.norm().bias()
                        && config.norm().kind() == Norm.Kind.LAYER_NORM && config.positions() instanceof Positions.Learned
                        && config.mlp().kind() != MlpSpec.Kind.SWIGLU && config.mlp().bias() && !config.parallelResidual());
                root.put("n_layer", config.layers()).put("n_head", a.heads()).put("n_embd", config.hidden());
                root.put("n_inner", config.mlp().width());
                root.put("vocab_size", config.vocabSize()).put("n_positions", config.contextLength()).put("n_ctx", config.contextLength());
                root.put("layer_norm_epsilon", config.norm().eps()).put("activation_function", geluName(config.mlp().kind()));
                // Imprint's forward pass has no dropout; saying so keeps HF's train-mode forward identical.
                root.put("resid_pdrop", 0.0).put("embd_pdrop", 0.0).put("attn_pdrop", 0.0);
            }
            case LLAMA, QWEN2, MISTRAL -> {
                Positions.Rotary rot = config.positions() instanceof Positions.Rotary r ? r : null;
                require(config, a.fusion() == QkvFusion.SEPARATE && config.norm().kind() == Norm.Kind.RMS_NORM && rot != null
                        && rot.rotaryDims() == a.headDim() && config.mlp().kind() == MlpSpec.Kind.SWIGLU && !config.parallelResidual()
                        && switch (family) {
                            case QWEN2 -> a.qkvBias() && !a.outBias() && !config.mlp().bias() && rot.scaling() instanceof Rope.Scaling.None;
                            case MISTRAL -> !a.qkvBias() && !a.outBias() && !config.mlp().bias() && rot.scaling() instanceof Rope.Scaling.None;
                            default -> a.qkvBias() == a.outBias();
                        });
                root.put("hidden_size", config.hidden()).put("intermediate_size", config.mlp().width());
                root.put("num_hidden_layers", config.layers()).put("num_attention_heads", a.heads()).put("num_key_value_heads", a.kvHeads());
                root.put("head_dim", a.headDim()).put("vocab_size", config.vocabSize()).put("max_position_embeddings", config.contextLength());
                root.put("rms_norm_eps", config.norm().eps()).put("rope_theta", rot.theta()).put("hidden_act", "silu");
                if (rot.scaling() instanceof Rope.Scaling.Llama3 s)
                    root.putObject("rope_scaling").put("rope_type", "llama3").put("factor", s.factor()).put("low_freq_factor", s.lowFreqFactor())
                            .put("high_freq_factor", s.highFreqFactor()).put("original_max_position_embeddings", s.originalMaxPositions());
                else root.putNull("rope_scaling");
                if (family == Family.LLAMA) root.put("attention_bias", a.qkvBias()).put("mlp_bias", config.mlp().bias());
                if (family == Family.MISTRAL) root.putNull("sliding_window");
                if (family == Family.QWEN2) root.put("use_sliding_window", false);
                root.put("attention_dropout", 0.0);
            }
            case GPT_NEOX -> {
                Positions.Rotary rot = config.positions() instanceof Positions.Rotary r ? r : null;
                require(config, a.fusion() == QkvFusion.FUSED_PER_HEAD && a.qkvBias() == a.outBias() && config.norm().bias()
                        && config.norm().kind() == Norm.Kind.LAYER_NORM && rot != null && rot.scaling() instanceof Rope.Scaling.None
                        && config.mlp().kind() != MlpSpec.Kind.SWIGLU && config.mlp().bias());
                root.put("hidden_size", config.hidden()).put("intermediate_size", config.mlp().width());
                root.put("num_hidden_layers", config.layers()).put("num_attention_heads", a.heads());
                root.put("vocab_size", config.vocabSize()).put("max_position_embeddings", config.contextLength());
                root.put("rotary_pct", (double) rot.rotaryDims() / a.headDim()).put("rotary_emb_base", rot.theta()).put("rope_theta", rot.theta());
                root.put("layer_norm_eps", config.norm().eps()).put("hidden_act", geluName(config.mlp().kind()));
                root.put("use_parallel_residual", config.parallelResidual()).put("attention_bias", a.qkvBias());
                root.put("attention_dropout", 0.0).put("hidden_dropout", 0.0);
            }
        }
        root.put("tie_word_embeddings", config.tiedHead());
        root.put("bos_token_id", config.bosTokenId()).put("eos_token_id", config.eosTokenId());
        root.put("torch_dtype", "float32");
        try {
            AtomicFiles.writeString(configJson, JSON.writeValueAsString(root) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The transformers activation name: "gelu" is the exact (erf) form, "gelu_new" the tanh approximation. */
    private static String geluName(MlpSpec.Kind kind) {
        return kind == MlpSpec.Kind.GELU_EXACT ? "gelu" : "gelu_new";
    }

    private static void require(ModelConfig config, boolean expressible) {
        if (!expressible)
            throw new IllegalArgumentException("this configuration cannot be written as a " + config.family().modelType() + " config.json: " + config);
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

        /** A token id; Llama 3 lists several end-of-sequence ids, of which the first is the one written after a document. */
        int tokenId(String name, int absent) {
            JsonNode n = root.get(name);
            if (n != null && n.isArray()) {
                if (n.isEmpty() || !n.get(0).isIntegralNumber() || !n.get(0).canConvertToInt()) throw bad("field " + name + " must be an integer or a list of integers, got " + n);
                return n.get(0).intValue();
            }
            return integer(name, absent);
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
}
