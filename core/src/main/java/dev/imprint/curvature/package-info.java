/**
 * Curvature for influence functions (method §3; Grosse et al. 2023, Eq. 16–21): the K-FAC
 * covariances, their eigenbases, the EK-FAC eigenvalue correction, the four preconditioning
 * strategies, and the fitted factors on disk.
 *
 * <p>Dimension legend, per tracked layer: M inputs, A = M+1 (the width of ā, or M without bias),
 * P outputs; B sequences of padded length T per batch; N fitting sequences. Matrices are
 * row-major; a layer's weight gradient DW̄ is P × A; eigenvectors are columns.
 *
 * <p>Flow: a {@link dev.imprint.curvature.FactorFitter} runs the model (through a
 * {@link dev.imprint.curvature.TapPass}) with three taps — {@link dev.imprint.curvature.CovarianceTap}
 * (Eq. 16), then {@link dev.imprint.curvature.Eigenbasis} (Eq. 18), then
 * {@link dev.imprint.curvature.EigenvalueCorrection} (Eq. 19–20) or
 * {@link dev.imprint.curvature.DiagonalFisher} — and stores their results in
 * {@link dev.imprint.curvature.CurvatureFactors}; a {@link dev.imprint.curvature.Strategy} turns
 * them into per-layer {@link dev.imprint.curvature.Preconditioner}s (Eq. 21).
 */
package dev.imprint.curvature;
