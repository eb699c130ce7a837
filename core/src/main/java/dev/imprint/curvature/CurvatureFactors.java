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
import java.util.function.BiFunction;

/**
 * A directory of fitted factors for one set of {@link FactorArguments}, in Kronfluence's layout:
 * {@value #ARGUMENTS_FILE} plus one safetensors file per factor ({@link Stage.Factor}), each holding
 * one tensor per tracked module name and the arguments' fingerprint in its metadata. A stage's
 * output is valid when all its files exist, parse, carry the fingerprint and hold every layer
 * with the expected shape. Every file is written atomically, a layer at a time
 * ({@link LayerWriter}), and read a layer at a time from its memory map, so that neither fitting
 * nor scoring needs every layer's factors in memory at once.
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

    /** O, the diagonal blocks of every Kronecker factor here (1: dense). */
    public int blocks() {
        return arguments.factorBlocks();
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
                    long[] shape = f.shape(l, blocks());
                    if (info.dtype() != f.dtype || !Arrays.equals(info.shape(), shape))
                        return p + ": " + l.name() + " is " + info.dtype() + " " + Arrays.toString(info.shape()) + ", expected "
                                + f.dtype + " " + Arrays.toString(shape);
                }
            } catch (InputException e) {
                return "damaged: " + e.getMessage();
            }
        }
        return null;
    }

    /**
     * One stage's files, written a layer at a time in any order (each file's header first, then
     * each layer's tensors at their places), so that a stage never holds more than the layers it
     * is working on; the files appear at {@link #commit()}, and a writer closed before that
     * leaves what was there.
     */
    public final class LayerWriter<T> implements AutoCloseable {
        private final Stage stage;
        private final Map<Stage.Factor, SafeTensors.Writer> writers = new LinkedHashMap<>();
        private final BiFunction<TrackedLayer, T, Map<Stage.Factor, Tensor>> tensors;

        private LayerWriter(Stage stage, BiFunction<TrackedLayer, T, Map<Stage.Factor, Tensor>> tensors) {
            this.stage = stage;
            this.tensors = tensors;
            try {
                for (Stage.Factor f : stage.factors()) {
                    Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
                    for (TrackedLayer l : layers()) entries.put(l.name(), new SafeTensors.Entry(f.dtype, f.shape(l, blocks())));
                    writers.put(f, SafeTensors.Writer.create(dir.resolve(f.fileName), entries, Map.of(FINGERPRINT, fingerprint)));
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Writes {@code layer}'s factors of this stage. */
        public void put(TrackedLayer layer, T value) {
            Map<Stage.Factor, Tensor> t = tensors.apply(layer, value);
            for (Stage.Factor f : stage.factors()) writers.get(f).put(layer.name(), t.get(f));
        }

        /** Puts every file in place; every layer must have been written. All are flushed to disk before the first is renamed. */
        public void commit() {
            for (SafeTensors.Writer w : writers.values()) w.flush();
            for (SafeTensors.Writer w : writers.values()) w.commit();
        }

        @Override
        public void close() {
            for (SafeTensors.Writer w : writers.values()) w.close();
        }
    }

    // ---- covariance stage (Eq. 16) ----

    public LayerWriter<Covariances> covarianceWriter() {
        return new LayerWriter<>(Stage.COVARIANCE, (l, c) -> {
            checkBlocks(l, c.activation().blocks(), c.gradient().blocks());
            return Map.of(Stage.Factor.ACTIVATION_COVARIANCE, packed(c.activation().sum(), c.activation().blocks()),
                    Stage.Factor.GRADIENT_COVARIANCE, packed(c.gradient().sum(), c.gradient().blocks()),
                    Stage.Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED, count(c.activation().count()),
                    Stage.Factor.NUM_GRADIENT_COVARIANCE_PROCESSED, count(c.gradient().count()));
        });
    }

    /** {@code layer}'s covariance sums, read from disk. */
    public Covariances covariance(TrackedLayer layer) {
        require(Stage.COVARIANCE);
        double[] a = readDoubles(Stage.Factor.ACTIVATION_COVARIANCE, layer), g = readDoubles(Stage.Factor.GRADIENT_COVARIANCE, layer);
        long na = readCount(Stage.Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED, layer), ng = readCount(Stage.Factor.NUM_GRADIENT_COVARIANCE_PROCESSED, layer);
        return new Covariances(new Covariance(activationBlocks(layer), a, na), new Covariance(gradientBlocks(layer), g, ng));
    }

    /** The tokens {@code layer}'s activation covariance summed over the fitting sample (the count of A's mean). */
    public long tokensProcessed(TrackedLayer layer) {
        require(Stage.COVARIANCE);
        return readCount(Stage.Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED, layer);
    }

    // ---- eigendecomposition stage (Eq. 18) ----

    public LayerWriter<KroneckerEigenbasis> eigenbasisWriter() {
        return new LayerWriter<>(Stage.EIGENDECOMPOSITION, (l, q) -> {
            checkBlocks(l, q.activation().blocks(), q.gradient().blocks());
            return Map.of(Stage.Factor.ACTIVATION_EIGENVECTORS, packed(q.activation().vectors(), q.activation().blocks()),
                    Stage.Factor.ACTIVATION_EIGENVALUES, Tensor.f64(q.activation().values(), q.activation().dim()),
                    Stage.Factor.GRADIENT_EIGENVECTORS, packed(q.gradient().vectors(), q.gradient().blocks()),
                    Stage.Factor.GRADIENT_EIGENVALUES, Tensor.f64(q.gradient().values(), q.gradient().dim()));
        });
    }

    /** {@code layer}'s eigenbasis, read from disk (float32 eigenvectors, float64 eigenvalues). */
    public KroneckerEigenbasis eigenbasis(TrackedLayer layer) {
        require(Stage.EIGENDECOMPOSITION);
        return new KroneckerEigenbasis(
                new FactorBasis(activationBlocks(layer), readFloats(Stage.Factor.ACTIVATION_EIGENVECTORS, layer), readDoubles(Stage.Factor.ACTIVATION_EIGENVALUES, layer)),
                new FactorBasis(gradientBlocks(layer), readFloats(Stage.Factor.GRADIENT_EIGENVECTORS, layer), readDoubles(Stage.Factor.GRADIENT_EIGENVALUES, layer)));
    }

    // ---- eigenvalue correction (Eq. 19–20) and diagonal stages ----

    public LayerWriter<LambdaMatrix> lambdaWriter() {
        return lambdaWriter(Stage.LAMBDA, Stage.Factor.LAMBDA_MATRIX, Stage.Factor.NUM_LAMBDA_PROCESSED);
    }

    /** {@code layer}'s corrected-eigenvalue sum Σ (Q_Sᵀ DW̄ Q_A)∘², read from disk. */
    public LambdaMatrix lambda(TrackedLayer layer) {
        return lambda(layer, Stage.LAMBDA, Stage.Factor.LAMBDA_MATRIX, Stage.Factor.NUM_LAMBDA_PROCESSED);
    }

    public LayerWriter<LambdaMatrix> diagonalLambdaWriter() {
        return lambdaWriter(Stage.DIAGONAL_LAMBDA, Stage.Factor.DIAGONAL_LAMBDA_MATRIX, Stage.Factor.NUM_DIAGONAL_LAMBDA_PROCESSED);
    }

    /** {@code layer}'s diagonal sum Σ DW̄∘², read from disk. */
    public LambdaMatrix diagonalLambda(TrackedLayer layer) {
        return lambda(layer, Stage.DIAGONAL_LAMBDA, Stage.Factor.DIAGONAL_LAMBDA_MATRIX, Stage.Factor.NUM_DIAGONAL_LAMBDA_PROCESSED);
    }

    private LayerWriter<LambdaMatrix> lambdaWriter(Stage stage, Stage.Factor matrix, Stage.Factor count) {
        return new LayerWriter<>(stage, (l, m) -> Map.of(matrix, Tensor.f64(m.sum(), m.rows(), m.cols()), count, count(m.sequences())));
    }

    private LambdaMatrix lambda(TrackedLayer layer, Stage stage, Stage.Factor matrix, Stage.Factor count) {
        require(stage);
        double[] m = readDoubles(matrix, layer);
        for (double x : m)
            if (x < 0) throw damaged(dir.resolve(matrix.fileName), layer, "has a negative entry, which a sum of squares cannot be");
        return new LambdaMatrix(layer.outFeatures(), layer.activationDim(), m, readCount(count, layer));
    }

    // ---- whole stages at once (small models, tests) ----

    public void writeCovariances(List<Covariances> perLayer) {
        writeAll(covarianceWriter(), perLayer);
    }

    public List<Covariances> covariances() {
        return layers().stream().map(this::covariance).toList();
    }

    public void writeEigenbases(List<KroneckerEigenbasis> perLayer) {
        writeAll(eigenbasisWriter(), perLayer);
    }

    public List<KroneckerEigenbasis> eigenbases() {
        return layers().stream().map(this::eigenbasis).toList();
    }

    public void writeLambdas(List<LambdaMatrix> perLayer) {
        writeAll(lambdaWriter(), perLayer);
    }

    public List<LambdaMatrix> lambdas() {
        return layers().stream().map(this::lambda).toList();
    }

    public void writeDiagonalLambdas(List<LambdaMatrix> perLayer) {
        writeAll(diagonalLambdaWriter(), perLayer);
    }

    public List<LambdaMatrix> diagonalLambdas() {
        return layers().stream().map(this::diagonalLambda).toList();
    }

    private <T> void writeAll(LayerWriter<T> writer, List<T> perLayer) {
        if (perLayer.size() != layers().size()) throw new IllegalArgumentException(perLayer.size() + " per-layer factors for " + layers().size() + " layers");
        try (writer) {
            for (int s = 0; s < perLayer.size(); s++) writer.put(layers().get(s), perLayer.get(s));
            writer.commit();
        }
    }

    // ---- files ----

    private void require(Stage stage) {
        if (!complete(stage))
            throw new InputException(dir + ": no valid " + stage.title() + " factors for these arguments (fingerprint " + fingerprint + "); fit them first");
    }

    private Blocks activationBlocks(TrackedLayer l) {
        return new Blocks(l.activationDim(), blocks());
    }

    private Blocks gradientBlocks(TrackedLayer l) {
        return new Blocks(l.outFeatures(), blocks());
    }

    private void checkBlocks(TrackedLayer l, Blocks activation, Blocks gradient) {
        if (!activation.equals(activationBlocks(l)) || !gradient.equals(gradientBlocks(l)))
            throw new IllegalArgumentException(l.name() + ": factors in " + activation + " and " + gradient + ", these factors are in " + blocks() + " blocks");
    }

    /** One layer's tensor of a float64 factor; a value that no fit writes (NaN, infinity) is refused as damage. */
    private double[] readDoubles(Stage.Factor factor, TrackedLayer l) {
        Path file = dir.resolve(factor.fileName);
        try (SafeTensors st = SafeTensors.open(file)) {
            double[] v = st.doubles(l.name());
            for (double x : v)
                if (!Double.isFinite(x)) throw damaged(file, l, "contains NaN or infinity");
            return v;
        }
    }

    /** The same for a float32 factor. */
    private float[] readFloats(Stage.Factor factor, TrackedLayer l) {
        Path file = dir.resolve(factor.fileName);
        try (SafeTensors st = SafeTensors.open(file)) {
            float[] v = st.floats(l.name());
            for (float x : v)
                if (!Float.isFinite(x)) throw damaged(file, l, "contains NaN or infinity");
            return v;
        }
    }

    /** One layer's count; at least 1. */
    private long readCount(Stage.Factor factor, TrackedLayer l) {
        Path file = dir.resolve(factor.fileName);
        try (SafeTensors st = SafeTensors.open(file)) {
            long n = st.longs(l.name())[0];
            if (n < 1) throw damaged(file, l, "counts " + n + " samples");
            return n;
        }
    }

    private static InputException damaged(Path file, TrackedLayer layer, String what) {
        return new InputException(file + ": " + layer.name() + " " + what + "; the file is damaged (run 'imprint fit' again to refit it)");
    }

    /** A packed block-diagonal factor: the (n, n) matrix for one block, else the packed vector. */
    private static Tensor packed(double[] values, Blocks b) {
        return b.count() == 1 ? Tensor.f64(values, b.dim(), b.dim()) : Tensor.f64(values, values.length);
    }

    private static Tensor packed(float[] values, Blocks b) {
        return b.count() == 1 ? Tensor.f32(values, b.dim(), b.dim()) : Tensor.f32(values, values.length);
    }

    private static Tensor count(long n) {
        return Tensor.i64(new long[] {n}, 1);
    }
}
