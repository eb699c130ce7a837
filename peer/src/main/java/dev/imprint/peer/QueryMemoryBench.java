package dev.imprint.peer;

import dev.imprint.curvature.Preconditioner;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.io.AtomicFiles;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Transformer;
import dev.imprint.model.Gpt2BpeTokenizer;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.Tokenizer;
import dev.imprint.model.TrackedLayer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Peak memory of query batching at GPT-2-small shape through {@link InfluenceAnalysis#score}: many
 * rank-k queries scored in one pass, then rescored at full rank. A full-rank query of GPT-2 small's
 * MLP layers is 228 MB, so 64 of them would need 14.6 GB; run with a small heap to see that the
 * rescoring stage holds only as many as fit in a quarter of it. Random weights, identity
 * preconditioning and a small generated store keep the run short; the query memory is the same.
 *
 * <p>Usage: {@code QueryMemoryBench [queries] [rank]}
 */
public final class QueryMemoryBench {
    private QueryMemoryBench() {}

    public static void main(String[] args) throws IOException {
        int queries = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int rank = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        ModelConfig config = ModelConfig.gpt2Small();
        LanguageModel model = new Transformer(Parameters.initialize(config, 1), LayerSelection.MLP);
        Tokenizer tok = new Gpt2BpeTokenizer();
        Random rnd = new Random(3);
        String[] words = {"the", "whale", "ship", "sea", "captain", "white", "storm", "harbor", "rope", "deck", "night", "calm"};
        Path dir = Files.createTempDirectory("imprint-query-memory");
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        for (int d = 0; d < 8; d++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 300; w++) text.append(words[rnd.nextInt(words.length)]).append(' ');
            Files.writeString(corpus.resolve("doc" + d + ".txt"), text.toString());
        }
        List<Preconditioner> identity = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) identity.add(new Preconditioner.Identity(l.outFeatures(), l.activationDim()));
        Preconditioners pre = new Preconditioners(model.trackedLayers(), identity);
        List<Query> qs = new ArrayList<>();
        for (int q = 0; q < queries; q++) {
            String prompt = words[rnd.nextInt(words.length)] + " " + words[rnd.nextInt(words.length)], completion = " " + words[rnd.nextInt(words.length)];
            qs.add(new Query("q" + q, prompt, completion, tok.encode(prompt), tok.encode(completion)));
        }
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir.resolve("store"), tok, "gpt2", 256, Progress.NONE)) {
            long t0 = System.nanoTime();
            List<InfluenceAnalysis.QueryResult> results = InfluenceAnalysis.score(model, store, pre, qs, null,
                    new InfluenceAnalysis.ScoreSettings(5, 4, false, rank, 10), Progress.NONE);
            System.out.printf("%d queries at rank %d against %d sequences of 256 tokens: %.1f s, heap limit %.1f GB, peak RSS %s (top-1 of q0: sequence %d)%n",
                    queries, rank, store.size(), (System.nanoTime() - t0) / 1e9, Runtime.getRuntime().maxMemory() / 1e9, BenchMain.peakRss(),
                    results.getFirst().top().getFirst().sequence());
        } finally {
            AtomicFiles.deleteTree(dir); // the temporary corpus and store
        }
    }
}
