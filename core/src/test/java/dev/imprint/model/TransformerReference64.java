package dev.imprint.model;

import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.tensor.Rope;

import static dev.imprint.model.ParameterRole.*;

/**
 * A plain float64 forward of a {@link ModelConfig}, written from the Hugging Face modules
 * (GPT2LMHeadModel, LlamaForCausalLM / Qwen2 / Mistral, GPTNeoXForCausalLM) with scalar loops and
 * no float32 kernel: the oracle for finite differences and for the float32 loss. Each sequence is
 * run on its real tokens only (the attention is causal and the padding sits at the end, so a real
 * position never sees it). Parameters are one double[] per {@link ParameterLayout.Entry#index()};
 * a linear weight W is (out, in) row-major: s_i = Σ_j W[i·in + j] a_j + b_i.
 */
final class TransformerReference64 {
    private final ModelConfig c;
    private final ParameterLayout layout;
    private final double[] invFreq; // R/2 rotary frequencies (after Llama-3 scaling), null for learned positions

    TransformerReference64(ModelConfig config) {
        this.c = config;
        this.layout = config.layout();
        if (config.positions() instanceof Positions.Rotary r) {
            int R = r.rotaryDims();
            invFreq = new double[R / 2];
            for (int i = 0; i < R / 2; i++) invFreq[i] = 1.0 / Math.pow(r.theta(), 2.0 * i / R);
            if (r.scaling() instanceof Rope.Scaling.Llama3 s) llama3(invFreq, s.factor(), s.lowFreqFactor(), s.highFreqFactor(), s.originalMaxPositions());
        } else {
            invFreq = null;
        }
    }

    /** transformers' _compute_llama3_parameters, on the unscaled frequencies. */
    static void llama3(double[] inv, double factor, double low, double high, double originalMax) {
        double lowWavelen = originalMax / low, highWavelen = originalMax / high;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / factor;
            } else if (wavelen >= highWavelen) {
                double smooth = (originalMax / wavelen - low) / (high - low);
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            } // wavelen < highWavelen: unchanged
        }
    }

    /** The rotary frequencies this reference uses (for a test of the scaling regions). */
    double[] invFreq() {
        return invFreq == null ? null : invFreq.clone();
    }

    /** −Σ_r w_r log p(target_r) over the batch. */
    double loss(double[][] p, SequenceBatch batch, Targets targets) {
        int T = batch.seqLen(), C = c.hidden(), V = c.vocabSize();
        double total = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            int n = batch.lengths()[b];
            for (int t = n; t < T; t++)
                if (targets.weights()[b * T + t] != 0) throw new IllegalArgumentException("loss weight on padding position " + t + " of sequence " + b);
            double[][] x = new double[n][C];
            double[] wte = p[idx(TOKEN_EMBEDDING, -1)];
            for (int t = 0; t < n; t++) {
                int tok = batch.tokens()[b * T + t];
                for (int i = 0; i < C; i++) x[t][i] = wte[tok * C + i];
                if (c.positions() instanceof Positions.Learned) {
                    double[] wpe = p[idx(POSITION_EMBEDDING, -1)];
                    for (int i = 0; i < C; i++) x[t][i] += wpe[t * C + i];
                }
            }
            for (int l = 0; l < c.layers(); l++) {
                double[][] h1 = norm(x, p, NORM1_W, NORM1_B, l);
                double[][] attn = attention(h1, p, l);
                if (c.parallelResidual()) {
                    double[][] h2 = norm(x, p, NORM2_W, NORM2_B, l);
                    double[][] m = mlp(h2, p, l);
                    for (int t = 0; t < n; t++) for (int i = 0; i < C; i++) x[t][i] = x[t][i] + attn[t][i] + m[t][i];
                } else {
                    for (int t = 0; t < n; t++) for (int i = 0; i < C; i++) x[t][i] += attn[t][i];
                    double[][] h2 = norm(x, p, NORM2_W, NORM2_B, l);
                    double[][] m = mlp(h2, p, l);
                    for (int t = 0; t < n; t++) for (int i = 0; i < C; i++) x[t][i] += m[t][i];
                }
            }
            double[][] hf = norm(x, p, FINAL_NORM_W, FINAL_NORM_B, -1);
            double[] head = p[idx(c.tiedHead() ? TOKEN_EMBEDDING : LM_HEAD, -1)];
            for (int t = 0; t < n; t++) {
                double w = targets.weights()[b * T + t];
                if (w == 0) continue;
                double[] logits = new double[V];
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    double s = 0;
                    for (int i = 0; i < C; i++) s += hf[t][i] * head[v * C + i];
                    logits[v] = s;
                    max = Math.max(max, s);
                }
                double z = 0;
                for (double lg : logits) z += Math.exp(lg - max);
                total -= w * (logits[targets.tokens()[b * T + t]] - max - Math.log(z));
            }
        }
        return total;
    }

    private int idx(ParameterRole role, int layer) {
        return layout.entry(role, layer).index();
    }

    private double[] optional(double[][] p, ParameterRole role, int layer) {
        return layout.has(role, layer) ? p[idx(role, layer)] : null;
    }

    /** LayerNorm (biased variance, optional bias) or RMSNorm of every row. */
    private double[][] norm(double[][] x, double[][] p, ParameterRole w, ParameterRole bias, int layer) {
        int C = c.hidden();
        double eps = c.norm().eps();
        double[] g = p[idx(w, layer)], beta = optional(p, bias, layer);
        double[][] out = new double[x.length][C];
        for (int t = 0; t < x.length; t++) {
            if (c.norm().kind() == Norm.Kind.RMS_NORM) {
                double ms = 0;
                for (int i = 0; i < C; i++) ms += x[t][i] * x[t][i];
                ms /= C;
                double r = 1 / Math.sqrt(ms + eps);
                for (int i = 0; i < C; i++) out[t][i] = x[t][i] * r * g[i];
            } else {
                double mean = 0;
                for (int i = 0; i < C; i++) mean += x[t][i];
                mean /= C;
                double var = 0;
                for (int i = 0; i < C; i++) var += (x[t][i] - mean) * (x[t][i] - mean);
                var /= C;
                double r = 1 / Math.sqrt(var + eps);
                for (int i = 0; i < C; i++) out[t][i] = (x[t][i] - mean) * r * g[i] + (beta == null ? 0 : beta[i]);
            }
        }
        return out;
    }

    /** y = W a + b on every row, W (out, in) row-major, b optional. */
    private static double[][] linear(double[][] x, double[] W, double[] bias, int in, int out) {
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++)
            for (int i = 0; i < out; i++) {
                double s = bias == null ? 0 : bias[i];
                for (int j = 0; j < in; j++) s += W[i * in + j] * x[t][j];
                y[t][i] = s;
            }
        return y;
    }

    private double[][] linear(double[][] x, double[][] p, ParameterRole w, ParameterRole b, int layer) {
        ParameterLayout.Entry e = layout.entry(w, layer);
        return linear(x, p[e.index()], optional(p, b, layer), e.cols(), e.rows());
    }

    /** Causal multi-head (grouped-query) self-attention of the normed rows, through the output projection. */
    private double[][] attention(double[][] h, double[][] p, int l) {
        int n = h.length, H = c.attention().heads(), KV = c.attention().kvHeads(), D = c.headDim();
        int Q = H * D, K = KV * D;
        double[][][] q = new double[n][H][D], k = new double[n][KV][D], v = new double[n][KV][D];
        QkvFusion fusion = c.attention().fusion();
        if (fusion == QkvFusion.SEPARATE) {
            double[][] qs = linear(h, p, Q_W, Q_B, l), ks = linear(h, p, K_W, K_B, l), vs = linear(h, p, V_W, V_B, l);
            for (int t = 0; t < n; t++) {
                for (int hh = 0; hh < H; hh++) for (int d = 0; d < D; d++) q[t][hh][d] = qs[t][hh * D + d];
                for (int g = 0; g < KV; g++)
                    for (int d = 0; d < D; d++) {
                        k[t][g][d] = ks[t][g * D + d];
                        v[t][g][d] = vs[t][g * D + d];
                    }
            }
        } else {
            double[][] qkv = linear(h, p, QKV_W, QKV_B, l);
            for (int t = 0; t < n; t++)
                for (int hh = 0; hh < H; hh++)
                    for (int d = 0; d < D; d++) {
                        if (fusion == QkvFusion.FUSED_BLOCKS) {
                            // GPT-2 c_attn: split(C) into q | k | v, each viewed (H, D)
                            q[t][hh][d] = qkv[t][hh * D + d];
                            k[t][hh][d] = qkv[t][Q + hh * D + d];
                            v[t][hh][d] = qkv[t][Q + K + hh * D + d];
                        } else {
                            // GPT-NeoX query_key_value: view (H, 3D), then q | k | v inside each head
                            q[t][hh][d] = qkv[t][hh * 3 * D + d];
                            k[t][hh][d] = qkv[t][hh * 3 * D + D + d];
                            v[t][hh][d] = qkv[t][hh * 3 * D + 2 * D + d];
                        }
                    }
        }
        if (invFreq != null)
            for (int t = 0; t < n; t++) {
                for (int hh = 0; hh < H; hh++) rotate(q[t][hh], t);
                for (int g = 0; g < KV; g++) rotate(k[t][g], t);
            }
        double[][] y = new double[n][Q];
        double scale = 1 / Math.sqrt(D);
        for (int hh = 0; hh < H; hh++) {
            int g = hh / (H / KV);
            for (int i = 0; i < n; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += q[i][hh][d] * k[j][g][d];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) {
                    s[j] = Math.exp(s[j] - max);
                    z += s[j];
                }
                for (int j = 0; j <= i; j++)
                    for (int d = 0; d < D; d++) y[i][hh * D + d] += s[j] / z * v[j][g][d];
            }
        }
        return linear(y, p, O_W, O_B, l);
    }

    /** rotate_half on the first R dims: x·cos + rotate_half(x)·sin, cos and sin of t·invFreq repeated twice. */
    private void rotate(double[] x, int t) {
        int half = invFreq.length;
        for (int i = 0; i < half; i++) {
            double theta = t * invFreq[i], cos = Math.cos(theta), sin = Math.sin(theta);
            double a = x[i], b = x[i + half];
            x[i] = a * cos - b * sin;
            x[i + half] = b * cos + a * sin;
        }
    }

    private double[][] mlp(double[][] h, double[][] p, int l) {
        double[][] up = linear(h, p, UP_W, UP_B, l);
        MlpSpec.Kind kind = c.mlp().kind();
        if (kind == MlpSpec.Kind.SWIGLU) {
            double[][] gate = linear(h, p, GATE_W, GATE_B, l);
            for (int t = 0; t < up.length; t++)
                for (int i = 0; i < up[t].length; i++) up[t][i] = silu(gate[t][i]) * up[t][i];
        } else {
            for (double[] row : up)
                for (int i = 0; i < row.length; i++) row[i] = kind == MlpSpec.Kind.GELU_TANH ? geluTanh(row[i]) : geluExact(row[i]);
        }
        return linear(up, p, DOWN_W, DOWN_B, l);
    }

    static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    static double geluExact(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /**
     * erf in double to ~1e-15: the everywhere-convergent series of positive terms
     * erf(x) = 2/√π · e^{−x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (no cancellation), and ±1 past
     * |x| = 6 where erfc(6) ≈ 2e-17 is below double resolution.
     */
    static double erf(double x) {
        double a = Math.abs(x);
        if (a >= 6) return Math.signum(x);
        double x2 = a * a, term = a, sum = a;
        for (int n = 1; n < 500; n++) {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
        return x < 0 ? -r : r;
    }
}
