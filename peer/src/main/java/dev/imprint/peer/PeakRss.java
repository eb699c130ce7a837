package dev.imprint.peer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory from /proc/self/status: VmHWM (peak resident set) and VmRSS (current). */
final class PeakRss {
    private PeakRss() {}

    /** Peak resident set, e.g. "1.23 GB", or "unknown" off Linux. */
    static String read() {
        return line("VmHWM:");
    }

    /** Current resident set. */
    static String current() {
        return line("VmRSS:");
    }

    private static String line(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status")))
                if (l.startsWith(key)) {
                    long kb = Long.parseLong(l.substring(key.length()).replace("kB", "").trim());
                    return String.format("%.2f GB", kb / 1e6);
                }
        } catch (IOException | NumberFormatException e) {
            return "unknown";
        }
        return "unknown";
    }
}
