package dev.imprint.tensor;

/**
 * A row-major view of a float matrix inside a flat array: element (i, j) lives at
 * {@code data[offset + i * stride + j]}. Views are cheap records; the array is shared, never copied.
 *
 * @param data   backing array
 * @param offset index of element (0, 0)
 * @param rows   number of rows
 * @param cols   number of columns
 * @param stride distance between the starts of consecutive rows (≥ cols)
 */
public record Mat(float[] data, int offset, int rows, int cols, int stride) {

    public Mat {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        if (stride < cols) throw new IllegalArgumentException("stride " + stride + " < cols " + cols);
        if (offset < 0) throw new IllegalArgumentException("negative offset " + offset);
        if (rows > 0 && cols > 0 && (long) offset + (long) (rows - 1) * stride + cols > data.length)
            throw new IllegalArgumentException("view " + rows + "x" + cols + " (stride " + stride + ", offset "
                    + offset + ") exceeds array of length " + data.length);
    }

    /** A dense view of the whole array as rows × cols. */
    public static Mat of(float[] data, int rows, int cols) {
        return new Mat(data, 0, rows, cols, cols);
    }

    /** A dense view starting at {@code offset}. */
    public static Mat of(float[] data, int offset, int rows, int cols) {
        return new Mat(data, offset, rows, cols, cols);
    }

    /** A freshly allocated zero matrix. */
    public static Mat zeros(int rows, int cols) {
        return of(new float[Math.multiplyExact(rows, cols)], rows, cols);
    }

    public float get(int i, int j) {
        return data[offset + i * stride + j];
    }

    public void set(int i, int j, float v) {
        data[offset + i * stride + j] = v;
    }

    /** Rows [from, from + count) of this matrix. */
    public Mat rows(int from, int count) {
        return new Mat(data, offset + from * stride, count, cols, stride);
    }

    /** Columns [from, from + count) of this matrix. */
    public Mat cols(int from, int count) {
        if (from < 0 || from + count > cols) throw new IllegalArgumentException("columns " + from + "+" + count + " of " + cols);
        return new Mat(data, offset + from, rows, count, stride);
    }

    @Override
    public String toString() {
        return "Mat[" + rows + "x" + cols + (stride != cols ? ", stride " + stride : "") + "]";
    }
}
