package dev.imprint.model;

/**
 * A plain float64 GPT-2 forward written from the architecture's definition, independent of the
 * float32 kernels: the oracle for finite differences. Parameters are read from a flat double[] in
 * {@link ParameterLayout} order.
 */
final class Gpt2Reference64 {
    private final GPT2Config c;
    private final ParameterLayout layout;

    Gpt2Reference64(ParameterLayout layout) {
        this.layout = layout;
        this.c = layout.config();
    }

    /** Summed weighted NLL of the targets over the batch. */
    double loss(double[] p, SequenceBatch batch, Targets targets) {
        int T = batch.seqLen(), C = c.nEmbd(), V = c.vocabSize();
        double total = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            int n = batch.lengths()[b];
            double[][] x = new double[n][C];
            for (int t = 0; t < n; t++) {
                int tok = batch.tokens()[b * T + t];
                for (int i = 0; i < C; i++)
                    x[t][i] = p[off(ParameterKind.WTE, 0) + tok * C + i] + p[off(ParameterKind.WPE, 0) + t * C + i];
            }
            for (int l = 0; l < c.nLayer(); l++) {
                double[][] h = layerNorm(x, p, off(ParameterKind.LN1_W, l), off(ParameterKind.LN1_B, l));
                double[][] qkv = linear(h, p, off(ParameterKind.QKV_W, l), off(ParameterKind.QKV_B, l), C, 3 * C);
                double[][] y = attention(qkv, n);
                double[][] ap = linear(y, p, off(ParameterKind.ATTN_PROJ_W, l), off(ParameterKind.ATTN_PROJ_B, l), C, C);
                for (int t = 0; t < n; t++) for (int i = 0; i < C; i++) x[t][i] += ap[t][i];
                double[][] h2 = layerNorm(x, p, off(ParameterKind.LN2_W, l), off(ParameterKind.LN2_B, l));
                double[][] f = linear(h2, p, off(ParameterKind.FC_W, l), off(ParameterKind.FC_B, l), C, 4 * C);
                for (double[] row : f) for (int i = 0; i < row.length; i++) row[i] = gelu(row[i]);
                double[][] mp = linear(f, p, off(ParameterKind.FC_PROJ_W, l), off(ParameterKind.FC_PROJ_B, l), 4 * C, C);
                for (int t = 0; t < n; t++) for (int i = 0; i < C; i++) x[t][i] += mp[t][i];
            }
            double[][] hf = layerNorm(x, p, off(ParameterKind.LNF_W, 0), off(ParameterKind.LNF_B, 0));
            for (int t = 0; t < n; t++) {
                double w = targets.weights()[b * T + t];
                if (w == 0) continue;
                double[] logits = new double[V];
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    double s = 0;
                    for (int i = 0; i < C; i++) s += hf[t][i] * p[off(ParameterKind.WTE, 0) + v * C + i];
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

    private int off(ParameterKind k, int l) {
        return layout.offset(k, l);
    }

    private double[][] layerNorm(double[][] x, double[] p, int w, int b) {
        int C = c.nEmbd();
        double[][] out = new double[x.length][C];
        for (int t = 0; t < x.length; t++) {
            double m = 0, v = 0;
            for (double a : x[t]) m += a;
            m /= C;
            for (double a : x[t]) v += (a - m) * (a - m);
            v /= C;
            double s = 1 / Math.sqrt(v + c.layerNormEpsilon());
            for (int i = 0; i < C; i++) out[t][i] = (x[t][i] - m) * s * p[w + i] + p[b + i];
        }
        return out;
    }

    private static double[][] linear(double[][] x, double[] p, int w, int b, int in, int out) {
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++)
            for (int j = 0; j < out; j++) {
                double s = p[b + j];
                for (int i = 0; i < in; i++) s += x[t][i] * p[w + i * out + j];
                y[t][j] = s;
            }
        return y;
    }

    private double[][] attention(double[][] qkv, int n) {
        int C = c.nEmbd(), H = c.nHead(), D = C / H;
        double[][] y = new double[n][C];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < n; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double d = 0;
                    for (int k = 0; k < D; k++) d += qkv[i][h * D + k] * qkv[j][C + h * D + k];
                    s[j] = d / Math.sqrt(D);
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) { s[j] = Math.exp(s[j] - max); z += s[j]; }
                for (int j = 0; j <= i; j++)
                    for (int k = 0; k < D; k++) y[i][h * D + k] += s[j] / z * qkv[j][2 * C + h * D + k];
            }
        return y;
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
