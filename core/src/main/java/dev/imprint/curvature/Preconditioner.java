package dev.imprint.curvature;

import dev.imprint.tensor.Mat;

/**
 * One layer's approximate inverse damped curvature, V ↦ (G + λI)⁻¹ V on P × A gradients
 * (method §3 table). Two paths: float32 GEMMs for scoring, and float64 loops as the reference.
 */
public sealed interface Preconditioner permits Preconditioner.Identity, Preconditioner.Elementwise, EigenbasisPreconditioner, ExactPreconditioner, LissaPreconditioner {

    /** P. */
    int rows();

    /** A. */
    int cols();

    /** A fresh (P, A) matrix holding the preconditioned V. */
    Mat precondition(Mat v);

    /** The same in float64: v and the result are (P, A) row-major. */
    double[] precondition(double[] v);

    /**
     * ⟨V, (G + λI)⁻¹ V⟩, summed in float64: one layer's term of a self-influence (method §4), without
     * forming the preconditioned matrix.
     */
    double quadraticForm(Mat v);

    /** The gradient dot product: V ↦ V (no curvature, no damping). */
    record Identity(int rows, int cols) implements Preconditioner {
        @Override
        public Mat precondition(Mat v) {
            checkShape(this, v);
            Mat out = Mat.zeros(rows, cols);
            for (int i = 0; i < rows; i++) System.arraycopy(v.data(), v.offset() + i * v.stride(), out.data(), i * cols, cols);
            return out;
        }

        @Override
        public double[] precondition(double[] v) {
            checkShape(this, v);
            return v.clone();
        }

        @Override
        public double quadraticForm(Mat v) {
            checkShape(this, v);
            return weightedSquares(v, null);
        }
    }

    /**
     * V ↦ V ⊘ (Λ + λ) in the parameter basis (the diagonal strategy).
     *
     * @param reciprocal 1/(Λ_diag + λ), (P, A) row-major, float64
     */
    record Elementwise(int rows, int cols, double[] reciprocal) implements Preconditioner {
        public Elementwise {
            if (reciprocal.length != (long) rows * cols) throw new IllegalArgumentException("reciprocal has " + reciprocal.length + " entries, expected " + rows + "x" + cols);
        }

        @Override
        public Mat precondition(Mat v) {
            checkShape(this, v);
            Mat out = Mat.zeros(rows, cols);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) out.set(i, j, (float) (v.get(i, j) * reciprocal[i * cols + j]));
            return out;
        }

        @Override
        public double[] precondition(double[] v) {
            checkShape(this, v);
            double[] out = new double[v.length];
            for (int i = 0; i < v.length; i++) out[i] = v[i] * reciprocal[i];
            return out;
        }

        @Override
        public double quadraticForm(Mat v) {
            checkShape(this, v);
            return weightedSquares(v, reciprocal);
        }
    }

    /** Σ_ij v_ij² · w_ij in float64 (w row-major like v; null for all ones). */
    static double weightedSquares(Mat v, double[] w) {
        double s = 0;
        for (int i = 0; i < v.rows(); i++)
            for (int j = 0; j < v.cols(); j++) {
                double x = v.get(i, j);
                s += w == null ? x * x : x * x * w[i * v.cols() + j];
            }
        return s;
    }

    static void checkShape(Preconditioner p, Mat v) {
        if (v.rows() != p.rows() || v.cols() != p.cols())
            throw new IllegalArgumentException("cannot precondition a " + v.rows() + "x" + v.cols() + " matrix with a " + p.rows() + "x" + p.cols() + " preconditioner");
    }

    static void checkShape(Preconditioner p, double[] v) {
        if (v.length != (long) p.rows() * p.cols())
            throw new IllegalArgumentException("cannot precondition " + v.length + " values with a " + p.rows() + "x" + p.cols() + " preconditioner");
    }
}
