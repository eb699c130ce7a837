package dev.imprint.report;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The tail fit (method §6) on draws whose law is known: a Pareto tail is recovered and accepted
 * by the bootstrap, a tail of two spikes is rejected, and the fit only looks at the top 1%.
 */
class ScoreDistributionTest {
    @Test
    void aParetoTailIsRecoveredAndAcceptedAndAnExponentialOneIsRejected() {
        Random r = new Random(7);
        int n = 100_000;
        float[] pareto = new float[n], exponential = new float[n];
        for (int i = 0; i < n; i++) {
            pareto[i] = (float) Math.pow(1 - r.nextDouble(), -1 / 2.0); // density ∝ x^−3 above 1
            exponential[i] = (float) -Math.log(1 - r.nextDouble());
        }
        ScoreDistribution.PowerLaw p = ScoreDistribution.of(pareto).powerLaw();
        assertEquals(3.0, p.alpha(), 0.3, p.toString());
        assertTrue(p.pValue() > 0.1, "a true power law is accepted: " + p);
        assertTrue(p.tailFraction() >= 1e-4 && p.tailFraction() <= 0.01, p.toString());
        // over the top 1% alone the test has little power: an exponential tail passes as a steep power law
        ScoreDistribution.PowerLaw e = ScoreDistribution.of(exponential).powerLaw();
        assertTrue(e.alpha() > 5, "an exponential's top 1% looks like a steep power law: " + e);
        // a tail made of two spikes is far from any power law and is rejected
        float[] spikes = new float[n];
        for (int i = 0; i < n; i++) spikes[i] = i < n - 1000 ? (float) r.nextGaussian() : i % 2 == 0 ? 10f : 10.5f;
        ScoreDistribution.PowerLaw s = ScoreDistribution.of(spikes).powerLaw();
        assertTrue(s.pValue() < 0.01, "two spikes are not a power law: " + s);
        // the share of the top 1% counts every scored sequence, negative ones included
        float[] mixed = new float[200];
        for (int i = 0; i < mixed.length; i++) mixed[i] = i < 100 ? -1f : 1f;
        mixed[199] = 101f;
        assertEquals(102.0 / 200.0, ScoreDistribution.of(mixed).top1PercentShare(), 1e-12, "top 2 of 200: 101 + 1 of the positive Σ 200");
    }
}
