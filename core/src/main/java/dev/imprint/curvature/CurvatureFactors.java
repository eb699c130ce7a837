package dev.imprint.curvature;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.JsonFiles;
import dev.imprint.io.SafeTensors;
import dev.imprint.io.SafeTensors.Tensor;
import dev.imprint.model.TrackedLayer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * A directory of fitted factors for one set of {@link FactorArguments}, in Kronfluence's layout:
 * {@value #ARGUMENTS_FILE} plus one safetensors file per factor ({@link Stage.Factor}), each holding
 * one tensor per tracked module name and the arguments' fingerprint in its metadata. A stage's
 * output is valid when all its files exist, parse, carry the fingerprint and hold every layer
 * with the expected shape. Every file is written atomically.
 */
public final class CurvatureFactors {
    public static final String ARGUMENTS_FILE = "factor_arguments.json";
    private static final String FINGERPRINT = "fingerprint";

    private final Path dir;
    private final FactorArguments arguments;
    private final String fingerprint;

    private CurvatureFactors(Path dir, FactorArguments arguments) {
        this.dir = dir;
        this.arguments = arguments;
        this.fingerprint = arguments.fingerprint();
    }

    /**
     * Opens {@code dir} for {@code arguments}, creating it and its {@value #ARGUMENTS_FILE} if
     * needed. A directory fitted with other arguments is refused with an {@link InputException}
     * naming the first argument that differs.
     */
    public static CurvatureFactors open(Path dir, FactorArguments arguments) {
        Path file = dir.resolve(ARGUMENTS_FILE);
        ObjectNode wanted = arguments.json();
        if (Files.exists(file)) {
            requireSameArguments(file, JsonFiles.readObject(file), wanted);
        } else {
            ObjectNode stored = wanted.deepCopy().put(FINGERPRINT, arguments.fingerprint());
            try {
                AtomicFiles.writeString(file, FactorArguments.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(stored) + "\n");
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return new CurvatureFactors(dir, arguments);
    }

    private static void requireSameArguments(Path file, JsonNode stored, ObjectNode wanted) {
        Set<String> names = new LinkedHashSet<>();
        wanted.fieldNames().forEachRemaining(names::add);
        stored.fieldNames().forEachRemaining(names::add);
        names.remove(FINGERPRINT);
        for (String name : names) {
            JsonNode was = stored.get(name), now = wanted.get(name);
            if (was == null || !was.equals(now))
                throw InputException.mismatch(file.getParent() + ": factors there were fitted with " + name + " = " + show(was)
                        + ", this run asks for " + name + " = " + show(now) + "; use another factors directory or delete this one");
        }
    }

    private static String show(JsonNode n) {
        if (n == null) return "(absent)";
        String s = n.toString();
        return s.length() <= 160 ? s : s.substring(0, 157) + "...";
    }

    public Path directory() {
        return dir;
    }

    public FactorArguments arguments() {
        return arguments;
    }

    public List<TrackedLayer> layers() {
        return arguments.layers();
    }

    /** Whether {@code stage}'s output is on disk, valid, and fitted with these arguments. */
    public boolean complete(Stage stage) {
        return problem(stage) == null;
    }

    /** Whether any file of {@code stage} is on disk (complete or not). */
    public boolean started(Stage stage) {
        return stage.factors().stream().anyMatch(f -> Files.exists(dir.resolve(f.fileName)));
    }

    /**
     * What keeps {@code stage}'s output from being used, naming the file: missing, unreadable
     * (truncated, edited), fitted with other arguments, or without a tracked layer; null when it is
     * complete.
     */
    public String problem(Stage stage) {
        for (Stage.Factor f : stage.factors()) {
            Path p = dir.resolve(f.fileName);
            if (!Files.exists(p)) return p + " is missing";
            try (SafeTensors st = SafeTensors.open(p)) {
                if (!fingerprint.equals(st.metadata().get(FINGERPRINT))) return p + " was fitted with other arguments (its fingerprint differs)";
                for (TrackedLayer l : layers()) {
                    if (!st.contains(l.name())) return p + " has no factor for " + l.name();
                    SafeTensors.Info info = st.info(l.name());
                    if (info.dtype() != f.dtype || !Arrays.equals(info.shape(), f.shape(l)))
                        return p + ": " + l.name() + " is " + info.dtype() + " " + Arrays.toString(info.shape()) + ", expected "
                                + f.dtype + " " + Arrays.toString(f.shape(l));
                }
            } catch (InputException e) {
                return "damaged: " + e.getMessage();
            }
        }
        return null;
    }

    // ---- covariance stage (Eq. 16) ----

    public void writeCovariances(List<Covariances> perLayer) {
        requireLayers(perLayer.size());
        write(Stage.Factor.ACTIVATION_COVARIANCE, s -> square(perLayer.get(s).activation().sum(), perLayer.get(s).activation().dim()));
        write(Stage.Factor.GRADIENT_COVARIANCE, s -> square(perLayer.get(s).gradient().sum(), perLayer.get(s).gradient().dim()));
        write(Stage.Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED, s -> count(perLayer.get(s).activation().count()));
        write(Stage.Factor.NUM_GRADIENT_COVARIANCE_PROCESSED, s -> count(perLayer.get(s).gradient().count()));
    }

    public List<Covariances> covariances() {
        require(Stage.COVARIANCE);
        List<double[]> a = readDoubles(Stage.Factor.ACTIVATION_COVARIANCE), g = readDoubles(Stage.Factor.GRADIENT_COVARIANCE);
        long[] na = readCounts(Stage.Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED), ng = readCounts(Stage.Factor.NUM_GRADIENT_COVARIANCE_PROCESSED);
        List<Covariances> out = new ArrayList<>();
        for (int s = 0; s < layers().size(); s++) {
            TrackedLayer l = layers().get(s);
            out.add(new Covariances(new Covariance(l.activationDim(), a.get(s), na[s]), new Covariance(l.outFeatures(), g.get(s), ng[s])));
        }
        return out;
    }

    // ---- eigendecomposition stage (Eq. 18) ----

    public void writeEigenbases(List<KroneckerEigenbasis> perLayer) {
        requireLayers(perLayer.size());
        write(Stage.Factor.ACTIVATION_EIGENVECTORS, s -> square(perLayer.get(s).activation().vectors(), perLayer.get(s).activation().dim()));
        write(Stage.Factor.ACTIVATION_EIGENVALUES, s -> Tensor.f64(perLayer.get(s).activation().values(), perLayer.get(s).activation().dim()));
        write(Stage.Factor.GRADIENT_EIGENVECTORS, s -> square(perLayer.get(s).gradient().vectors(), perLayer.get(s).gradient().dim()));
        write(Stage.Factor.GRADIENT_EIGENVALUES, s -> Tensor.f64(perLayer.get(s).gradient().values(), perLayer.get(s).gradient().dim()));
    }

    public List<KroneckerEigenbasis> eigenbases() {
        require(Stage.EIGENDECOMPOSITION);
        List<double[]> qa = readDoubles(Stage.Factor.ACTIVATION_EIGENVECTORS), la = readDoubles(Stage.Factor.ACTIVATION_EIGENVALUES);
        List<double[]> qs = readDoubles(Stage.Factor.GRADIENT_EIGENVECTORS), ls = readDoubles(Stage.Factor.GRADIENT_EIGENVALUES);
        List<KroneckerEigenbasis> out = new ArrayList<>();
        for (int s = 0; s < layers().size(); s++) {
            TrackedLayer l = layers().get(s);
            out.add(new KroneckerEigenbasis(new Eigenbasis(l.activationDim(), qa.get(s), la.get(s)), new Eigenbasis(l.outFeatures(), qs.get(s), ls.get(s))));
        }
        return out;
    }

    // ---- eigenvalue correction (Eq. 19–20) and diagonal stages ----

    public void writeLambdas(List<LambdaMatrix> perLayer) {
        writeLambdas(perLayer, Stage.Factor.LAMBDA_MATRIX, Stage.Factor.NUM_LAMBDA_PROCESSED);
    }

    public List<LambdaMatrix> lambdas() {
        return lambdas(Stage.LAMBDA, Stage.Factor.LAMBDA_MATRIX, Stage.Factor.NUM_LAMBDA_PROCESSED);
    }

    public void writeDiagonalLambdas(List<LambdaMatrix> perLayer) {
        writeLambdas(perLayer, Stage.Factor.DIAGONAL_LAMBDA_MATRIX, Stage.Factor.NUM_DIAGONAL_LAMBDA_PROCESSED);
    }

    public List<LambdaMatrix> diagonalLambdas() {
        return lambdas(Stage.DIAGONAL_LAMBDA, Stage.Factor.DIAGONAL_LAMBDA_MATRIX, Stage.Factor.NUM_DIAGONAL_LAMBDA_PROCESSED);
    }

    private void writeLambdas(List<LambdaMatrix> perLayer, Stage.Factor matrix, Stage.Factor count) {
        requireLayers(perLayer.size());
        write(matrix, s -> Tensor.f64(perLayer.get(s).sum(), perLayer.get(s).rows(), perLayer.get(s).cols()));
        write(count, s -> count(perLayer.get(s).sequences()));
    }

    private List<LambdaMatrix> lambdas(Stage stage, Stage.Factor matrix, Stage.Factor count) {
        require(stage);
        List<double[]> m = readDoubles(matrix);
        long[] n = readCounts(count);
        for (int s = 0; s < m.size(); s++)
            for (double x : m.get(s))
                if (x < 0) throw damaged(dir.resolve(matrix.fileName), layers().get(s), "has a negative entry, which a sum of squares cannot be");
        List<LambdaMatrix> out = new ArrayList<>();
        for (int s = 0; s < layers().size(); s++) {
            TrackedLayer l = layers().get(s);
            out.add(new LambdaMatrix(l.outFeatures(), l.activationDim(), m.get(s), n[s]));
        }
        return out;
    }

    // ---- files ----

    private void require(Stage stage) {
        if (!complete(stage))
            throw new InputException(dir + ": no valid " + stage.title() + " factors for these arguments (fingerprint " + fingerprint + "); fit them first");
    }

    private void requireLayers(int n) {
        if (n != layers().size()) throw new IllegalArgumentException(n + " per-layer factors for " + layers().size() + " layers");
    }

    private void write(Stage.Factor factor, IntFunction<Tensor> perSlot) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int s = 0; s < layers().size(); s++) tensors.put(layers().get(s).name(), perSlot.apply(s));
        SafeTensors.write(dir.resolve(factor.fileName), tensors, Map.of(FINGERPRINT, fingerprint));
    }

    /** One factor's tensors, in layer order; a value that no fit writes (NaN, infinity) is refused as damage. */
    private List<double[]> readDoubles(Stage.Factor factor) {
        List<double[]> out = new ArrayList<>();
        Path file = dir.resolve(factor.fileName);
        try (SafeTensors st = SafeTensors.open(file)) {
            for (TrackedLayer l : layers()) {
                double[] v = st.doubles(l.name());
                for (double x : v)
                    if (!Double.isFinite(x)) throw damaged(file, l, "contains NaN or infinity");
                out.add(v);
            }
        }
        return out;
    }

    /** One count factor's values, in layer order; each at least 1. */
    private long[] readCounts(Stage.Factor factor) {
        long[] out = new long[layers().size()];
        Path file = dir.resolve(factor.fileName);
        try (SafeTensors st = SafeTensors.open(file)) {
            for (int s = 0; s < out.length; s++) {
                out[s] = st.longs(layers().get(s).name())[0];
                if (out[s] < 1) throw damaged(file, layers().get(s), "counts " + out[s] + " samples");
            }
        }
        return out;
    }

    private static InputException damaged(Path file, TrackedLayer layer, String what) {
        return new InputException(file + ": " + layer.name() + " " + what + "; the file is damaged (run 'imprint fit' again to refit it)");
    }

    private static Tensor square(double[] values, int n) {
        return Tensor.f64(values, n, n);
    }

    private static Tensor count(long n) {
        return Tensor.i64(new long[] {n}, 1);
    }
}
