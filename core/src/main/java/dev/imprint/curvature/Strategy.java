package dev.imprint.curvature;

import dev.imprint.InputException;
import dev.imprint.model.TrackedLayer;

import java.util.List;

/**
 * How the curvature G is approximated (method §3 table). Each strategy names the stages it reads and
 * turns fitted factors into one {@link Preconditioner} per layer. K-FAC and EK-FAC share the
 * eigenbasis preconditioner and differ only in the eigenvalues Λ they divide by.
 */
public sealed interface Strategy {

    /** The name used on the command line and in reports. */
    String name();

    /** The stages whose outputs this strategy reads; {@link FactorFitter} also fits their prerequisites. */
    List<Stage> stages();

    /** {@code layer}'s preconditioner, from {@code factors} (which must hold {@link #stages()}), read from disk. */
    Preconditioner preconditioner(CurvatureFactors factors, Damping damping, TrackedLayer layer);

    /**
     * The per-layer preconditioners, each read from {@code factors} when first used; at most
     * {@code cacheBytes} of them are kept in memory.
     */
    default Preconditioners preconditioners(CurvatureFactors factors, Damping damping, long cacheBytes) {
        return new Preconditioners(factors.layers(), l -> preconditioner(factors, damping, l), cacheBytes);
    }

    /** The same, every layer's kept once read. */
    default Preconditioners preconditioners(CurvatureFactors factors, Damping damping) {
        return preconditioners(factors, damping, Long.MAX_VALUE);
    }

    /** The paper's choice. */
    static Strategy defaultStrategy() {
        return new Ekfac();
    }

    /** Parses a strategy name: identity, diagonal, kfac, kfac-sequence or ekfac. */
    static Strategy parse(String name) {
        return switch (name) {
            case "identity" -> new Identity();
            case "diagonal" -> new Diagonal();
            case "kfac" -> new Kfac();
            case "kfac-sequence" -> new KfacPerSequence();
            case "ekfac" -> new Ekfac();
            default -> throw new InputException("unknown strategy '" + name + "' (expected identity, diagonal, kfac, kfac-sequence or ekfac)");
        };
    }

    /** The gradient dot product: G = I, no damping. */
    record Identity() implements Strategy {
        public String name() { return "identity"; }

        public List<Stage> stages() { return List.of(); }

        public Preconditioner preconditioner(CurvatureFactors factors, Damping damping, TrackedLayer layer) {
            return new Preconditioner.Identity(layer.outFeatures(), layer.activationDim());
        }
    }

    /** G ≈ diag(Λ_diag), Λ_diag = mean over sequences of DW̄∘², in the parameter basis. */
    record Diagonal() implements Strategy {
        public String name() { return "diagonal"; }

        public List<Stage> stages() { return List.of(Stage.DIAGONAL_LAMBDA); }

        public Preconditioner preconditioner(CurvatureFactors factors, Damping damping, TrackedLayer layer) {
            LambdaMatrix m = factors.diagonalLambda(layer);
            return new Preconditioner.Elementwise(m.rows(), m.cols(), damping.reciprocal(m.mean(), layer.name()));
        }
    }

    /** The strategies that divide in the Kronecker eigenbasis Q_A ⊗ Q_S (Eq. 21). */
    sealed interface InEigenbasis extends Strategy {
        /** Λ of {@code layer}, (P, A): the only thing K-FAC and EK-FAC disagree on. */
        double[] eigenvalues(CurvatureFactors factors, TrackedLayer layer, KroneckerEigenbasis basis);

        default Preconditioner preconditioner(CurvatureFactors factors, Damping damping, TrackedLayer layer) {
            KroneckerEigenbasis basis = factors.eigenbasis(layer);
            return new EigenbasisPreconditioner(basis, damping.reciprocal(eigenvalues(factors, layer, basis), layer.name()));
        }
    }

    /**
     * K-FAC: Λ = λ_S λ_Aᵀ, the eigenvalues of A ⊗ S. A and S are means over tokens, so Λ is per token
     * while EK-FAC's Λ and G are per sequence: for a sequence of T independent tokens G = T (A ⊗ S),
     * so K-FAC's raw scores are about T̄ times EK-FAC's and an explicit damping weighs differently in
     * the two (method §3.1). This is Kronfluence's convention, kept as the default.
     */
    record Kfac() implements InEigenbasis {
        public String name() { return "kfac"; }

        public List<Stage> stages() { return List.of(Stage.EIGENDECOMPOSITION); }

        public double[] eigenvalues(CurvatureFactors factors, TrackedLayer layer, KroneckerEigenbasis basis) {
            return basis.kroneckerEigenvalues();
        }
    }

    /**
     * K-FAC with per-sequence eigenvalues: Λ = T̄ λ_S λ_Aᵀ, T̄ the fitting sample's mean tokens per
     * sequence, so that Λ, the scores and an explicit damping are on EK-FAC's scale (method §3.1).
     */
    record KfacPerSequence() implements InEigenbasis {
        public String name() { return "kfac-sequence"; }

        public List<Stage> stages() { return List.of(Stage.EIGENDECOMPOSITION); }

        public double[] eigenvalues(CurvatureFactors factors, TrackedLayer layer, KroneckerEigenbasis basis) {
            double tokensPerSequence = (double) factors.tokensProcessed(layer) / factors.arguments().fittingSequences();
            double[] lambda = basis.kroneckerEigenvalues();
            for (int i = 0; i < lambda.length; i++) lambda[i] *= tokensPerSequence;
            return lambda;
        }
    }

    /** EK-FAC (default): Λ = mean over sequences of (Q_Sᵀ DW̄ Q_A)∘² (Eq. 20). */
    record Ekfac() implements InEigenbasis {
        public String name() { return "ekfac"; }

        public List<Stage> stages() { return List.of(Stage.EIGENDECOMPOSITION, Stage.LAMBDA); }

        public double[] eigenvalues(CurvatureFactors factors, TrackedLayer layer, KroneckerEigenbasis basis) {
            return factors.lambda(layer).mean();
        }
    }
}
