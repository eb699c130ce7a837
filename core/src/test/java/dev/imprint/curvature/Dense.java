package dev.imprint.curvature;

/**
 * Explicit (P·A)² float64 matrices for the oracle tests. vec is column-major, as in the Kronecker
 * identity vec(Y X Zᵀ) = (Z ⊗ Y) vec(X): the entry (i, j) of a P × A matrix is vec index j·P + i.
 */
final class Dense {
    private Dense() {}

    static double[] vec(double[] m, int p, int a) {
        double[] v = new double[p * a];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < a; j++) v[j * p + i] = m[i * a + j];
        return v;
    }

    static double[] unvec(double[] v, int p, int a) {
        double[] m = new double[p * a];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < a; j++) m[i * a + j] = v[j * p + i];
        return m;
    }

    /** X ⊗ Y for X (a × a) and Y (p × p): entry (j·p + i, l·p + k) = X[j, l]·Y[i, k]. */
    static double[] kron(double[] x, int a, double[] y, int p) {
        int n = a * p;
        double[] k = new double[n * n];
        for (int j = 0; j < a; j++)
            for (int l = 0; l < a; l++)
                for (int i = 0; i < p; i++)
                    for (int q = 0; q < p; q++) k[(j * p + i) * n + l * p + q] = x[j * a + l] * y[i * p + q];
        return k;
    }

    /** Q diag(d) Qᵀ. */
    static double[] conjugate(double[] q, double[] d, int n) {
        double[] out = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += q[i * n + k] * d[k] * q[j * n + k];
                out[i * n + j] = s;
            }
        return out;
    }

    /** The diagonal of Qᵀ F Q. */
    static double[] diagonalInBasis(double[] f, double[] q, int n) {
        double[] d = new double[n];
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) s += q[i * n + k] * f[i * n + j] * q[j * n + k];
            d[k] = s;
        }
        return d;
    }

    /** Solves (G + λI) x = b by Gaussian elimination with partial pivoting. */
    static double[] solveDamped(double[] g, double lambda, double[] b, int n) {
        double[] m = g.clone();
        double[] x = b.clone();
        for (int i = 0; i < n; i++) m[i * n + i] += lambda;
        for (int c = 0; c < n; c++) {
            int piv = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
            for (int k = 0; k < n; k++) {
                double t = m[c * n + k]; m[c * n + k] = m[piv * n + k]; m[piv * n + k] = t;
            }
            double t = x[c]; x[c] = x[piv]; x[piv] = t;
            for (int r = c + 1; r < n; r++) {
                double f = m[r * n + c] / m[c * n + c];
                for (int k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
                x[r] -= f * x[c];
            }
        }
        for (int r = n - 1; r >= 0; r--) {
            double s = x[r];
            for (int k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
            x[r] = s / m[r * n + r];
        }
        return x;
    }

    /** max |x − y| / max |y|: a norm-wise relative difference. */
    static double relativeError(double[] x, double[] y) {
        double diff = 0, scale = 0;
        for (int i = 0; i < y.length; i++) {
            diff = Math.max(diff, Math.abs(x[i] - y[i]));
            scale = Math.max(scale, Math.abs(y[i]));
        }
        return diff / scale;
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
