package dev.imprint.model;

/**
 * A Hugging Face model family: its {@code model_type}, its class name and the names of its
 * tensors and modules. What a family computes is a {@link ModelConfig}; {@link HfConfig} reads and
 * writes its config.json. Llama, Qwen2 and Mistral share one naming.
 */
public enum Family {
    GPT2("gpt2", "GPT2LMHeadModel", Naming.GPT2),
    LLAMA("llama", "LlamaForCausalLM", Naming.LLAMA),
    QWEN2("qwen2", "Qwen2ForCausalLM", Naming.LLAMA),
    MISTRAL("mistral", "MistralForCausalLM", Naming.LLAMA),
    GPT_NEOX("gpt_neox", "GPTNeoXForCausalLM", Naming.NEOX);

    private final String modelType, architecture;
    private final Naming naming;

    Family(String modelType, String architecture, Naming naming) {
        this.modelType = modelType;
        this.architecture = architecture;
        this.naming = naming;
    }

    /** The {@code model_type} of config.json. */
    public String modelType() {
        return modelType;
    }

    /** The {@code architectures} entry of config.json: the transformers class that loads the folder. */
    public String architecture() {
        return architecture;
    }

    /** The family of a config.json {@code model_type}, or null when Imprint does not implement it. */
    public static Family ofModelType(String modelType) {
        for (Family f : values()) if (f.modelType.equals(modelType)) return f;
        return null;
    }

    /** The Hugging Face module path of a tensor's layer, e.g. {@code model.layers.3.mlp.down_proj}. */
    public String modulePath(ParameterRole role, int layer) {
        String n = tensorName(role, layer);
        return n.substring(0, n.lastIndexOf('.'));
    }

    /** The Hugging Face tensor name, e.g. {@code transformer.h.3.mlp.c_fc.weight}. */
    public String tensorName(ParameterRole role, int layer) {
        String module = naming.module(role);
        String param = switch (role) {
            case NORM1_B, QKV_B, Q_B, K_B, V_B, O_B, NORM2_B, GATE_B, UP_B, DOWN_B, FINAL_NORM_B -> "bias";
            default -> "weight";
        };
        return (role.perLayer() ? naming.block + layer + "." : "") + module + "." + param;
    }

    /**
     * Whether the family's checkpoints store this weight as (in, out) — GPT-2's Conv1D — rather
     * than torch.nn.Linear's (out, in), which is how {@link Parameters} holds it.
     */
    public boolean storesTransposed(ParameterRole role) {
        return this == GPT2 && switch (role) {
            case QKV_W, O_W, UP_W, DOWN_W -> true;
            default -> false;
        };
    }

    /**
     * Buffers some checkpoints carry that are not parameters (attention masks, rotary frequency
     * tables): skipped when reading, never written.
     */
    public boolean isBuffer(String tensorName) {
        return tensorName.endsWith(".attn.bias") || tensorName.endsWith(".attn.masked_bias")
                || tensorName.endsWith(".attention.bias") || tensorName.endsWith(".attention.masked_bias")
                || tensorName.endsWith("rotary_emb.inv_freq");
    }

    /** Module names of each family's tensors; per-layer modules are prefixed by {@code block + layer + "."}. */
    private enum Naming {
        GPT2("transformer.h.", "transformer.wte", "transformer.wpe", "ln_1", "attn.c_attn", null, null, null, "attn.c_proj",
                "ln_2", null, "mlp.c_fc", "mlp.c_proj", "transformer.ln_f", "lm_head"),
        LLAMA("model.layers.", "model.embed_tokens", null, "input_layernorm", null, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "model.norm", "lm_head"),
        NEOX("gpt_neox.layers.", "gpt_neox.embed_in", null, "input_layernorm", "attention.query_key_value", null, null, null, "attention.dense",
                "post_attention_layernorm", null, "mlp.dense_h_to_4h", "mlp.dense_4h_to_h", "gpt_neox.final_layer_norm", "embed_out");

        final String block, tokenEmbedding, positionEmbedding, norm1, qkv, q, k, v, o, norm2, gate, up, down, finalNorm, head;

        Naming(String block, String tokenEmbedding, String positionEmbedding, String norm1, String qkv, String q, String k, String v, String o,
               String norm2, String gate, String up, String down, String finalNorm, String head) {
            this.block = block;
            this.tokenEmbedding = tokenEmbedding;
            this.positionEmbedding = positionEmbedding;
            this.norm1 = norm1;
            this.qkv = qkv;
            this.q = q;
            this.k = k;
            this.v = v;
            this.o = o;
            this.norm2 = norm2;
            this.gate = gate;
            this.up = up;
            this.down = down;
            this.finalNorm = finalNorm;
            this.head = head;
        }

        String module(ParameterRole role) {
            String m = switch (role) {
                case TOKEN_EMBEDDING -> tokenEmbedding;
                case POSITION_EMBEDDING -> positionEmbedding;
                case NORM1_W, NORM1_B -> norm1;
                case QKV_W, QKV_B -> qkv;
                case Q_W, Q_B -> q;
                case K_W, K_B -> k;
                case V_W, V_B -> v;
                case O_W, O_B -> o;
                case NORM2_W, NORM2_B -> norm2;
                case GATE_W, GATE_B -> gate;
                case UP_W, UP_B -> up;
                case DOWN_W, DOWN_B -> down;
                case FINAL_NORM_W, FINAL_NORM_B -> finalNorm;
                case LM_HEAD -> head;
            };
            if (m == null) throw new IllegalArgumentException(name() + " naming has no " + role);
            return m;
        }
    }
}
