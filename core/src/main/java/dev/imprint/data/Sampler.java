package dev.imprint.data;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/** Seeded sampling of sequence indices (the curvature fitting set). */
public final class Sampler {
    private Sampler() {}

    /**
     * {@code count} distinct indices from [0, population), sorted ascending; the same seed gives
     * the same sample. All indices when {@code count >= population}. Floyd's algorithm: O(count)
     * memory and random draws, every subset equally likely.
     */
    public static int[] sample(int population, int count, long seed) {
        if (population < 0) throw new IllegalArgumentException("population " + population + " is negative");
        if (count < 0) throw new IllegalArgumentException("sample size " + count + " is negative");
        if (count >= population) {
            int[] all = new int[population];
            for (int i = 0; i < population; i++) all[i] = i;
            return all;
        }
        SplittableRandom random = new SplittableRandom(seed);
        Set<Integer> chosen = new HashSet<>(2 * count);
        for (int j = population - count; j < population; j++) {
            int t = random.nextInt(j + 1);
            chosen.add(chosen.contains(t) ? j : t);
        }
        return chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
    }
}
