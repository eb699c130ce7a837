package dev.imprint.curvature;

import dev.imprint.tensor.HeapArrays;

import dev.imprint.tensor.Mat;

/**
 * The preconditioner K-FAC and EK-FAC share (Eq. 21):
 * V ↦ Q_S [(Q_Sᵀ V Q_A) ⊘ (Λ + λ)] Q_Aᵀ — rotate into the Kronecker eigenbasis, divide by the
 * damped eigenvalues, rotate back. The strategies differ only in Λ: λ_S λ_Aᵀ for K-FAC, the
 * corrected eigenvalues for EK-FAC. Costs four GEMMs, O(P²A + PA²), or O(P²A/O + PA²/O) with
 * block-diagonal factors of O blocks (one GEMM per block).
 */
public final class EigenbasisPreconditioner implements Preconditioner {
    private final KroneckerEigenbasis basis;
    private final double[] reciprocal;    // 1/(Λ + λ), (P, A), float64

    /** @param reciprocal 1/(Λ + λ), (P, A) row-major, float64 (see {@link Damping#reciprocal}) */
    public EigenbasisPreconditioner(KroneckerEigenbasis basis, double[] reciprocal) {
        int p = basis.gradient().dim(), a = basis.activation().dim();
        if (reciprocal.length != (long) p * a) throw new IllegalArgumentException("reciprocal has " + reciprocal.length + " entries, expected " + p + "x" + a);
        this.basis = basis;
        this.reciprocal = reciprocal;
    }

    /** Bytes held: the float32 bases and the float64 reciprocal. */
    public long bytes() {
        return basis.bytes() + HeapArrays.doubles(reciprocal.length);
    }

    @Override
    public int rows() {
        return basis.gradient().dim();
    }

    @Override
    public int cols() {
        return basis.activation().dim();
    }

    @Override
    public Mat precondition(Mat v) {
        Preconditioner.checkShape(this, v);
        Mat u = toEigenbasis(v), t = Mat.zeros(rows(), cols()), out = Mat.zeros(rows(), cols());
        float[] d = u.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (d[i] * reciprocal[i]); // ⊘ (Λ + λ)
        basis.activation().timesTransposed(t, u);        // · Q_Aᵀ
        basis.gradient().leftTimes(out, t);              // Q_S ·
        return out;
    }

    /** Q_Sᵀ V Q_A: V in the Kronecker eigenbasis, a fresh (P, A) matrix. */
    private Mat toEigenbasis(Mat v) {
        Mat t = Mat.zeros(rows(), cols()), u = Mat.zeros(rows(), cols());
        basis.gradient().transposeTimes(t, v);           // Q_Sᵀ V
        basis.activation().times(u, t);                  // (Q_Sᵀ V) Q_A
        return u;
    }

    /**
     * ⟨V, Q_S [(Q_Sᵀ V Q_A) ⊘ (Λ + λ)] Q_Aᵀ⟩ = Σ (Q_Sᵀ V Q_A)∘² ⊘ (Λ + λ), the eigenbasis being
     * orthonormal: two GEMMs instead of four.
     */
    @Override
    public double quadraticForm(Mat v) {
        Preconditioner.checkShape(this, v);
        return Preconditioner.weightedSquares(toEigenbasis(v), reciprocal);
    }

    @Override
    public double[] precondition(double[] v) {
        Preconditioner.checkShape(this, v);
        int p = rows(), a = cols();
        double[] qs = basis.gradient().dense(), qa = basis.activation().dense();
        double[] u = DoubleMatrices.mul(DoubleMatrices.mul(qs, true, v, false, p, p, a), false, qa, false, p, a, a);
        for (int i = 0; i < u.length; i++) u[i] *= reciprocal[i];
        return DoubleMatrices.mul(qs, false, DoubleMatrices.mul(u, false, qa, true, p, a, a), false, p, p, a);
    }
}
