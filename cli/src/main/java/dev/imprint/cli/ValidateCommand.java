package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.Damping;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.influence.FittingPass;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.io.OutputLock;
import dev.imprint.io.OutputSet;
import dev.imprint.report.ValidationReport;
import dev.imprint.validation.Attribution;
import dev.imprint.validation.ExactComparison;
import dev.imprint.validation.FactRecall;
import dev.imprint.validation.LinearDatamodeling;
import dev.imprint.validation.PlantedFacts;
import dev.imprint.validation.TrainingRecipe;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code imprint validate}: do the scores predict what training does? (method §7) */
@Command(name = "validate", mixinStandardHelpOptions = true, subcommands = {ValidateCommand.Lds.class, ValidateCommand.Exact.class, ValidateCommand.Recall.class},
        description = {"Checks influence scores against what they estimate (method §7): 'validate lds' retrains the model on random",
                "subsets of its training data and measures how well each attribution's scores predict the queries' log p;",
                "'validate exact' compares each strategy with the exact damped Gauss-Newton Hessian of the fitting sample;",
                "'validate recall' ranks the source documents of facts planted in the corpus ('imprint corpus plant')."})
final class ValidateCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (lds, exact or recall)");
    }

    /** Where the queries come from: a file, or the model's held-out split. */
    static final class QuerySource {
        @Option(names = "--queries", description = "Queries, one JSON object a line: {\"id\", \"prompt\", \"completion\"}.")
        Path file;
        @Option(names = "--held-out-queries", description = "Instead: N sequences of the model's held-out split, each split in half (prompt, completion).")
        Integer heldOut;

        static String describe(QuerySource source, List<Query> queries) {
            return source.file != null ? source.file.toString() : queries.size() + " from the held-out split";
        }
    }

    /** The options every validation shares: outputs, stages, queries and how factors are fitted. */
    static final class Common {
        @Option(names = "--out", required = true, description = "Output folder: validation.json and report.html.")
        Path out;
        @Option(names = "--stages", description = "Folder of the retrained models, exact solves and cached scores (default: OUT.stages beside OUT).")
        Path stages;
        @Option(names = "--seed", defaultValue = "0", description = "Seed of the subsets, the fitting sample, the sampled labels and the random baseline (default: ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--fitting-sequences", defaultValue = "" + InfluenceAnalysis.FitSettings.DEFAULT_FITTING_SEQUENCES,
                description = "Size of the seeded fitting sample of the factors (default: ${DEFAULT-VALUE}, capped at the store).")
        int fitting;
        @Option(names = "--labels", defaultValue = "sampled", description = "sampled (the Fisher) or true (empirical Fisher) (default: ${DEFAULT-VALUE}).")
        String labels;
        @Option(names = "--damping", description = "An explicit damping λ for every layer (default: 0.1 × mean(Λ) per layer).")
        Double damping;
        @Option(names = "--lissa-depth", defaultValue = "1000", description = "LiSSA: recursion steps (default: ${DEFAULT-VALUE}).")
        int lissaDepth;
        @Option(names = "--lissa-batch", defaultValue = "8", description = "LiSSA: sequences per Gauss-Newton-vector product (default: ${DEFAULT-VALUE}).")
        int lissaBatch;
        @Option(names = "--lissa-scale", defaultValue = "0", description = "LiSSA: 1/α, the step's inverse; 0 for 1.05 (max ‖g_z‖² + λ) per layer, which cannot diverge (default: ${DEFAULT-VALUE}).")
        double lissaScale;

        dev.imprint.curvature.LissaPreconditioner.Settings lissa() {
            return new dev.imprint.curvature.LissaPreconditioner.Settings(lissaDepth, lissaBatch, lissaScale, seed);
        }

        /** Every flag checked, before any work; {@code batchSize} is the Inputs' --batch-size. */
        void check(int batchSize) {
            if (batchSize < 1) throw new InputException("--batch-size must be at least 1, not " + batchSize);
            Path o = out.toAbsolutePath().normalize(), st = stagesDir().toAbsolutePath().normalize();
            if (st.startsWith(o) || o.startsWith(st))
                throw new InputException("--stages " + st + " and --out " + o + " must be separate folders (each output set replaces --out whole)");
            lissa();
            if (fitting < 1) throw new InputException("--fitting-sequences must be at least 1, not " + fitting);
            FittingPass.Labels.named(labels);
            damping();
        }

        Damping damping() {
            try {
                return damping == null ? Damping.paperDefault() : new Damping.Absolute(damping);
            } catch (IllegalArgumentException e) {
                throw new InputException("--damping: " + e.getMessage());
            }
        }

        InfluenceAnalysis.FitSettings fit(int batchSize) {
            return new InfluenceAnalysis.FitSettings(dev.imprint.curvature.Strategy.defaultStrategy(), fitting, batchSize, seed, FittingPass.Labels.named(labels));
        }

        /** The attributions named, in order; a name given twice is refused. */
        List<Attribution> attributions(List<String> names, int batchSize) {
            Set<String> unique = new LinkedHashSet<>(names);
            if (unique.size() != names.size()) throw new InputException("--attributions names one twice: " + String.join(",", names));
            List<Attribution> out = new ArrayList<>();
            for (String name : unique) out.add(Attribution.parse(name, fit(batchSize), damping(), batchSize, seed, lissa()));
            return out;
        }

        Path stagesDir() {
            return stages != null ? stages : out.toAbsolutePath().resolveSibling(out.toAbsolutePath().getFileName() + ".stages");
        }

        /**
         * The factors' stage: a folder of the stages named by the fingerprint of what they depend on (model,
         * store, fitting sample, seed, labels, tracked layers), so that other settings fit beside it.
         */
        Path factorsDir(Inputs inputs, Inputs.Opened in) {
            String key = String.join("|", in.dir().fingerprint(), in.store().fingerprint(), Integer.toString(Math.min(fitting, in.store().size())),
                    Long.toString(seed), FittingPass.Labels.named(labels).recorded(),
                    in.model().trackedLayers().stream().map(dev.imprint.model.TrackedLayer::name).toList().toString());
            return stagesDir().resolve("factors-" + dev.imprint.io.Sha256.ofText(key).substring(0, 12));
        }

        /** The queries: the file's, or the first N held-out sequences of the model's recipe. */
        static List<Query> queries(QuerySource querySource, Inputs.Opened in, TrainingRecipe recipe) {
            if (querySource.heldOut != null && querySource.heldOut < 1) throw new InputException("--held-out-queries must be at least 1");
            if (querySource.file == null)
                return LinearDatamodeling.heldOutQueries(in.store(), recipe.split(in.store().size()).heldOut(), querySource.heldOut, in.dir().tokenizer());
            Path file = querySource.file;
            if (!Files.isRegularFile(file)) throw InputException.notFound(file + ": no such file");
            try {
                return Query.fromJsonLines(file.toString(), Files.readAllLines(file), in.dir().tokenizer(), in.dir().config().contextLength());
            } catch (java.io.IOException e) {
                throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
            }
        }

        /** One validation's work inside its output set: it writes its files into {@code staging} and returns what to print once they are committed. */
        @FunctionalInterface
        interface Work {
            Runnable write(Inputs.Opened in, Path staging);
        }

        /**
         * Opens the output set (committed whole) and locks the stages, opens the model and store, does
         * {@code work}, commits, then prints its summary and where the files are.
         */
        int run(String command, Inputs inputs, Work work) {
            try (OutputSet set = OutputSet.open(out, command, Set.of(ValidationReport.JSON_FILE, ValidationReport.HTML_FILE));
                 OutputLock stageLock = OutputLock.acquire(stagesDir(), command);
                 Inputs.Opened in = inputs.open()) {
                Runnable summary = work.write(in, set.staging());
                set.commit();
                summary.run();
                System.out.println("written: " + out.resolve(ValidationReport.JSON_FILE) + ", " + out.resolve(ValidationReport.HTML_FILE));
            }
            return 0;
        }

        /** What the attributions score with: the opened model and store, {@code queries}, and the factors' stage. */
        Attribution.Inputs attributionInputs(Inputs inputs, Inputs.Opened in, List<Query> queries) {
            return new Attribution.Inputs(in.model(), in.dir().fingerprint(), in.store(), queries, factorsDir(inputs, in));
        }

        /** What the run was given, for the report's header. */
        Map<String, String> header(Inputs inputs, Inputs.Opened in, String queries) {
            Map<String, String> run = new LinkedHashMap<>();
            run.put("model", inputs.model.toString());
            run.put("model fingerprint", in.dir().fingerprint());
            run.put("store fingerprint", in.store().fingerprint());
            run.put("queries", queries);
            run.put("factors", "fitting sample " + Math.min(fitting, in.store().size()) + ", labels " + labels + ", damping "
                    + (damping == null ? "0.1 × mean(Λ) per layer" : "λ = " + damping));
            run.put("stages", stagesDir().toString());
            return run;
        }
    }

    /** {@code imprint validate lds}. */
    @Command(name = "lds", mixinStandardHelpOptions = true,
            description = {"The linear datamodeling score (method §7.1): M seeded subsets of a fraction of the model's training split,",
                    "the model retrained from scratch on each with the recipe in its training.json; per query, the Spearman",
                    "correlation over subsets between the sum of the subset's scores and log p(completion) after retraining;",
                    "LDS is its mean over queries, with a bootstrap 95% interval. Every retraining and every attribution's",
                    "scores is a stage in the stages folder: a killed run resumes, a rerun reuses them. Writes",
                    "OUT/validation.json and OUT/report.html."},
            footer = {"", "Example:",
                    "  imprint train --corpus docs/ --out models/tiny --preset tiny --steps 800",
                    "  imprint validate lds --model models/tiny --corpus docs/ --held-out-queries 16 --subsets 50 --out validation/lds"})
    static final class Lds implements Callable<Integer> {
        @Mixin Inputs inputs;
        @Mixin Common common;
        @ArgGroup(exclusive = true, multiplicity = "1")
        QuerySource querySource;
        @Option(names = "--subsets", defaultValue = "50", description = "M, subsets retrained (default: ${DEFAULT-VALUE}).")
        int subsets;
        @Option(names = "--seeds", defaultValue = "1", description = "Retrainings per subset, their measurements averaged (default: ${DEFAULT-VALUE}).")
        int seeds;
        @Option(names = "--fraction", defaultValue = "0.5", description = "Share of the training split in each subset (default: ${DEFAULT-VALUE}).")
        double fraction;
        @Option(names = "--attributions", defaultValue = "identity,diagonal,kfac,ekfac,tfidf,random", split = ",",
                description = "What to compare: curvature strategies (identity, diagonal, kfac, ekfac), exact (the exact GNH) and lissa "
                        + "(small models), and the baselines tfidf and random (default: ${DEFAULT-VALUE}).")
        List<String> attributions;

        @Override
        public Integer call() {
            LinearDatamodeling.Settings settings = new LinearDatamodeling.Settings(subsets, seeds, fraction, common.seed, 2000);
            common.check(inputs.batchSize);
            List<Attribution> chosen = common.attributions(attributions, inputs.batchSize);
            TrainingRecipe recipe = TrainingRecipe.read(inputs.model);
            return common.run("validate lds", inputs, (in, staging) -> {
                recipe.requireMatches(in.dir().config(), in.store());
                List<Query> queries = Common.queries(querySource, in, recipe);
                System.err.printf("LDS: %d queries, %d subsets × %d seed(s) of %s of the training split, %s%n", queries.size(), subsets, seeds,
                        fraction, String.join(", ", attributions));
                LinearDatamodeling.Result r = LinearDatamodeling.run(common.attributionInputs(inputs, in, queries), recipe, in.dir().config(), chosen,
                        settings, common.stagesDir(), new ConsoleProgress());
                Map<String, String> run = common.header(inputs, in, QuerySource.describe(querySource, queries));
                run.put("recipe", recipe.preset().name() + " (" + recipe.preset().arch().name().toLowerCase() + "), " + recipe.steps() + " steps, seed " + recipe.seed());
                ValidationReport.writeLds(staging, r, run);
                return () -> {
                    System.out.printf("LDS over %d queries, %d subsets of %d of %d training sequences (retraining %.1f s, %d models trained now):%n",
                            queries.size(), subsets, r.subsetSize(), r.trainingSequences(), r.retrainSeconds(), r.retrainedNow());
                    for (LinearDatamodeling.Estimate e : r.estimates())
                        System.out.printf("  %-9s %6.3f  [%6.3f, %6.3f]%n", e.attribution(), e.mean(), e.low(), e.high());
                };
            });
        }
    }

    /** {@code imprint validate exact}. */
    @Command(name = "exact", mixinStandardHelpOptions = true,
            description = {"Every strategy against influence through the exact damped block-diagonal Gauss-Newton Hessian of the same",
                    "fitting sample (method §7.2): G = (1/N) Σ_z g_z g_zᵀ from each fitting sequence's gradient with sampled",
                    "labels, (G + λI)⁻¹ by Woodbury, λ = 0.1 × tr(G)/D per layer (EK-FAC's rule) unless --damping gives one.",
                    "Holds N × D doubles per layer, so it is for small models. Per query, Pearson and Spearman over every",
                    "sequence of the store; writes OUT/validation.json and OUT/report.html."},
            footer = {"", "Example:",
                    "  imprint validate exact --model models/tiny --corpus docs/ --held-out-queries 16 --fitting-sequences 500 --out validation/exact"})
    static final class Exact implements Callable<Integer> {
        @Mixin Inputs inputs;
        @Mixin Common common;
        @ArgGroup(exclusive = true, multiplicity = "1")
        QuerySource querySource;
        @Option(names = "--attributions", defaultValue = "identity,diagonal,kfac,ekfac", split = ",",
                description = "Strategies (and baselines) compared with the exact solve (default: ${DEFAULT-VALUE}).")
        List<String> attributions;

        @Override
        public Integer call() {
            common.check(inputs.batchSize);
            List<Attribution> chosen = common.attributions(attributions, inputs.batchSize);
            if (chosen.stream().anyMatch(a -> a instanceof Attribution.Exact)) throw new InputException("--attributions: exact is the reference here, not a strategy to compare");
            return common.run("validate exact", inputs, (in, staging) -> {
                TrainingRecipe recipe = querySource.file == null ? TrainingRecipe.read(inputs.model) : null;
                if (recipe != null) recipe.requireMatches(in.dir().config(), in.store());
                List<Query> queries = Common.queries(querySource, in, recipe);
                Attribution.Exact exact = new Attribution.Exact(common.fit(inputs.batchSize), common.damping(), inputs.batchSize);
                int n = Math.min(common.fitting, in.store().size());
                System.err.printf("exact GNH of %d fitting sequences (%,d MiB of gradients) against %s, %d queries%n", n,
                        Attribution.Exact.bytes(in.model(), n) >> 20, String.join(", ", attributions), queries.size());
                ExactComparison.Result r = ExactComparison.run(common.attributionInputs(inputs, in, queries), exact, chosen, common.stagesDir(), new ConsoleProgress());
                ValidationReport.writeExact(staging, r, common.header(inputs, in, QuerySource.describe(querySource, queries)));
                return () -> {
                    System.out.printf("against the exact GNH of %d fitting sequences, %d queries × %d sequences (exact scores %.1f s):%n", r.fitting(),
                            queries.size(), r.sequences(), r.exactSeconds());
                    for (ExactComparison.Agreement a : r.agreements())
                        System.out.printf("  %-9s Pearson %.4f (lowest query %.4f), Spearman %.4f%n", a.attribution(), a.pearson(), a.lowest(), a.spearman());
                };
            });
        }
    }

    /** {@code imprint validate recall}. */
    @Command(name = "recall", mixinStandardHelpOptions = true,
            description = {"Fact recall (method §7.3): each planted fact's query (from 'imprint corpus plant', or a file of the same",
                    "form) scored against every sequence; the rank of its best source sequence, Recall@1, Recall@10 and MRR",
                    "per attribution. Writes OUT/validation.json and OUT/report.html."},
            footer = {"", "Example:",
                    "  imprint corpus plant --into docs/ --facts 20 --out facts.jsonl",
                    "  imprint train --corpus docs/ --out models/tiny --preset tiny --steps 800",
                    "  imprint validate recall --model models/tiny --corpus docs/ --facts facts.jsonl --out validation/recall"})
    static final class Recall implements Callable<Integer> {
        @Mixin Inputs inputs;
        @Mixin Common common;
        @Option(names = "--facts", required = true, description = "Facts, one JSON object a line: {\"id\", \"prompt\", \"completion\", \"sources\": [document ids]}.")
        Path facts;
        @Option(names = "--attributions", defaultValue = "identity,diagonal,kfac,ekfac,tfidf,random", split = ",",
                description = "What to compare (default: ${DEFAULT-VALUE}).")
        List<String> attributions;

        @Override
        public Integer call() {
            common.check(inputs.batchSize);
            List<Attribution> chosen = common.attributions(attributions, inputs.batchSize);
            List<PlantedFacts.Fact> planted = PlantedFacts.read(facts);
            return common.run("validate recall", inputs, (in, staging) -> {
                List<Query> queries = new ArrayList<>();
                for (PlantedFacts.Fact f : planted)
                    queries.add(Query.of(f.id(), f.prompt(), f.completion(), in.dir().tokenizer(), in.dir().config().contextLength()));
                FactRecall.Result r = FactRecall.run(common.attributionInputs(inputs, in, queries), planted, chosen, common.stagesDir(), new ConsoleProgress());
                ValidationReport.writeRecall(staging, r, common.header(inputs, in, facts + " (" + planted.size() + " facts)"));
                return () -> {
                    System.out.printf("recall of %d planted facts among %d sequences:%n", planted.size(), r.sequences());
                    for (FactRecall.Recall a : r.recalls())
                        System.out.printf("  %-9s Recall@1 %.3f  Recall@10 %.3f  MRR %.3f%n", a.attribution(), a.recallAt1(), a.recallAt10(), a.mrr());
                };
            });
        }
    }
}
