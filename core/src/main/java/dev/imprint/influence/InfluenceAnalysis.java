package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FactorArguments;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.io.JsonFiles;
import dev.imprint.io.OutputLock;
import dev.imprint.model.LanguageModel;
import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The library's entry point: fit curvature factors for a model and a sequence store, then score
 * queries against every training sequence.
 *
 * <pre>{@code
 * ModelDirectory dir = ModelDirectory.load(modelFolder);
 * LanguageModel model = dir.model(LayerSelection.MLP);
 * Preconditioners pre = InfluenceAnalysis.fit(model, store, modelId, factorsDir, FitSettings.defaults(), Damping.paperDefault(), FitProgress.NONE);
 * List<QueryResult> results = InfluenceAnalysis.score(model, store, pre, List.of(query), ScoreSettings.defaults(), Progress.NONE);
 * }</pre>
 */
public final class InfluenceAnalysis {
    private InfluenceAnalysis() {}

    /**
     * How factors are fitted.
     *
     * @param strategy         identity, diagonal, kfac or ekfac
     * @param fittingSequences size of the seeded fitting sample (capped at the store size)
     * @param batchSize        sequences per forward/backward
     * @param seed             fitting sample and label sampling
     * @param labels           sampled (the Fisher) or true (empirical Fisher)
     * @param factorBlocks     O, the diagonal blocks of every Kronecker factor (method §3; 1: dense, the paper's default)
     */
    public record FitSettings(Strategy strategy, int fittingSequences, int batchSize, long seed, FittingPass.Labels labels, int factorBlocks) {
        /** The fitting sample's size unless one is given. */
        public static final int DEFAULT_FITTING_SEQUENCES = 1000;

        public FitSettings {
            if (fittingSequences < 1) throw new IllegalArgumentException("fitting sequences " + fittingSequences + " must be at least 1");
            if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
            if (factorBlocks < 1) throw new IllegalArgumentException("factor blocks " + factorBlocks + " must be at least 1");
        }

        /** Dense factors. */
        public FitSettings(Strategy strategy, int fittingSequences, int batchSize, long seed, FittingPass.Labels labels) {
            this(strategy, fittingSequences, batchSize, seed, labels, 1);
        }

        public static FitSettings defaults() {
            return new FitSettings(Strategy.defaultStrategy(), DEFAULT_FITTING_SEQUENCES, 8, 0, FittingPass.Labels.SAMPLED);
        }

        /** The same settings for another strategy. */
        public FitSettings withStrategy(Strategy other) {
            return new FitSettings(other, fittingSequences, batchSize, seed, labels, factorBlocks);
        }
    }

    /**
     * How queries are scored.
     *
     * @param topK      sequences kept per query (with layer and token explanations)
     * @param batchSize training sequences per forward/backward
     * @param keepAll   also return every scored sequence's score (for distributions and dense output)
     * @param rank      0 for exact full-rank scoring; k for query batching with rank-k queries (method §5)
     * @param rescore   with rank k: each query's top this-many candidates are rescored at full rank
     * @param trainingSequences N of the per-copy unit: how many sequences the model trained on (0: the store's size)
     */
    public record ScoreSettings(int topK, int batchSize, boolean keepAll, int rank, int rescore, int trainingSequences) {
        public ScoreSettings {
            if (topK < 1) throw new IllegalArgumentException("top-k " + topK + " must be at least 1");
            if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
            if (rank < 0) throw new IllegalArgumentException("rank " + rank + " must be 0 (full) or positive");
            if (rank > 0 && rescore < topK) throw new IllegalArgumentException("rescoring " + rescore + " candidates cannot fill a top-" + topK);
            if (trainingSequences < 0) throw new IllegalArgumentException("training sequences " + trainingSequences + " is negative");
        }

        /** Per-copy scores relative to the whole store. */
        public ScoreSettings(int topK, int batchSize, boolean keepAll, int rank, int rescore) {
            this(topK, batchSize, keepAll, rank, rescore, 0);
        }

        /** Exact scoring, top 10. */
        public static ScoreSettings defaults() {
            return new ScoreSettings(10, 8, true, 0, 0);
        }
    }

    /**
     * One influential training sequence.
     *
     * @param sequence     index in the store
     * @param score        I(z) = qᵀ(G+λI)⁻¹ r (method §1), raw
     * @param scorePerCopy score ÷ N: nats of log p(completion) gained by adding one more copy of z to the N sequences the model trained on
     * @param layers       Eq. 30 terms, in tracked-layer order
     * @param tokens       Eq. 31 terms per position (position t's term comes from predicting token t+1)
     */
    public record Hit(int sequence, double score, double scorePerCopy, double[] layers, double[] tokens) {}

    /**
     * One query's result.
     *
     * @param query   the query
     * @param logProb log p(completion | prompt) under the model (nats)
     * @param top     the most positively influential sequences, best first
     * @param scores  every sequence's raw score (index = sequence), or null when not kept
     */
    public record QueryResult(Query query, double logProb, List<Hit> top, float[] scores) {}

    /**
     * The fitting-sample size for a token budget: a count k whose seeded sample
     * ({@link SequenceStore#sample}, the one {@link #fit} draws) holds at least {@code tokens}
     * non-padding tokens while the sample of k − 1 holds fewer; the whole store when it holds
     * fewer. Found by bisection on k. Samples of different sizes are drawn independently, so their
     * token counts need not grow strictly with k when sequence lengths differ; in a packed store,
     * where nearly every sequence is full, k is the smallest such count.
     */
    public static int sequencesForTokens(SequenceStore store, long tokens, long seed) {
        if (tokens < 1) throw new IllegalArgumentException("token budget " + tokens + " must be at least 1");
        int lo = 1, hi = store.size();
        if (store.tokens(store.sample(hi, seed)) < tokens) return hi;
        while (lo < hi) { // invariant: the sample of hi reaches the budget
            int mid = (lo + hi) >>> 1;
            if (store.tokens(store.sample(mid, seed)) >= tokens) hi = mid;
            else lo = mid + 1;
        }
        return hi;
    }

    /**
     * The memory plan of {@link #fit} for {@code settings} on sequences of {@code seqLen} tokens,
     * with the current heap limit (what a caller prints before the work starts).
     */
    public static MemoryPlan fitPlan(LanguageModel model, FitSettings settings, int seqLen) {
        String problem = FactorArguments.blocksProblem(model.trackedLayers(), settings.factorBlocks());
        if (problem != null) throw new InputException(problem);
        return MemoryPlan.fit(model, settings.strategy(), settings.factorBlocks(), settings.batchSize(), seqLen, Runtime.getRuntime().maxMemory());
    }

    /**
     * Fits (or reuses, when {@code factorsDir} holds them for the same arguments) the strategy's
     * factors. The folder is locked while fitting ({@link OutputLock}): a second fit of it is refused.
     * Memory follows {@link #fitPlan}: a plan that does not fit the heap is refused before any
     * work, and the passes group layers to stay within it. The returned preconditioners are read
     * from the folder when first used.
     */
    public static Preconditioners fit(LanguageModel model, SequenceStore store, String modelFingerprint, Path factorsDir,
                                      FitSettings settings, Damping damping, FitProgress progress) {
        MemoryPlan plan = fitPlan(model, settings, store.seqLen());
        plan.requireFits(model, settings.factorBlocks(), settings.batchSize());
        int[] fitting = store.sample(Math.min(settings.fittingSequences(), store.size()), settings.seed());
        // the label choice changes every stage's output, so it is part of what the factors depend on
        String modelAndLabels = modelFingerprint + "|labels=" + settings.labels().recorded();
        FactorArguments args = arguments(modelAndLabels, store, fitting.length, settings.seed(), model, settings.factorBlocks());
        try (OutputLock lock = OutputLock.acquire(factorsDir, "fit")) {
            CurvatureFactors factors = CurvatureFactors.open(factorsDir, args);
            new FactorFitter(factors, progress, plan.available()).fit(settings.strategy(),
                    new FittingPass(model, store, fitting, settings.batchSize(), settings.seed(), settings.labels()));
            return settings.strategy().preconditioners(factors, damping, plan.available());
        }
    }

    /** The factor arguments, or a one-line refusal when the block count does not suit the layers. */
    private static FactorArguments arguments(String model, SequenceStore store, int fitting, long seed, LanguageModel m, int blocks) {
        String problem = FactorArguments.blocksProblem(m.trackedLayers(), blocks);
        if (problem != null) throw new InputException(problem);
        return new FactorArguments(model, store.fingerprint(), fitting, seed, m.trackedLayers(), blocks);
    }

    /**
     * The preconditioners of factors fitted earlier by {@link #fit} into {@code factorsDir}: the
     * fitting sample size, seed and label choice are read from its arguments file, the model and
     * store must be the ones it was fitted for, and every stage {@code strategy} reads must be there.
     */
    public static Preconditioners openFitted(LanguageModel model, SequenceStore store, String modelFingerprint, Path factorsDir,
                                             Strategy strategy, Damping damping) {
        return openFitted(model, store, modelFingerprint, factorsDir, strategy, damping, Long.MAX_VALUE);
    }

    /** As above, keeping at most {@code cacheBytes} of preconditioners in memory (each layer's read from disk when needed). */
    public static Preconditioners openFitted(LanguageModel model, SequenceStore store, String modelFingerprint, Path factorsDir,
                                             Strategy strategy, Damping damping, long cacheBytes) {
        return strategy.preconditioners(openFactors(model, store, modelFingerprint, factorsDir, strategy), damping, cacheBytes).preload();
    }

    /**
     * The fitted factors of {@code factorsDir}, checked against the model and store, with every
     * stage {@code strategy} reads present and undamaged; refused in one line otherwise.
     */
    public static CurvatureFactors openFactors(LanguageModel model, SequenceStore store, String modelFingerprint, Path factorsDir, Strategy strategy) {
        Path file = factorsDir.resolve(CurvatureFactors.ARGUMENTS_FILE);
        if (!java.nio.file.Files.exists(file))
            throw InputException.notFound(factorsDir + ": no fitted factors here (run 'imprint fit' first)");
        JsonNode stored = JsonFiles.readObject(file);
        if (!stored.path("model_fingerprint").isTextual() || !stored.path("fitting_sequences").canConvertToInt()
                || stored.path("fitting_sequences").intValue() < 1 || !stored.path("seed").canConvertToLong())
            throw new InputException(file + ": not a factor arguments file (it needs model_fingerprint, fitting_sequences ≥ 1 and seed)");
        JsonNode blocks = stored.path("factor_blocks");
        if (!blocks.isMissingNode() && (!blocks.canConvertToInt() || blocks.intValue() < 1))
            throw new InputException(file + ": factor_blocks is " + blocks + ", not a count of at least 1");
        String storedModel = stored.path("model_fingerprint").asText();
        int labelsAt = storedModel.lastIndexOf("|labels=");
        String labels = labelsAt < 0 ? "sampled" : storedModel.substring(labelsAt + "|labels=".length());
        if (java.util.Arrays.stream(FittingPass.Labels.values()).noneMatch(l -> l.recorded().equals(labels)))
            throw InputException.mismatch(factorsDir + ": fitted by an earlier Imprint, whose sampled labels were also drawn at each sequence's"
                    + " last token; run 'imprint fit' again into a new or emptied folder");
        FactorArguments args = arguments(modelFingerprint + "|labels=" + labels, store, stored.path("fitting_sequences").asInt(),
                stored.path("seed").asLong(), model, blocks.isMissingNode() ? 1 : blocks.intValue());
        CurvatureFactors factors = CurvatureFactors.open(factorsDir, args);
        for (dev.imprint.curvature.Stage stage : strategy.stages()) {
            if (!factors.started(stage))
                throw new InputException(factorsDir + ": the " + stage.title() + " for strategy " + strategy.name()
                        + " has not been fitted (run 'imprint fit --strategy " + strategy.name() + "')");
            String problem = factors.problem(stage);
            if (problem != null)
                throw new InputException(factorsDir + ": the " + stage.title() + " cannot be used: " + problem + " (run 'imprint fit' again to refit it)");
        }
        return factors;
    }

    /**
     * The memory plan of scoring {@code queries} queries against batches of {@code batchSize}
     * sequences with the factors of {@code factorsDir} (their block count read from its arguments
     * file), with the current heap limit.
     */
    public static MemoryPlan queryPlan(LanguageModel model, Path factorsDir, Strategy strategy, int queries, int batchSize, int seqLen) {
        Path file = factorsDir.resolve(CurvatureFactors.ARGUMENTS_FILE);
        if (!java.nio.file.Files.exists(file))
            throw InputException.notFound(factorsDir + ": no fitted factors here (run 'imprint fit' first)");
        JsonNode blocks = JsonFiles.readObject(file).path("factor_blocks");
        if (!blocks.isMissingNode() && (!blocks.canConvertToInt() || blocks.intValue() < 1))
            throw new InputException(file + ": factor_blocks is " + blocks + ", not a count of at least 1");
        int o = blocks.isMissingNode() ? 1 : blocks.intValue();
        String problem = FactorArguments.blocksProblem(model.trackedLayers(), o);
        if (problem != null) throw new InputException(file + ": " + problem + " (run 'imprint fit' again to refit it)");
        return MemoryPlan.query(model, strategy, o, queries, batchSize, seqLen, Runtime.getRuntime().maxMemory());
    }

    /**
     * Scores the training sequences of {@code store} against every query in one pass (method §4–5):
     * all of them, or per query only its candidates ({@code candidates.get(q)}, e.g. from the TF-IDF
     * filter; null for all). Keeps each query's top-k, explained by layer and token. With
     * {@code settings.rank() > 0} the pass uses rank-k queries and each query's top
     * {@code settings.rescore()} are rescored at full rank before the top-k is taken.
     *
     * <p>Memory: at full rank, each query is copied into the scorer as soon as it is prepared, so the
     * queries are held once (4·Σ_ℓ P_ℓ(M_ℓ+1) bytes each). With rank k, each query is compressed as
     * soon as it is preconditioned. Rescoring and
     * explaining need the full-rank queries again (4·Σ_ℓ P_ℓ(M_ℓ+1) bytes each: 228 MB for GPT-2
     * small's MLP layers). They are kept from the first preparation when they fit in a quarter of
     * the heap twice over (the prepared queries and the scorer's stacked copy); otherwise they are
     * prepared again a group at a time, each straight into the scorer, with a group filling a
     * quarter of the heap, so that memory stays bounded whatever the number of queries.
     */
    public static List<QueryResult> score(LanguageModel model, SequenceStore store, Preconditioners preconditioners, List<Query> queries,
                                          List<int[]> candidates, ScoreSettings settings, Progress progress) {
        return score(model, store, preconditioners, queries, candidates, settings, progress, Runtime.getRuntime().maxMemory() / 4);
    }

    /** As above, holding at most {@code fullRankBytes} of full-rank queries at once when the rank is k (always at least one). */
    static List<QueryResult> score(LanguageModel model, SequenceStore store, Preconditioners preconditioners, List<Query> queries,
                                   List<int[]> candidates, ScoreSettings settings, Progress progress, long fullRankBytes) {
        if (candidates != null && candidates.size() != queries.size())
            throw new IllegalArgumentException(candidates.size() + " candidate sets for " + queries.size() + " queries");
        Budget budget = Budget.of(model, queries.size(), settings.rank() > 0, fullRankBytes);
        FirstStage first = FirstStage.prepare(model, preconditioners, queries, settings, budget, progress);
        Candidates which = Candidates.of(candidates, store.size());
        Scan scan = Scan.run(first.scorer(), store, which, queries.size(), settings, progress);
        List<QueryResult> results = new ArrayList<>();
        for (int from = 0; from < queries.size(); from += budget.group())
            results.addAll(rescoreAndExplain(model, store, preconditioners, queries, settings, budget, first, scan, from, progress));
        return results;
    }

    /**
     * How many full-rank queries are held at once. At full rank all of them (each prepared straight
     * into the scorer); at rank k all of them when twice their size fits {@code fullRankBytes},
     * otherwise groups that fill it, prepared again for rescoring.
     */
    private record Budget(boolean lowRank, boolean keepFull, int group) {
        static Budget of(LanguageModel model, int Q, boolean lowRank, long fullRankBytes) {
            long perQuery = 0;
            for (var l : model.trackedLayers()) perQuery += 4L * l.outFeatures() * l.activationDim();
            boolean keepFull = lowRank && 2L * Q * perQuery <= fullRankBytes;
            int group = !lowRank || keepFull ? Q : (int) Math.max(1, Math.min(Q, fullRankBytes / perQuery));
            return new Budget(lowRank, keepFull, Math.max(1, group));
        }
    }

    /** Stage 1: every query's gradient, preconditioned; the scorer of the first pass (full rank, or rank k), log p, and the full-rank queries when kept. */
    private record FirstStage(InfluenceScorer scorer, double[] logProbs, List<PreparedQuery> full) {
        static FirstStage prepare(LanguageModel model, Preconditioners preconditioners, List<Query> queries, ScoreSettings settings,
                                  Budget budget, Progress progress) {
            int Q = queries.size();
            double[] logProbs = new double[Q];
            List<PreparedQuery> full = new ArrayList<>();
            if (!budget.lowRank())
                return new FirstStage(exactScorer(model, preconditioners, queries, logProbs, progress, "Preparing queries (gradient, preconditioning)"),
                        logProbs, full);
            // each query compressed as soon as it is prepared, and kept at full rank only within the budget
            progress.start("Preparing queries (gradient, preconditioning, rank-" + settings.rank() + " compression)", Q, Progress.Unit.ITEMS);
            List<LowRankQuery> compressed = new ArrayList<>();
            for (int q = 0; q < Q; q++) {
                PreparedQuery p = InfluenceAnalysis.prepare(model, preconditioners, queries.get(q));
                logProbs[q] = p.logProb();
                compressed.add(LowRankQuery.compress(p, settings.rank()));
                if (budget.keepFull()) full.add(p);
                progress.step(1);
            }
            progress.done();
            return new FirstStage(InfluenceScorer.lowRank(model, compressed), logProbs, full);
        }
    }

    /** Which queries score which sequences: {@code membership[q]} is null when q takes all; {@code union} is every sequence some query takes. */
    private record Candidates(java.util.BitSet[] membership, java.util.BitSet union) {
        static Candidates of(List<int[]> candidates, int N) {
            int Q = candidates == null ? 0 : candidates.size();
            java.util.BitSet[] membership = new java.util.BitSet[Q];
            java.util.BitSet union = new java.util.BitSet(N);
            if (candidates == null) union.set(0, N);
            else for (int q = 0; q < Q; q++) {
                membership[q] = new java.util.BitSet(N);
                for (int i : candidates.get(q)) {
                    if (i < 0 || i >= N) throw new IllegalArgumentException("candidate " + i + " outside the store of " + N);
                    membership[q].set(i);
                }
                union.or(membership[q]);
            }
            return new Candidates(membership, union);
        }

        boolean takes(int q, int sequence) {
            return membership.length == 0 || membership[q].get(sequence);
        }

        /**
         * The sequences to score, those that share queries next to each other (ordered by the first
         * query that takes them, then by index), so that a batch needs few queries' kernels.
         */
        int[] order() {
            int[] all = union.stream().toArray();
            if (membership.length == 0) return all;
            int[] firstQuery = new int[all.length];
            for (int i = 0; i < all.length; i++) {
                int q = 0;
                while (!membership[q].get(all[i])) q++;
                firstQuery[i] = q;
            }
            Integer[] byQuery = new Integer[all.length];
            for (int i = 0; i < all.length; i++) byQuery[i] = i;
            java.util.Arrays.sort(byQuery, java.util.Comparator.comparingInt((Integer i) -> firstQuery[i]).thenComparingInt(i -> all[i]));
            int[] out = new int[all.length];
            for (int i = 0; i < all.length; i++) out[i] = all[byQuery[i]];
            return out;
        }

        /** The queries (ascending) that take at least one of {@code sequences}. */
        int[] queriesOf(int[] sequences, int Q) {
            if (membership.length == 0) return java.util.stream.IntStream.range(0, Q).toArray();
            return java.util.stream.IntStream.range(0, Q).filter(q -> java.util.Arrays.stream(sequences).anyMatch(i -> membership[q].get(i))).toArray();
        }
    }

    /** Stage 2: one pass over the candidate sequences; each query's top (its top-k, or at rank k the top to rescore) and, when asked, every score. */
    private record Scan(TopK[] tops, float[][] all) {
        static Scan run(InfluenceScorer scorer, SequenceStore store, Candidates which, int Q, ScoreSettings settings, Progress progress) {
            int N = store.size(), keep = settings.rank() > 0 ? settings.rescore() : settings.topK();
            TopK[] tops = new TopK[Q];
            for (int q = 0; q < Q; q++) tops[q] = new TopK(Math.min(keep, N));
            float[][] all = settings.keepAll() ? new float[Q][N] : null;
            if (all != null) for (float[] a : all) java.util.Arrays.fill(a, Float.NaN);
            int[] order = which.order();
            progress.start("Scoring " + Q + (Q == 1 ? " query" : " queries") + (settings.rank() > 0 ? " (rank " + settings.rank() + ")" : ""),
                    order.length, Progress.Unit.ITEMS);
            for (int from = 0; from < order.length; from += settings.batchSize()) {
                int[] idx = java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + settings.batchSize()));
                double[][] s = scorer.score(store.batch(idx), which.queriesOf(idx, Q)); // only the queries that take one of them
                for (int q = 0; q < Q; q++)
                    for (int b = 0; b < idx.length; b++) {
                        if (!which.takes(q, idx[b])) continue;
                        tops[q].offer(idx[b], s[q][b]);
                        if (all != null) all[q][idx[b]] = (float) s[q][b];
                    }
                progress.step(idx.length);
            }
            progress.done();
            return new Scan(tops, all);
        }
    }

    /**
     * Stage 3, for the queries [from, from + group): at full rank, rescoring (rank k) and then one
     * pass per distinct top sequence that explains it by layer and token for every query of the group.
     */
    private static List<QueryResult> rescoreAndExplain(LanguageModel model, SequenceStore store, Preconditioners preconditioners, List<Query> queries,
                                                       ScoreSettings settings, Budget budget, FirstStage first, Scan scan, int from, Progress progress) {
        int Q = queries.size(), N = settings.trainingSequences() > 0 ? settings.trainingSequences() : store.size(), to = Math.min(Q, from + budget.group());
        InfluenceScorer exact = !budget.lowRank() ? first.scorer()
                : budget.keepFull() ? new InfluenceScorer(model, first.full())
                : exactScorer(model, preconditioners, queries.subList(from, to), null, progress,
                        "Preparing queries " + (from + 1) + "–" + to + " of " + Q + " again at full rank");
        List<List<TopK.Entry>> top = new ArrayList<>();
        for (int q = from; q < to; q++) top.add(scan.tops()[q].sorted());
        if (budget.lowRank())
            top = rescore(exact, store, top, settings, progress, budget.group() == Q ? "" : " (queries " + (from + 1) + "–" + to + " of " + Q + ")");
        // each top sequence explained once, for the queries of the group whose top holds it
        java.util.Map<Integer, InfluenceScorer.Explanation[]> explained = new java.util.HashMap<>();
        askedBy(top).forEach((sequence, qs) -> explained.put(sequence, exact.explain(store.sequence(sequence), qs.stream().mapToInt(Integer::intValue).toArray())));
        List<QueryResult> results = new ArrayList<>();
        for (int q = from; q < to; q++) {
            List<Hit> hits = new ArrayList<>();
            for (TopK.Entry e : top.get(q - from)) {
                InfluenceScorer.Explanation x = explained.get(e.sequence())[q - from];
                hits.add(new Hit(e.sequence(), x.total(), x.total() / N, x.perLayer(), x.perToken()));
            }
            results.add(new QueryResult(queries.get(q), first.logProbs()[q], List.copyOf(hits), scan.all() == null ? null : scan.all()[q]));
        }
        return results;
    }

    /** A query's gradient, preconditioned at full rank (method §4). */
    public static PreparedQuery prepare(LanguageModel model, Preconditioners preconditioners, Query query) {
        return QueryGradient.compute(model, query).preconditionInPlace(preconditioners, model.trackedLayers());
    }

    /**
     * An exact scorer of {@code queries}, each prepared straight into it; query i's log p goes to
     * {@code logProbs[i]} unless that is null.
     */
    private static InfluenceScorer exactScorer(LanguageModel model, Preconditioners preconditioners, List<Query> queries, double[] logProbs,
                                               Progress progress, String title) {
        progress.start(title, queries.size(), Progress.Unit.ITEMS);
        InfluenceScorer exact = InfluenceScorer.fullRank(model, queries, i -> {
            PreparedQuery p = prepare(model, preconditioners, queries.get(i));
            if (logProbs != null) logProbs[i] = p.logProb();
            progress.step(1);
            return p;
        });
        progress.done();
        return exact;
    }

    /**
     * Self-influence r^T (G + λI)⁻¹ r of every training sequence of {@code store} (method §4), raw:
     * high values flag outliers and memorized sequences.
     */
    public static double[] selfInfluence(LanguageModel model, SequenceStore store, Preconditioners preconditioners, int batchSize, Progress progress) {
        double[] out = new double[store.size()];
        progress.start("Self-influence", store.size(), Progress.Unit.ITEMS);
        for (int from = 0; from < store.size(); from += batchSize) {
            int count = Math.min(batchSize, store.size() - from);
            System.arraycopy(SelfInfluence.compute(model, preconditioners, store.batch(from, count)), 0, out, from, count);
            progress.step(count);
        }
        progress.done();
        return out;
    }

    /** Scores with every sequence as a candidate for every query. */
    public static List<QueryResult> score(LanguageModel model, SequenceStore store, Preconditioners preconditioners, List<Query> queries,
                                          ScoreSettings settings, Progress progress) {
        return score(model, store, preconditioners, queries, null, settings, progress);
    }

    /** Every sequence of the lists, by index, with the (ascending) indices of the lists that hold it. */
    private static java.util.Map<Integer, java.util.TreeSet<Integer>> askedBy(List<List<TopK.Entry>> lists) {
        java.util.Map<Integer, java.util.TreeSet<Integer>> out = new java.util.TreeMap<>();
        for (int q = 0; q < lists.size(); q++)
            for (TopK.Entry e : lists.get(q)) out.computeIfAbsent(e.sequence(), i -> new java.util.TreeSet<>()).add(q);
        return out;
    }

    /**
     * Second stage of query batching: each query's first-stage candidates rescored at full rank
     * (one pass over their union); {@code exact} scores the same queries, in the same order.
     */
    private static List<List<TopK.Entry>> rescore(InfluenceScorer exact, SequenceStore store, List<List<TopK.Entry>> candidates,
                                                  ScoreSettings settings, Progress progress, String which) {
        int Q = candidates.size();
        java.util.Map<Integer, java.util.TreeSet<Integer>> askedBy = askedBy(candidates);
        // sequences that share queries next to each other, so that a batch needs few queries' kernels
        int[] order = askedBy.keySet().stream().sorted(java.util.Comparator.comparingInt((Integer i) -> askedBy.get(i).first()).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
        java.util.Map<Integer, double[]> exactScores = new java.util.HashMap<>();
        progress.start("Rescoring top candidates at full rank" + which, order.length, Progress.Unit.ITEMS);
        for (int from = 0; from < order.length; from += settings.batchSize()) {
            int[] idx = java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + settings.batchSize()));
            java.util.TreeSet<Integer> asked = new java.util.TreeSet<>();
            for (int i : idx) asked.addAll(askedBy.get(i));
            double[][] s = exact.score(store.batch(idx), asked.stream().mapToInt(Integer::intValue).toArray());
            for (int b = 0; b < idx.length; b++) {
                double[] perQuery = new double[Q];
                for (int q = 0; q < Q; q++) perQuery[q] = s[q][b];
                exactScores.put(idx[b], perQuery);
            }
            progress.step(idx.length);
        }
        progress.done();
        List<List<TopK.Entry>> out = new ArrayList<>();
        for (int q = 0; q < Q; q++) {
            TopK t = new TopK(settings.topK());
            for (TopK.Entry e : candidates.get(q)) t.offer(e.sequence(), exactScores.get(e.sequence())[q]);
            out.add(t.sorted());
        }
        return out;
    }
}
