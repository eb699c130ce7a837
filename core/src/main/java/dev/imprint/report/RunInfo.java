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
 * @param sequences        the store's sequences (all of them scored unless candidates were chosen)
 * @param strategy         identity, diagonal, kfac or ekfac
 * @param damping          how λ was chosen, in words
 * @param layers           tracked layer names
 * @param rank             "full" or the query rank k
 * @param candidates       "all", or how many TF-IDF candidates were kept per query
 * @param timings          seconds per stage
 * @param trainedOn        how many of the store's sequences the model trained on, from its training.json (0: not recorded)
 */
public record RunInfo(String model, String modelFingerprint, String corpus, String storeFingerprint, int sequences,
                      String strategy, String damping, List<String> layers, String rank, String candidates,
                      Map<String, Double> timings, int trainedOn) {
    /** N of the per-copy unit: the sequences the model trained on, or the whole store when that is not recorded. */
    public int perCopyN() {
        return trainedOn > 0 ? trainedOn : sequences;
    }
}
