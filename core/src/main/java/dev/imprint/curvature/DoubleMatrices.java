package dev.imprint.curvature;

/** Plain float64 matrix products for the reference preconditioning path (small layers, tests). */
final class DoubleMatrices {
    private DoubleMatrices() {}

    /** op(X)(m × k) · op(Y)(k × n), row-major; op transposes when the flag is set. */
    static double[] mul(double[] x, boolean transX, double[] y, boolean transY, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) {
                double xip = transX ? x[p * m + i] : x[i * k + p];
                if (xip == 0) continue;
                for (int j = 0; j < n; j++) c[i * n + j] += xip * (transY ? y[j * k + p] : y[p * n + j]);
            }
        return c;
    }
}
