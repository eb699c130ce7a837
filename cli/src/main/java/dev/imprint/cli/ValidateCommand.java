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
import dev.imprint.validation.LinearDatamodeling;
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
@Command(name = "validate", mixinStandardHelpOptions = true, subcommands = ValidateCommand.Lds.class,
        description = {"Checks influence scores against retraining: 'validate lds' retrains the model on random subsets of its",
                "training data and measures how well each attribution's scores predict the queries' log p (method §7)."})
final class ValidateCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (lds)");
    }

    /** Where the queries come from: a file, or the model's held-out split. */
    static final class QuerySource {
        @Option(names = "--queries", description = "Queries, one JSON object a line: {\"id\", \"prompt\", \"completion\"}.")
        Path file;
        @Option(names = "--held-out-queries", description = "Instead: N sequences of the model's held-out split, each split in half (prompt, completion).")
        Integer heldOut;
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
        @ArgGroup(exclusive = true, multiplicity = "1")
        QuerySource querySource;
        @Option(names = "--out", required = true, description = "Output folder: validation.json and report.html.")
        Path out;
        @Option(names = "--stages", description = "Folder of the retrained models and cached scores (default: OUT.stages beside OUT).")
        Path stages;
        @Option(names = "--subsets", defaultValue = "50", description = "M, subsets retrained (default: ${DEFAULT-VALUE}).")
        int subsets;
        @Option(names = "--seeds", defaultValue = "1", description = "Retrainings per subset, their measurements averaged (default: ${DEFAULT-VALUE}).")
        int seeds;
        @Option(names = "--fraction", defaultValue = "0.5", description = "Share of the training split in each subset (default: ${DEFAULT-VALUE}).")
        double fraction;
        @Option(names = "--seed", defaultValue = "0", description = "Seed of the subsets, the fitting sample, the sampled labels and the random baseline (default: ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--attributions", defaultValue = "identity,diagonal,kfac,ekfac,tfidf,random", split = ",",
                description = "What to compare: curvature strategies (identity, diagonal, kfac, ekfac) and the baselines tfidf and random (default: ${DEFAULT-VALUE}).")
        List<String> attributions;
        @Option(names = "--fitting-sequences", defaultValue = "" + InfluenceAnalysis.FitSettings.DEFAULT_FITTING_SEQUENCES,
                description = "Size of the seeded fitting sample of the factors (default: ${DEFAULT-VALUE}, capped at the store).")
        int fitting;
        @Option(names = "--labels", defaultValue = "sampled", description = "sampled (the Fisher) or true (empirical Fisher) (default: ${DEFAULT-VALUE}).")
        String labels;
        @Option(names = "--damping", description = "An explicit damping λ for every layer (default: 0.1 × mean(Λ) per layer).")
        Double damping;

        @Override
        public Integer call() {
            LinearDatamodeling.Settings settings = new LinearDatamodeling.Settings(subsets, seeds, fraction, seed, 2000);
            if (fitting < 1) throw new InputException("--fitting-sequences must be at least 1, not " + fitting);
            if (querySource.heldOut != null && querySource.heldOut < 1) throw new InputException("--held-out-queries must be at least 1");
            FittingPass.Labels l = FittingPass.Labels.named(labels);
            Damping d;
            try {
                d = damping == null ? Damping.paperDefault() : new Damping.Absolute(damping);
            } catch (IllegalArgumentException e) {
                throw new InputException("--damping: " + e.getMessage());
            }
            Set<String> names = new LinkedHashSet<>(attributions);
            if (names.size() != attributions.size()) throw new InputException("--attributions names one twice: " + String.join(",", attributions));
            InfluenceAnalysis.FitSettings fit = new InfluenceAnalysis.FitSettings(dev.imprint.curvature.Strategy.defaultStrategy(), fitting,
                    inputs.batchSize, seed, l);
            List<Attribution> chosen = new ArrayList<>();
            for (String name : names) chosen.add(Attribution.parse(name, fit, d, inputs.batchSize, seed));
            TrainingRecipe recipe = TrainingRecipe.read(inputs.model);
            Path stagesDir = stages != null ? stages : out.toAbsolutePath().resolveSibling(out.toAbsolutePath().getFileName() + ".stages");
            try (OutputSet set = OutputSet.open(out, "validate lds", Set.of(ValidationReport.JSON_FILE, ValidationReport.HTML_FILE));
                 OutputLock stageLock = OutputLock.acquire(stagesDir, "validate lds");
                 Inputs.Opened in = inputs.open()) {
                recipe.requireMatches(in.dir().config(), in.store());
                List<Query> queries = querySource.file != null ? readQueries(querySource.file, in)
                        : LinearDatamodeling.heldOutQueries(in.store(), recipe.split(in.store().size()).heldOut(), querySource.heldOut, in.dir().tokenizer());
                System.err.printf("LDS: %d queries, %d subsets × %d seed(s) of %s of the training split, %s%n", queries.size(), subsets, seeds,
                        fraction, String.join(", ", names));
                Attribution.Inputs ai = new Attribution.Inputs(in.model(), in.dir().fingerprint(), in.store(), queries, stagesDir.resolve("factors"));
                LinearDatamodeling.Result r = LinearDatamodeling.run(ai, recipe, in.dir().config(), chosen, settings, stagesDir, new ConsoleProgress());
                Map<String, String> run = new LinkedHashMap<>();
                run.put("model", inputs.model.toString());
                run.put("model fingerprint", in.dir().fingerprint());
                run.put("store fingerprint", in.store().fingerprint());
                run.put("recipe", recipe.preset().name() + " (" + recipe.preset().arch().name().toLowerCase() + "), " + recipe.steps() + " steps, seed " + recipe.seed());
                run.put("queries", querySource.file != null ? querySource.file.toString() : queries.size() + " from the held-out split");
                run.put("factors", "fitting sample " + Math.min(fitting, in.store().size()) + ", labels " + labels + ", damping "
                        + (damping == null ? "0.1 × mean(Λ) per layer" : "λ = " + damping));
                run.put("stages", stagesDir.toString());
                ValidationReport.writeLds(set.staging(), r, run);
                set.commit();
                System.out.printf("LDS over %d queries, %d subsets of %d of %d training sequences (retraining %.1f s, %d models trained now):%n",
                        queries.size(), subsets, r.subsetSize(), r.trainingSequences(), r.retrainSeconds(), r.retrainedNow());
                for (LinearDatamodeling.Estimate e : r.estimates())
                    System.out.printf("  %-9s %6.3f  [%6.3f, %6.3f]%n", e.attribution(), e.mean(), e.low(), e.high());
                System.out.println("written: " + out.resolve(ValidationReport.JSON_FILE) + ", " + out.resolve(ValidationReport.HTML_FILE));
            }
            return 0;
        }

        private static List<Query> readQueries(Path file, Inputs.Opened in) {
            if (!Files.isRegularFile(file)) throw InputException.notFound(file + ": no such file");
            try {
                return Query.fromJsonLines(file.toString(), Files.readAllLines(file), in.dir().tokenizer(), in.dir().config().contextLength());
            } catch (java.io.IOException e) {
                throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
    }
}
