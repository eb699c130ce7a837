package dev.imprint.curvature;

import dev.imprint.InputException;
import dev.imprint.io.SafeTensors;
import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CurvatureFactorsTest {
    @TempDir
    Path dir;

    private static FactorArguments arguments(long seed) {
        return new FactorArguments("model-sha256:abc", "store-sha256:def", 3, seed, Synthetic.LAYERS);
    }

    /** A pass over the synthetic data that counts its runs. */
    private static final class CountingPass implements TapPass {
        final Synthetic data;
        int runs;

        CountingPass(Synthetic data) {
            this.data = data;
        }

        @Override
        public void run(dev.imprint.model.GradientTap tap) {
            runs++;
            data.feed(tap, 2, 1);
        }
    }

    @Test
    void fitsOnceThenReusesEveryStage() {
        Synthetic data = Synthetic.small(Synthetic.random("fitter"));
        CountingPass pass = new CountingPass(data);
        List<String> events = new ArrayList<>();
        FitProgress progress = new FitProgress() {
            public void update(Stage stage, long done, long total) { events.add(stage + " " + done + "/" + total); }
            public void reused(Stage stage) { events.add(stage + " reused"); }
        };
        new FactorFitter(CurvatureFactors.open(dir, arguments(1)), progress).fit(new Strategy.Ekfac(), pass);
        assertEquals(2, pass.runs, "covariance and eigenvalue-correction passes");
        assertEquals(List.of("COVARIANCE 2/3", "COVARIANCE 3/3", "EIGENDECOMPOSITION 1/2", "EIGENDECOMPOSITION 2/2", "LAMBDA 2/3", "LAMBDA 3/3"), events);

        events.clear();
        CurvatureFactors reopened = CurvatureFactors.open(dir, arguments(1));
        new FactorFitter(reopened, progress).fit(new Strategy.Ekfac(), pass);
        new FactorFitter(reopened, progress).fit(new Strategy.Kfac(), pass);
        assertEquals(2, pass.runs, "nothing refitted");
        assertEquals(List.of("EIGENDECOMPOSITION reused", "LAMBDA reused", "EIGENDECOMPOSITION reused"), events);

        new FactorFitter(reopened, FitProgress.NONE).fit(new Strategy.Diagonal(), pass);
        assertEquals(3, pass.runs, "the diagonal needs its own pass");
        new FactorFitter(reopened, FitProgress.NONE).fit(new Strategy.Identity(), pass);
        assertEquals(3, pass.runs, "identity needs nothing");
    }

    @Test
    void fittedPreconditionersEqualDirectComputation() {
        Random rnd = Synthetic.random("fitted preconditioners");
        Synthetic data = Synthetic.small(rnd);
        CurvatureFactors factors = CurvatureFactors.open(dir, arguments(1));
        for (Strategy s : List.of(new Strategy.Ekfac(), new Strategy.Kfac(), new Strategy.Diagonal(), new Strategy.Identity()))
            new FactorFitter(factors, FitProgress.NONE).fit(s, data.pass(3));

        List<KroneckerEigenbasis> bases = EigenvalueCorrectionTest.eigenbases(data);
        EigenvalueCorrection correction = new EigenvalueCorrection(data.layers, bases);
        data.feed(correction, 1, 1, 1);
        Preconditioners ekfac = new Strategy.Ekfac().preconditioners(factors, Damping.paperDefault());
        for (int l = 0; l < data.layers.size(); l++) {
            TrackedLayer layer = data.layers.get(l);
            double[] v = Synthetic.randomMatrix(rnd, layer.outFeatures(), layer.activationDim());
            Preconditioner direct = new EigenbasisPreconditioner(bases.get(l), Damping.paperDefault().reciprocal(correction.lambdas().get(l).mean(), layer.name()));
            assertArrayEquals(direct.precondition(v), ekfac.precondition(layer, v), 1e-12, layer.name());
        }
        // a cache of one layer reads the factors again as needed, with the same results
        Preconditioners streamed = new Strategy.Ekfac().preconditioners(factors, Damping.paperDefault(), 1);
        for (int round = 0; round < 2; round++)
            for (TrackedLayer layer : data.layers) {
                double[] v = Synthetic.randomMatrix(rnd, layer.outFeatures(), layer.activationDim());
                assertArrayEquals(ekfac.precondition(layer, v), streamed.precondition(layer, v), 0.0, layer.name() + " streamed");
            }
        // every strategy loads and keeps shapes
        for (Strategy s : List.of(new Strategy.Kfac(), new Strategy.Diagonal(), new Strategy.Identity())) {
            Preconditioners p = s.preconditioners(factors, new Damping.Absolute(1e-3));
            for (TrackedLayer layer : data.layers) assertEquals(layer.outFeatures(), p.forLayer(layer).rows());
        }
    }

    @Test
    void roundTripsEveryStage() {
        Synthetic data = Synthetic.small(Synthetic.random("factor round trip"));
        CurvatureFactors factors = CurvatureFactors.open(dir, arguments(1));
        CovarianceTap cov = new CovarianceTap(data.layers);
        data.feed(cov, 3);
        factors.writeCovariances(cov.covariances());
        List<KroneckerEigenbasis> bases = cov.covariances().stream().map(KroneckerEigenbasis::of).toList();
        factors.writeEigenbases(bases);
        EigenvalueCorrection corr = new EigenvalueCorrection(data.layers, bases);
        data.feed(corr, 3);
        factors.writeLambdas(corr.lambdas());
        for (Stage s : List.of(Stage.COVARIANCE, Stage.EIGENDECOMPOSITION, Stage.LAMBDA)) assertTrue(factors.complete(s), s.name());
        assertFalse(factors.complete(Stage.DIAGONAL_LAMBDA));

        for (int l = 0; l < data.layers.size(); l++) {
            Covariances a = cov.covariances().get(l), b = factors.covariances().get(l);
            assertArrayEquals(a.activation().sum(), b.activation().sum(), 0.0);
            assertArrayEquals(a.gradient().sum(), b.gradient().sum(), 0.0);
            assertEquals(a.gradient().count(), b.gradient().count());
            KroneckerEigenbasis e = factors.eigenbases().get(l);
            assertArrayEquals(bases.get(l).activation().vectors(), e.activation().vectors(), 0.0f);
            assertArrayEquals(bases.get(l).gradient().values(), e.gradient().values(), 0.0);
            assertArrayEquals(corr.lambdas().get(l).sum(), factors.lambdas().get(l).sum(), 0.0);
            assertEquals(3, factors.lambdas().get(l).sequences());
        }
        // Kronfluence's layout: one file per factor, one tensor per module name, the fingerprint in the metadata
        try (SafeTensors st = SafeTensors.open(dir.resolve("activation_covariance.safetensors"))) {
            assertEquals(List.of("h.0.mlp.c_fc", "h.0.mlp.c_proj"), List.copyOf(st.tensors().keySet()));
            assertArrayEquals(new long[] {6, 6}, st.info("h.0.mlp.c_fc").shape());
            assertEquals(arguments(1).fingerprint(), st.metadata().get("fingerprint"));
        }
        for (String f : List.of("gradient_covariance", "num_activation_covariance_processed", "num_gradient_covariance_processed",
                "activation_eigenvectors", "activation_eigenvalues", "gradient_eigenvectors", "gradient_eigenvalues", "lambda_matrix", "num_lambda_processed"))
            assertTrue(Files.exists(dir.resolve(f + ".safetensors")), f);
    }

    @Test
    void refusesOtherArgumentsNamingTheDifference() throws Exception {
        CurvatureFactors.open(dir, arguments(1));
        String json = Files.readString(dir.resolve(CurvatureFactors.ARGUMENTS_FILE));
        assertTrue(json.contains("\"fitting_sequences\" : 3") && json.contains("\"fingerprint\""), json);
        InputException e = assertThrows(InputException.class, () -> CurvatureFactors.open(dir, arguments(2)));
        assertEquals(dir + ": factors there were fitted with seed = 1, this run asks for seed = 2; use another factors directory or delete this one", e.getMessage());
        FactorArguments otherModel = new FactorArguments("model-sha256:xyz", "store-sha256:def", 3, 1, Synthetic.LAYERS);
        assertTrue(assertThrows(InputException.class, () -> CurvatureFactors.open(dir, otherModel)).getMessage()
                .contains("fitted with model_fingerprint = \"model-sha256:abc\", this run asks for model_fingerprint = \"model-sha256:xyz\""));
        assertNotEquals(arguments(1).fingerprint(), otherModel.fingerprint());
        assertEquals(arguments(1).fingerprint(), arguments(1).fingerprint());
    }

    @Test
    void refitsAStageWhoseFilesAreStaleOrDamaged() throws Exception {
        Synthetic data = Synthetic.small(Synthetic.random("stale stage"));
        CountingPass pass = new CountingPass(data);
        CurvatureFactors factors = CurvatureFactors.open(dir, arguments(1));
        new FactorFitter(factors, FitProgress.NONE).fit(new Strategy.Diagonal(), pass);
        assertTrue(factors.complete(Stage.DIAGONAL_LAMBDA));

        // same tensors, another fingerprint (as left by a run with other arguments): not valid here
        Path count = dir.resolve("num_diagonal_lambda_processed.safetensors");
        SafeTensors.write(count, Map.of("h.0.mlp.c_fc", SafeTensors.Tensor.i64(new long[] {3}, 1),
                "h.0.mlp.c_proj", SafeTensors.Tensor.i64(new long[] {3}, 1)), Map.of("fingerprint", "other"));
        assertFalse(factors.complete(Stage.DIAGONAL_LAMBDA));
        new FactorFitter(factors, FitProgress.NONE).fit(new Strategy.Diagonal(), pass);
        assertEquals(2, pass.runs);
        assertTrue(factors.complete(Stage.DIAGONAL_LAMBDA));

        Files.write(dir.resolve("diagonal_lambda_matrix.safetensors"), new byte[] {1, 2, 3});
        assertFalse(factors.complete(Stage.DIAGONAL_LAMBDA));
        InputException missing = assertThrows(InputException.class, factors::diagonalLambdas);
        assertTrue(missing.getMessage().contains("no valid diagonal factors for these arguments"), missing.getMessage());
        new FactorFitter(factors, FitProgress.NONE).fit(new Strategy.Diagonal(), pass);
        assertEquals(3, pass.runs);
    }

    @Test
    void rejectsAPassThatMissesSequences() {
        Synthetic data = Synthetic.small(Synthetic.random("short pass"));
        FactorArguments four = new FactorArguments("m", "s", 4, 1, Synthetic.LAYERS);
        FactorFitter fitter = new FactorFitter(CurvatureFactors.open(dir, four), FitProgress.NONE);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> fitter.fit(new Strategy.Diagonal(), data.pass(3)));
        assertEquals("the diagonal pass delivered 3 sequences to layer h.0.mlp.c_fc, expected 4 (the fitting set size)", e.getMessage());
        assertEquals("illegal fitting sequence count 0: must be at least 1",
                assertThrows(IllegalArgumentException.class, () -> new FactorArguments("m", "s", 0, 1, Synthetic.LAYERS)).getMessage());
    }
}
