package dev.imprint.curvature;

import dev.imprint.InputException;
import dev.imprint.model.TrackedLayer;

import java.util.ArrayList;
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

    /** The per-layer preconditioners, from {@code factors} (which must hold {@link #stages()}). */
    Preconditioners preconditioners(CurvatureFactors factors, Damping damping);

    /** The paper's choice. */
    static Strategy defaultStrategy() {
        return new Ekfac();
    }

    /** Parses a strategy name: identity, diagonal, kfac or ekfac. */
    static Strategy parse(String name) {
        return switch (name) {
            case "identity" -> new Identity();
            case "diagonal" -> new Diagonal();
            case "kfac" -> new Kfac();
            case "ekfac" -> new Ekfac();
            default -> throw new InputException("unknown strategy '" + name + "' (expected identity, diagonal, kfac or ekfac)");
        };
    }

    /** The gradient dot product: G = I, no damping. */
    record Identity() implements Strategy {
        public String name() { return "identity"; }

        public List<Stage> stages() { return List.of(); }

        public Preconditioners preconditioners(CurvatureFactors factors, Damping damping) {
            List<Preconditioner> out = new ArrayList<>();
            for (TrackedLayer l : factors.layers()) out.add(new Preconditioner.Identity(l.outFeatures(), l.activationDim()));
            return new Preconditioners(factors.layers(), out);
        }
    }

    /** G ≈ diag(Λ_diag), Λ_diag = mean over sequences of DW̄∘², in the parameter basis. */
    record Diagonal() implements Strategy {
        public String name() { return "diagonal"; }

        public List<Stage> stages() { return List.of(Stage.DIAGONAL_LAMBDA); }

        public Preconditioners preconditioners(CurvatureFactors factors, Damping damping) {
            List<LambdaMatrix> lambdas = factors.diagonalLambdas();
            List<Preconditioner> out = new ArrayList<>();
            for (int s = 0; s < lambdas.size(); s++) {
                LambdaMatrix m = lambdas.get(s);
                out.add(new Preconditioner.Elementwise(m.rows(), m.cols(), damping.reciprocal(m.mean(), factors.layers().get(s).name())));
            }
            return new Preconditioners(factors.layers(), out);
        }
    }

    /** The strategies that divide in the Kronecker eigenbasis Q_A ⊗ Q_S (Eq. 21). */
    sealed interface InEigenbasis extends Strategy {
        /** Λ per layer, (P, A): the only thing K-FAC and EK-FAC disagree on. */
        List<double[]> eigenvalues(CurvatureFactors factors, List<KroneckerEigenbasis> bases);

        default Preconditioners preconditioners(CurvatureFactors factors, Damping damping) {
            List<KroneckerEigenbasis> bases = factors.eigenbases();
            List<double[]> eigenvalues = eigenvalues(factors, bases);
            List<Preconditioner> out = new ArrayList<>();
            for (int s = 0; s < bases.size(); s++)
                out.add(new EigenbasisPreconditioner(bases.get(s), damping.reciprocal(eigenvalues.get(s), factors.layers().get(s).name())));
            return new Preconditioners(factors.layers(), out);
        }
    }

    /** K-FAC: Λ = λ_S λ_Aᵀ, the eigenvalues of A ⊗ S. */
    record Kfac() implements InEigenbasis {
        public String name() { return "kfac"; }

        public List<Stage> stages() { return List.of(Stage.EIGENDECOMPOSITION); }

        public List<double[]> eigenvalues(CurvatureFactors factors, List<KroneckerEigenbasis> bases) {
            return bases.stream().map(KroneckerEigenbasis::kroneckerEigenvalues).toList();
        }
    }

    /** EK-FAC (default): Λ = mean over sequences of (Q_Sᵀ DW̄ Q_A)∘² (Eq. 20). */
    record Ekfac() implements InEigenbasis {
        public String name() { return "ekfac"; }

        public List<Stage> stages() { return List.of(Stage.EIGENDECOMPOSITION, Stage.LAMBDA); }

        public List<double[]> eigenvalues(CurvatureFactors factors, List<KroneckerEigenbasis> bases) {
            return factors.lambdas().stream().map(LambdaMatrix::mean).toList();
        }
    }
}
