package dev.imprint.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * What an array really takes in this JVM's heap (method §3.4, memory plan). Under G1, an array of at
 * least half a heap region is "humongous": it occupies whole regions, so its size is rounded up to
 * a multiple of the region size (1–32 MiB, chosen from the heap size). Large factors and weights
 * are such arrays, and the rounding adds up (about 10% for GPT-2 small with 4 MiB regions; about
 * 1.3 GB for a Llama-3.2-1B shape, whose power-of-two arrays each spill one region by their
 * header), so the memory plan counts it. Other collectors pack arrays contiguously.
 */
public final class HeapArrays {
    private static final long REGION = region();
    /** An array's header (mark word, class pointer, length), padded: 16 bytes with compressed class pointers. */
    static final long HEADER = 16;

    private HeapArrays() {}

    private static long region() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (!Boolean.parseBoolean(vm.getVMOption("UseG1GC").getValue())) return 0;
            return Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
        } catch (RuntimeException notHotSpot) {
            return 0;
        }
    }

    /**
     * The heap bytes an array of {@code bytes} payload bytes takes. The header counts: a float array
     * of exactly one region's payload (a 1024 × 1024 float matrix with 4 MiB regions) spills into
     * a second region, and the power-of-two shapes of model weights and factors make that common.
     */
    public static long bytes(long bytes) {
        long whole = bytes + HEADER;
        if (REGION == 0 || whole < REGION / 2) return whole;
        return (whole + REGION - 1) / REGION * REGION;
    }

    /** The same for a float[] of {@code n} elements. */
    public static long floats(long n) {
        return bytes(4 * n);
    }

    /** The same for a double[] of {@code n} elements. */
    public static long doubles(long n) {
        return bytes(8 * n);
    }
}
