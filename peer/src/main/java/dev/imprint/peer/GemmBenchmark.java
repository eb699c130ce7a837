package dev.imprint.peer;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

/**
 * Throughput of {@link Gemm} on the shapes that dominate a GPT-2-small step. One "operation" is
 * one million floating-point operations (a multiply-add counts 2), so the reported score in
 * ops/ms reads directly as GFLOP/s.
 *
 * <pre>
 * Shapes (m, n, k: C is m×n, k is summed)
 *   mul1024       C(1024×1024)  = A(1024×1024) · B(1024×1024)
 *   mul           C(2048×3072)  = A(2048×768)  · B(768×3072)     MLP up-projection, B·T = 2048
 *   mulTransB     C(2048×3072)  = A(2048×768)  · B(3072×768)ᵀ
 *   mulTransA     C(2048×3072)  = A(768×2048)ᵀ · B(768×3072)
 * </pre>
 *
 * Build and run (threads default to the core count; add {@code -jvmArgsAppend -Dimprint.threads=1}
 * for one thread):
 * <pre>
 *   mvn -B -q -DskipTests package -pl peer -am
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -cp peer/target/imprint-peer-0.1.0-SNAPSHOT.jar:$(cat peer/target/classpath.txt) \
 *       org.openjdk.jmh.Main GemmBenchmark -f 1 -wi 3 -i 5
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-XX:-TieredCompilation", "-Xmx4g"})
public class GemmBenchmark {
    /** 2·1024³ / 10⁶. */
    private static final int MFLOP_1024 = 2147;
    /** 2·2048·3072·768 / 10⁶. */
    private static final int MFLOP_LARGE = 9664;

    private Mat a1024, b1024, c1024;        // (1024, 1024) each
    private Mat a, b, c;                    // A (2048, 768), B (768, 3072), C (2048, 3072)
    private Mat aT, bT;                     // Aᵀ stored (768, 2048), Bᵀ stored (3072, 768)

    @Setup
    public void setup() {
        SplittableRandom rnd = new SplittableRandom(42);
        a1024 = random(rnd, 1024, 1024);
        b1024 = random(rnd, 1024, 1024);
        c1024 = Mat.zeros(1024, 1024);
        a = random(rnd, 2048, 768);
        b = random(rnd, 768, 3072);
        c = Mat.zeros(2048, 3072);
        aT = random(rnd, 768, 2048);
        bT = random(rnd, 3072, 768);
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_1024)
    public void mul1024() {
        Gemm.mul(c1024, a1024, b1024, false);
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_LARGE)
    public void mul() {
        Gemm.mul(c, a, b, false);
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_LARGE)
    public void mulTransB() {
        Gemm.mulTransB(c, a, bT, false);
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_LARGE)
    public void mulTransA() {
        Gemm.mulTransA(c, aT, b, false);
    }

    private static Mat random(SplittableRandom rnd, int rows, int cols) {
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) data[i] = (float) rnd.nextDouble(-1, 1);
        return Mat.of(data, rows, cols);
    }
}
