package dev.imprint.curvature;

/**
 * The damping λ of (G + λI)⁻¹ (method §1, §3), chosen per layer from the eigenvalues Λ that the
 * layer's strategy divides by.
 */
public sealed interface Damping {

    /** λ for one layer whose strategy divides by {@code eigenvalues}. */
    double lambda(double[] eigenvalues);

    /** The paper's default: λ = 0.1 × mean(Λ), per layer. */
    static Damping paperDefault() {
        return new Relative(0.1);
    }

    /** λ = factor × mean(Λ). */
    record Relative(double factor) implements Damping {
        public Relative {
            if (!(factor > 0) || !Double.isFinite(factor)) throw new IllegalArgumentException("illegal relative damping " + factor + ": must be positive and finite");
        }

        @Override
        public double lambda(double[] eigenvalues) {
            double sum = 0;
            for (double e : eigenvalues) sum += e;
            return factor * sum / eigenvalues.length;
        }
    }

    /** The same λ for every layer: an explicit value overrides the relative default. */
    record Absolute(double value) implements Damping {
        public Absolute {
            if (!(value > 0) || !Double.isFinite(value)) throw new IllegalArgumentException("illegal damping " + value + ": must be positive and finite");
        }

        @Override
        public double lambda(double[] eigenvalues) {
            return value;
        }
    }

    /**
     * 1/(Λ + λ) element-wise, in float64 (method §3), λ from this damping. Fails, naming the layer,
     * when an entry is not positive (e.g. a layer whose gradients were all zero, under relative damping).
     */
    default double[] reciprocal(double[] eigenvalues, String layer) {
        double lambda = lambda(eigenvalues);
        double[] r = new double[eigenvalues.length];
        for (int i = 0; i < r.length; i++) {
            double d = eigenvalues[i] + lambda;
            if (!(d > 0) || !Double.isFinite(d))
                throw new IllegalStateException(layer + ": Λ + λ = " + d + " at entry " + i + " (λ = " + lambda + "); give an explicit positive damping");
            r[i] = 1.0 / d;
        }
        return r;
    }
}
