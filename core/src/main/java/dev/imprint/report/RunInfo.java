package dev.imprint.report;

import java.util.List;
import java.util.Map;

/**
 * What produced a set of results: shown in the report's header and kept in results.json.
 *
 * @param model            model folder
 * @param modelFingerprint SHA-256 of config.json + model.safetensors
 * @param corpus           corpus path (or store)
 * @param storeFingerprint the sequence store's fingerprint
 * @param sequences        N, the number of training sequences (the per-copy divisor)
 * @param strategy         identity, diagonal, kfac or ekfac
 * @param damping          how λ was chosen, in words
 * @param layers           tracked layer names
 * @param rank             "full" or the query rank k
 * @param candidates       "all", or how many TF-IDF candidates were kept per query
 * @param timings          seconds per stage
 */
public record RunInfo(String model, String modelFingerprint, String corpus, String storeFingerprint, int sequences,
                      String strategy, String damping, List<String> layers, String rank, String candidates,
                      Map<String, Double> timings) {}
