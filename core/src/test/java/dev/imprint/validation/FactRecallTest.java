package dev.imprint.validation;

import org.junit.jupiter.api.Test;

import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.*;

/** A fact's rank (method §7.3): its best source against every other sequence, ties counted against it. */
class FactRecallTest {
    @Test
    void theBestSourceIsRankedAgainstTheOtherSequencesWithTiesAgainstIt() {
        BitSet sources = new BitSet();
        sources.set(2);
        sources.set(4);
        assertEquals(1, FactRecall.rank(new float[] {0.1f, 0.2f, 0.9f, 0.3f, 0.5f}, sources), "a source scores highest");
        assertEquals(3, FactRecall.rank(new float[] {0.8f, 0.95f, 0.7f, 0.3f, 0.1f}, sources), "two others above the best source");
        assertEquals(2, FactRecall.rank(new float[] {0.7f, 0.2f, 0.7f, 0.3f, 0.1f}, sources), "a tie counts against the source");
        assertEquals(4, FactRecall.rank(new float[] {1f, 1f, 1f, 1f, 1f}, sources), "scoring everything alike ranks the source last");
    }
}
