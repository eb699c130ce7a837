package dev.imprint.tensor;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast single-precision GEMM behind {@link Gemm}: C(m×n) (+)= op(A)(m×k) · op(B)(k×n), where
 * op(X) is X or Xᵀ. Packing copies op(A) and op(B) into contiguous panels, which is where any
 * transposition and striding is absorbed, so one register-blocked micro-kernel serves all three
 * variants.
 *
 * <pre>
 * Dimensions
 *   m, n, k   C is m×n, the inner (summed) dimension is k
 *   L         floats per vector (16 with AVX-512)
 *   MR × NR   micro-tile of C held in registers: 6 × 4L (6 × 64 with AVX-512)
 *   KC        depth of one packed slice of k
 *   NC        width of one packed B block; KC × NC floats stay in the L2 cache
 *
 * Loops (a task of the parallel split owns the C block rows [i0, i1) × columns [j0, j1))
 *   for jc in [j0, j1) step NC
 *     for pc in [0, k) step KC              pack op(B)[pc:+KC, jc:+NC] -> bPack  (KC × NC, in L2)
 *       for ir in [i0, i1) step MR          pack op(A)[ir:+MR, pc:+KC] -> aPack  (MR × KC, in L1)
 *         for jr in [jc, jc+NC) step NR     micro-kernel: C[ir:+MR, jr:+NR] (+)= aPack · bPack panel
 *
 * Packed layouts (zero-padded to whole micro-tiles, so the kernel never branches on edges)
 *   aPack[p·MR + r]                  = op(A)(ir + r, pc + p)
 *   bPack[q·kc·NR + p·NR + c]        = op(B)(pc + p, j0 + q·NR + c)    (q-th NR-wide panel)
 * </pre>
 *
 * Packing buffers are per thread and reused, so repeated calls do not allocate. Shapes are
 * checked by {@link Gemm}; C must not overlap A or B.
 */
final class PackedGemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int MR = 6;
    private static final int NR = 4 * L;
    private static final int KC = 256;
    private static final int NC = 8 * NR;
    /** Products with fewer multiply-adds than this run on the calling thread (pool hand-off costs more). */
    private static final long PARALLEL_MIN_FMAS = 1L << 21;
    /** Aim for a few tasks per worker so that uneven tasks still balance. */
    private static final int TASKS_PER_THREAD = 2;

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private PackedGemm() {}

    /**
     * A matrix operand after its optional transposition: element (i, j) of op(X) lives at
     * {@code data[offset + i·rowStep + j·colStep]}.
     */
    record Operand(float[] data, int offset, int rowStep, int colStep) {
        static Operand of(Mat x) {
            return new Operand(x.data(), x.offset(), x.stride(), 1);
        }

        static Operand transposed(Mat x) {
            return new Operand(x.data(), x.offset(), 1, x.stride());
        }
    }

    /** Per-thread packing space: one A strip, one B block and one edge tile. */
    private static final class Buffers {
        final float[] a = new float[MR * KC];       // (KC, MR)
        final float[] b = new float[KC * NC];       // (NC / NR, KC, NR)
        final float[] edge = new float[MR * NR];    // (MR, NR)
    }

    /** C(m×n) (+)= op(A)(m×k) · op(B)(k×n), with m, n from C. */
    static void gemm(Mat c, Operand a, Operand b, int k, boolean accumulate) {
        gemm(c, a, b, k, accumulate, false);
    }

    /**
     * The lower triangle of C(n×n) (+)= Xᵀ(n×k) · X(k×n), for the symmetric Gram matrices of
     * curvature fitting: only micro-tiles that touch the diagonal or lie below it are computed,
     * which is about half the work. Entries above the diagonal are unspecified.
     */
    static void gramLower(Mat c, Mat x, boolean accumulate) {
        gemm(c, Operand.transposed(x), Operand.of(x), x.rows(), accumulate, true);
    }

    private static void gemm(Mat c, Operand a, Operand b, int k, boolean accumulate, boolean lower) {
        int m = c.rows(), n = c.cols();
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) Arrays.fill(c.data(), c.offset() + i * c.stride(), c.offset() + i * c.stride() + n, 0f);
            }
            return;
        }
        if ((long) m * n * k / (lower ? 2 : 1) < PARALLEL_MIN_FMAS || Parallel.threads() == 1 || Parallel.inWorker()) {
            block(c, a, b, k, accumulate, lower, 0, m, 0, n);
            return;
        }
        if (lower) {
            // Row blocks of a few strips against column blocks of NC: the tasks below the diagonal
            // differ in size, so there are many of them for the pool to balance.
            int mTile = MR * Math.max(4, ceilDiv(ceilDiv(m, MR), 8 * Parallel.threads()));
            int mBlocks = ceilDiv(m, mTile), nBlocks = ceilDiv(n, NC);
            Parallel.forEach(mBlocks * nBlocks, t -> {
                int i0 = (t / nBlocks) * mTile, j0 = (t % nBlocks) * NC, i1 = Math.min(m, i0 + mTile);
                if (i1 - 1 >= j0) block(c, a, b, k, accumulate, true, i0, i1, j0, Math.min(n, j0 + NC));
            });
            return;
        }
        // Tasks: column blocks of at most NC (balanced, whole panels), each cut into row blocks until
        // there are TASKS_PER_THREAD tasks per worker. Every task packs its own B block, so cutting
        // rows finer would only repeat that packing.
        int nTile = NR * ceilDiv(ceilDiv(n, ceilDiv(n, NC)), NR);
        int nBlocks = ceilDiv(n, nTile);
        int strips = ceilDiv(m, MR);
        int mTile = MR * ceilDiv(strips, Math.min(strips, ceilDiv(TASKS_PER_THREAD * Parallel.threads(), nBlocks)));
        int mBlocks = ceilDiv(m, mTile);
        Parallel.forEach(mBlocks * nBlocks, t -> {
            int i0 = (t / nBlocks) * mTile, j0 = (t % nBlocks) * nTile;
            block(c, a, b, k, accumulate, false, i0, Math.min(m, i0 + mTile), j0, Math.min(n, j0 + nTile));
        });
    }

    /**
     * C[i0:i1, j0:j1] (+)= op(A)[i0:i1, :] · op(B)[:, j0:j1], on the calling thread; with
     * {@code lower}, only the micro-tiles with a column on or left of the diagonal.
     */
    private static void block(Mat c, Operand a, Operand b, int k, boolean accumulate, boolean lower, int i0, int i1, int j0, int j1) {
        Buffers buf = BUFFERS.get();
        for (int jc = j0; jc < j1; jc += NC) {
            int jcEnd = Math.min(j1, jc + NC);
            int iStart = lower ? Math.max(i0, i0 + (jc - i0) / MR * MR) : i0; // strips wholly above the diagonal skipped
            if (iStart >= i1) continue;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean add = accumulate || pc > 0;     // later k slices add to what the first one wrote
                packB(buf.b, b, pc, kc, jc, jcEnd);
                for (int ir = iStart; ir < i1; ir += MR) {
                    int mr = Math.min(MR, i1 - ir);
                    packA(buf.a, a, ir, mr, pc, kc);
                    int jrEnd = lower ? Math.min(jcEnd, ir + mr) : jcEnd; // panels starting right of the strip's last row hold no lower entries
                    for (int jr = jc, panel = 0; jr < jrEnd; jr += NR, panel += kc * NR) {
                        int nr = Math.min(NR, jcEnd - jr);
                        int cOff = c.offset() + ir * c.stride() + jr;
                        if (mr == MR && nr == NR) {
                            kernel(buf.a, buf.b, panel, kc, c.data(), cOff, c.stride(), add);
                        } else {
                            kernel(buf.a, buf.b, panel, kc, buf.edge, 0, NR, false);
                            mergeEdge(buf.edge, c.data(), cOff, c.stride(), mr, nr, add);
                        }
                    }
                }
            }
        }
    }

    /**
     * The micro-kernel: C[MR×NR] (+)= aPack(MR×kc) · bPack panel(kc×NR).
     *
     * <p>Java has no register arrays, so the 6×4 vector tile is spelled out as 24 named
     * accumulators: 24 + 4 B vectors + 1 broadcast fit the 32 AVX-512 registers without spilling,
     * 24 independent FMA chains hide the FMA latency, and each B vector loaded serves 6 FMAs, each
     * broadcast A element 4 FMAs. The tile is loaded and stored inline (no helper taking vectors):
     * C2 stops inlining in a method this large, and a vector passed to a call that is not inlined
     * gets boxed.
     */
    private static void kernel(float[] ap, float[] bp, int bOff, int kc, float[] c, int cOff, int ldc, boolean add) {
        int r0 = cOff, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = add ? FloatVector.fromArray(F, c, r0) : z, c01 = add ? FloatVector.fromArray(F, c, r0 + L) : z,
                c02 = add ? FloatVector.fromArray(F, c, r0 + 2 * L) : z, c03 = add ? FloatVector.fromArray(F, c, r0 + 3 * L) : z;
        FloatVector c10 = add ? FloatVector.fromArray(F, c, r1) : z, c11 = add ? FloatVector.fromArray(F, c, r1 + L) : z,
                c12 = add ? FloatVector.fromArray(F, c, r1 + 2 * L) : z, c13 = add ? FloatVector.fromArray(F, c, r1 + 3 * L) : z;
        FloatVector c20 = add ? FloatVector.fromArray(F, c, r2) : z, c21 = add ? FloatVector.fromArray(F, c, r2 + L) : z,
                c22 = add ? FloatVector.fromArray(F, c, r2 + 2 * L) : z, c23 = add ? FloatVector.fromArray(F, c, r2 + 3 * L) : z;
        FloatVector c30 = add ? FloatVector.fromArray(F, c, r3) : z, c31 = add ? FloatVector.fromArray(F, c, r3 + L) : z,
                c32 = add ? FloatVector.fromArray(F, c, r3 + 2 * L) : z, c33 = add ? FloatVector.fromArray(F, c, r3 + 3 * L) : z;
        FloatVector c40 = add ? FloatVector.fromArray(F, c, r4) : z, c41 = add ? FloatVector.fromArray(F, c, r4 + L) : z,
                c42 = add ? FloatVector.fromArray(F, c, r4 + 2 * L) : z, c43 = add ? FloatVector.fromArray(F, c, r4 + 3 * L) : z;
        FloatVector c50 = add ? FloatVector.fromArray(F, c, r5) : z, c51 = add ? FloatVector.fromArray(F, c, r5 + L) : z,
                c52 = add ? FloatVector.fromArray(F, c, r5 + 2 * L) : z, c53 = add ? FloatVector.fromArray(F, c, r5 + 3 * L) : z;
        for (int p = 0, ai = 0, bi = bOff; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(F, bp, bi + 2 * L);
            FloatVector b3 = FloatVector.fromArray(F, bp, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, ap[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
            x = FloatVector.broadcast(F, ap[ai + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42); c43 = x.fma(b3, c43);
            x = FloatVector.broadcast(F, ap[ai + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52); c53 = x.fma(b3, c53);
        }
        c00.intoArray(c, r0); c01.intoArray(c, r0 + L); c02.intoArray(c, r0 + 2 * L); c03.intoArray(c, r0 + 3 * L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L); c12.intoArray(c, r1 + 2 * L); c13.intoArray(c, r1 + 3 * L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L); c22.intoArray(c, r2 + 2 * L); c23.intoArray(c, r2 + 3 * L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L); c32.intoArray(c, r3 + 2 * L); c33.intoArray(c, r3 + 3 * L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L); c42.intoArray(c, r4 + 2 * L); c43.intoArray(c, r4 + 3 * L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L); c52.intoArray(c, r5 + 2 * L); c53.intoArray(c, r5 + 3 * L);
    }

    /** Copies the valid mr × nr corner of an edge tile (MR, NR) into C. */
    private static void mergeEdge(float[] edge, float[] c, int cOff, int ldc, int mr, int nr, boolean add) {
        for (int r = 0; r < mr; r++) {
            for (int j = 0; j < nr; j++) {
                int ci = cOff + r * ldc + j;
                c[ci] = add ? c[ci] + edge[r * NR + j] : edge[r * NR + j];
            }
        }
    }

    /** aPack(kc, MR) ← op(A)[ir : ir + mr, pc : pc + kc], rows past mr zero. */
    private static void packA(float[] dst, Operand a, int ir, int mr, int pc, int kc) {
        float[] x = a.data();
        int rs = a.rowStep(), cs = a.colStep();
        int src = a.offset() + ir * rs + pc * cs;
        if (mr == MR) {
            // Full strips are the common case and packing them is on the critical path when C has
            // a single panel of columns (attention's T×64 products), hence the unrolled rows.
            for (int p = 0, d = 0, s = src; p < kc; p++, d += MR, s += cs) {
                dst[d] = x[s];
                dst[d + 1] = x[s + rs];
                dst[d + 2] = x[s + 2 * rs];
                dst[d + 3] = x[s + 3 * rs];
                dst[d + 4] = x[s + 4 * rs];
                dst[d + 5] = x[s + 5 * rs];
            }
            return;
        }
        for (int p = 0, d = 0, s = src; p < kc; p++, d += MR, s += cs) {
            for (int r = 0; r < MR; r++) dst[d + r] = r < mr ? x[s + r * rs] : 0f;
        }
    }

    /** bPack(panels, kc, NR) ← op(B)[pc : pc + kc, j0 : j1], columns past j1 zero. */
    private static void packB(float[] dst, Operand b, int pc, int kc, int j0, int j1) {
        float[] x = b.data();
        for (int jr = j0, d = 0; jr < j1; jr += NR) {
            int nr = Math.min(NR, j1 - jr);
            for (int p = 0; p < kc; p++, d += NR) {
                int src = b.offset() + (pc + p) * b.rowStep() + jr * b.colStep();
                if (nr == NR && b.colStep() == 1) {
                    for (int v = 0; v < NR; v += L) FloatVector.fromArray(F, x, src + v).intoArray(dst, d + v);
                } else {
                    for (int j = 0; j < nr; j++) dst[d + j] = x[src + j * b.colStep()];
                    for (int j = nr; j < NR; j++) dst[d + j] = 0f;
                }
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
