package dev.imprint.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * What an array really takes in this JVM's heap (method §3.4, memory plan). Under G1, an array of at
 * least half a heap region is "humongous": it occupies whole regions, so its size is rounded up to
 * a multiple of the region size (1–32 MiB, chosen from the heap size). Large factors and weights
 * are such arrays, and the rounding adds up (about 10% for GPT-2 small with 4 MiB regions), so the
 * memory plan counts it. Other collectors pack arrays contiguously.
 */
public final class HeapArrays {
    private static final long REGION = region();

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

    /** The heap bytes an array of {@code bytes} payload bytes takes. */
    public static long bytes(long bytes) {
        if (REGION == 0 || bytes < REGION / 2) return bytes;
        return (bytes + REGION - 1) / REGION * REGION;
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
