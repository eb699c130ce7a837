package dev.imprint.curvature;

/**
 * How a Kronecker factor of dimension n is split into O diagonal blocks (method §3, block-diagonal
 * factors): consecutive index ranges, the first n mod O of them one longer than the others. A
 * block-diagonal factor is stored packed: its blocks' row-major (b_k, b_k) matrices one after the
 * other, Σ_k b_k² values instead of n² (O = 1 is the dense factor).
 *
 * @param dim   n
 * @param count O, 1 ≤ O ≤ n
 */
public record Blocks(int dim, int count) {
    public Blocks {
        if (dim < 1) throw new IllegalArgumentException("factor dimension " + dim);
        if (count < 1 || count > dim) throw new IllegalArgumentException(count + " blocks for a factor of dimension " + dim + ": must be 1 to " + dim);
    }

    /** The dense factor: one block. */
    public static Blocks dense(int dim) {
        return new Blocks(dim, 1);
    }

    /** b_k. */
    public int size(int k) {
        return dim / count + (k < dim % count ? 1 : 0);
    }

    /** The first index of block k. */
    public int start(int k) {
        return k * (dim / count) + Math.min(k, dim % count);
    }

    /** Where block k's matrix begins in the packed array. */
    public long packedStart(int k) {
        long s = 0;
        for (int j = 0; j < k; j++) s += (long) size(j) * size(j);
        return s;
    }

    /** Σ_k b_k²: the packed length. */
    public long packedLength() {
        return packedStart(count);
    }

    /** The packed length as an array length (a factor's packed values must fit one Java array). */
    public int packedArrayLength() {
        long n = packedLength();
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("a factor of dimension " + dim + " in " + count + " blocks has " + n + " values, more than one array holds; use more blocks");
        return (int) n;
    }

    /** The largest block's size (what one eigendecomposition works on). */
    public int largest() {
        return size(0);
    }
}
