package dev.imprint.curvature;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EigenbasisTest {

    @Test
    void decomposesTheSymmetrizedMatrix() {
        Random rnd = Synthetic.random("eigenbasis");
        for (int n : new int[] {1, 2, 7, 33}) {
            double[] c = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++) c[i * n + j] = c[j * n + i] = rnd.nextGaussian();
            double[] perturbed = c.clone(); // an asymmetric rounding residue, removed by symmetrization
            for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) { perturbed[i * n + j] += 1e-9; perturbed[j * n + i] -= 1e-9; }
            Eigenbasis e = Eigenbasis.of(perturbed, n);
            double[] q = e.vectors(), w = e.values();
            for (int k = 1; k < n; k++) assertTrue(w[k - 1] <= w[k], "ascending eigenvalues");
            for (int i = 0; i < n; i++)
                for (int k = 0; k < n; k++) {
                    double cq = 0, qtq = 0;
                    for (int j = 0; j < n; j++) {
                        cq += c[i * n + j] * q[j * n + k];   // (C Q)[i, k]
                        qtq += q[j * n + i] * q[j * n + k];  // (Qᵀ Q)[i, k]
                    }
                    assertEquals(q[i * n + k] * w[k], cq, 1e-11 * n, "C q_k = λ_k q_k, n=" + n);
                    assertEquals(i == k ? 1 : 0, qtq, 1e-12 * n, "orthonormal columns, n=" + n);
                }
        }
    }

    @Test
    void kroneckerEigenvaluesAreOuterProduct() {
        Eigenbasis a = new Eigenbasis(2, new double[] {1, 0, 0, 1}, new double[] {2, 3});
        Eigenbasis s = new Eigenbasis(3, new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, new double[] {5, 7, 11});
        double[] l = new KroneckerEigenbasis(FactorBasis.of(a), FactorBasis.of(s)).kroneckerEigenvalues();
        assertEquals(6, l.length);
        assertEquals(5 * 2, l[0]);
        assertEquals(5 * 3, l[1]);
        assertEquals(11 * 3, l[5]);
    }
}
