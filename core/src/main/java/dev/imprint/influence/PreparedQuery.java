package dev.imprint.influence;

import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * A query ready for scoring: its preconditioned gradient P_ℓ per tracked layer (P × (M+1)),
 * computed once and reused against every training sequence (the "prepare once, score many" half
 * of method §4).
 */
public record PreparedQuery(Query query, double logProb, List<Mat> preconditioned) {}
