package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * K-FAC's eigenvalues are per token, EK-FAC's per sequence (method §3.1). On sequences of T
 * independent, zero-mean tokens, E[(Q_Sᵀ DW̄ Q_A)²] = T λ_S λ_A, so EK-FAC's Λ is T times K-FAC's,
 * and the per-sequence K-FAC (kfac-sequence) matches EK-FAC's scale.
 */
class KfacScaleTest {
    @Test
    void perSequenceKfacIsOnEkfacsScaleWhenTokensAreIndependent(@TempDir Path dir) {
        int T = 12, n = 3000;
        int[] lengths = new int[n];
        java.util.Arrays.fill(lengths, T);
        Synthetic data = new Synthetic(Synthetic.LAYERS, lengths, Synthetic.random("kfac scale"));
        CurvatureFactors factors = CurvatureFactors.open(dir, new FactorArguments("model", "store", n, 1, Synthetic.LAYERS));
        new FactorFitter(factors, FitProgress.NONE).fit(new Strategy.Ekfac(), data.pass(java.util.stream.IntStream.range(0, n / 100).map(i -> 100).toArray()));
        for (TrackedLayer layer : Synthetic.LAYERS) {
            KroneckerEigenbasis basis = factors.eigenbasis(layer);
            double[] token = new Strategy.Kfac().eigenvalues(factors, layer, basis), sequence = new Strategy.KfacPerSequence().eigenvalues(factors, layer, basis),
                    ekfac = new Strategy.Ekfac().eigenvalues(factors, layer, basis);
            double sumToken = 0, sumSequence = 0, sumEkfac = 0;
            for (int i = 0; i < ekfac.length; i++) {
                assertEquals(T * token[i], sequence[i], 1e-12 * sequence[i], "T̄ λ_S λ_A, entry " + i);
                sumToken += token[i];
                sumSequence += sequence[i];
                sumEkfac += ekfac[i];
            }
            // the bias column of ā is a constant 1, not zero-mean, but Ds is zero-mean and independent across tokens,
            // so the cross-token terms still vanish in expectation: only sampling noise separates the two
            assertEquals(1.0, sumEkfac / sumSequence, 0.05, layer.name() + ": mean EK-FAC Λ over per-sequence K-FAC");
            assertEquals(T, sumEkfac / sumToken, 0.05 * T, layer.name() + ": EK-FAC's Λ is T times per-token K-FAC's");
        }
    }
}
