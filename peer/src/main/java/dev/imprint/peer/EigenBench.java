package dev.imprint.peer;

import dev.imprint.curvature.Eigenbasis;
import dev.imprint.tensor.Parallel;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.util.Random;

/**
 * Times the curvature fit's dominant one-off cost (method §3, Eq. 18): the float64 symmetric
 * eigendecomposition of an n × n matrix (default 3072, GPT-2-small's widest Kronecker factor)
 * through {@link Eigenbasis#of}, i.e. symmetrization plus OpenBLAS dsyevd on {@link Parallel#threads()}
 * threads (set {@code -Dimprint.threads}). A measurement, not a test; the first repetition
 * includes loading the native library.
 *
 * <p>Two matrices: {@code wigner}, a symmetric Gaussian matrix (flat spectrum, the hard case for
 * divide and conquer), and {@code covariance}, XᵀX/n with column scales 1/√(1+j) (a decaying
 * spectrum like the activation covariances').
 *
 * <p>Usage: {@code EigenBench [wigner|covariance] [n] [repetitions] [seed]}
 */
public final class EigenBench {
    private EigenBench() {}

    public static void main(String[] args) {
        String kind = args.length > 0 ? args[0] : "wigner";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 20231108L;
        double[] c = switch (kind) {
            case "wigner" -> wigner(n, new Random(seed));
            case "covariance" -> covariance(n, new Random(seed));
            default -> throw new IllegalArgumentException("unknown matrix kind " + kind + " (wigner or covariance)");
        };
        System.out.printf("eigendecomposition of a %s %d x %d matrix (seed %d), %d threads%n", kind, n, n, seed, Parallel.threads());
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            Eigenbasis e = Eigenbasis.of(c, n);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("  repetition %d: %.2f s (λ_min %.3g, λ_max %.3g)%n", r + 1, s, e.values()[0], e.values()[n - 1]);
        }
    }

    private static double[] wigner(int n, Random rnd) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) c[i * n + j] = c[j * n + i] = rnd.nextGaussian();
        return c;
    }

    private static double[] covariance(int n, Random rnd) {
        double[] x = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) x[i * n + j] = rnd.nextGaussian() / Math.sqrt(1 + j);
        double[] c = new double[n * n];
        openblas_nolapack.cblas_dgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasTrans, openblas_nolapack.CblasNoTrans,
                n, n, n, 1.0 / n, x, n, x, n, 0.0, c, n);
        return c;
    }
}
