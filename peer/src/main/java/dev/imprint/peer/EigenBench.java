package dev.imprint.peer;

import dev.imprint.curvature.Eigenbasis;
import dev.imprint.tensor.Parallel;

import java.util.Random;

/**
 * Times the curvature fit's dominant one-off cost (SPEC §3, Eq. 18): the float64 symmetric
 * eigendecomposition of an n × n matrix (default 3072, GPT-2-small's widest Kronecker factor)
 * through {@link Eigenbasis#of}, i.e. symmetrization plus OpenBLAS dsyevd on {@link Parallel#threads()}
 * threads. A measurement, not a test: the first repetition includes loading the native library.
 *
 * <p>Usage: {@code EigenBench [n] [repetitions] [seed]}
 */
public final class EigenBench {
    private EigenBench() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 3072;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 20231108L;
        Random rnd = new Random(seed);
        double[] c = new double[n * n]; // a symmetric Gaussian matrix
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) c[i * n + j] = c[j * n + i] = rnd.nextGaussian();
        System.out.printf("eigendecomposition of a random symmetric %d x %d matrix (seed %d), %d threads%n", n, n, seed, Parallel.threads());
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            Eigenbasis e = Eigenbasis.of(c, n);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("  repetition %d: %.2f s (λ_min %.3f, λ_max %.3f)%n", r + 1, s, e.values()[0], e.values()[n - 1]);
        }
    }
}
