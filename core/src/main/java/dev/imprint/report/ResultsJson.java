package dev.imprint.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.imprint.InputException;
import dev.imprint.data.Piece;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.SequenceText;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code results.json} (for people's programs and for the report) and {@code scores.safetensors}
 * (every sequence's raw score per query, tensor {@code scores} of shape (Q, N)).
 */
public final class ResultsJson {
    public static final String FILE = "results.json", SCORES = "scores.safetensors";
    /** The files of a results folder (an {@link dev.imprint.io.OutputSet}): these two and the report. */
    public static final java.util.Set<String> FILES = java.util.Set.of(FILE, SCORES, HtmlReport.FILE);
    /** The unit of a raw score, as written in results and reports. */
    public static final String UNIT = "raw: d log p(completion) / d ε for upweighting the sequence's loss by ε (nats); "
            + "per copy: raw ÷ N, the nats gained by adding one more copy of the sequence to the N training sequences";
    /** The version written as {@code "imprint"}. */
    public static final String VERSION = "0.1.0";
    /**
     * What results.json holds, for caches of results (the demo's): 2 added each top sequence's
     * {@code trained}, the run's {@code trained_on} and the tail fit's {@code p_value} and
     * {@code tail_fraction}; 3 each top sequence's {@code context} and its pieces' {@code share}
     * (absent, read as null, in older files).
     */
    public static final String FORMAT = "results-3";
    /** Records in, snake_case keys out (and back); NaN (an unfitted power law) is written as the string "NaN". */
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private ResultsJson() {}

    /**
     * Writes results.json (and scores.safetensors when all scores were kept) into {@code dir};
     * {@code trained} (null when not recorded) marks the sequences the model trained on.
     */
    public static void write(Path dir, RunInfo run, List<InfluenceAnalysis.QueryResult> results, SequenceStore store, java.util.BitSet trained) {
        write(dir, new Results(VERSION, run, UNIT, results.stream().map(r -> query(r, store, trained)).toList()));
        if (!results.isEmpty() && results.getFirst().scores() != null) {
            int Q = results.size(), N = results.getFirst().scores().length;
            float[] all = new float[Q * N];
            for (int q = 0; q < Q; q++) System.arraycopy(results.get(q).scores(), 0, all, q * N, N);
            Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
            t.put("scores", SafeTensors.Tensor.f32(all, Q, N));
            SafeTensors.write(dir.resolve(SCORES), t, Map.of("queries", String.join("\n", results.stream().map(r -> r.query().id()).toList()),
                    "scores", "full".equals(run.rank()) ? "exact (full rank)" : "rank-" + run.rank() + " first pass, not rescored"));
        }
    }

    /** Writes {@code results} as {@code dir}/results.json. */
    public static void write(Path dir, Results results) {
        AtomicFiles.write(dir.resolve(FILE), tmp -> JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), results));
    }

    /**
     * Reads {@code dir}/results.json; a file that is not one (malformed JSON, a missing or null
     * {@code run}, {@code queries} or a query's {@code top}) is refused with one line naming it.
     */
    public static Results read(Path dir) {
        Path file = dir.resolve(FILE);
        Results r;
        try {
            r = JSON.readValue(java.nio.file.Files.readString(file), Results.class); // strict UTF-8, whatever the bytes suggest
        } catch (java.io.FileNotFoundException | java.nio.file.NoSuchFileException e) {
            throw InputException.notFound(file + ": no such file");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InputException(file + ": not a results file (not UTF-8 text)", e);
        } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
            throw new InputException(file + ": not a results file (unknown field \"" + e.getPropertyName() + "\")", e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String detail = e.getOriginalMessage() == null ? "malformed" : e.getOriginalMessage().lines().findFirst().orElse("malformed");
            throw new InputException(file + ": not a results file (" + detail + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (r == null) throw new InputException(file + ": not a results file (null)");
        if (r.run() == null) throw new InputException(file + ": not a results file (no \"run\")");
        if (r.queries() == null || r.queries().isEmpty()) throw new InputException(file + ": not a results file (no \"queries\")");
        for (int q = 0; q < r.queries().size(); q++) {
            Results.QueryResults qr = r.queries().get(q);
            if (qr == null || qr.id() == null || qr.prompt() == null || qr.completion() == null || qr.top() == null
                    || qr.top().stream().anyMatch(t -> t == null))
                throw new InputException(file + ": query " + (q + 1) + " lacks its id, prompt, completion or top sequences");
        }
        return r;
    }

    private static Results.QueryResults query(InfluenceAnalysis.QueryResult r, SequenceStore store, java.util.BitSet trained) {
        Query q = r.query();
        ScoreDistribution distribution = r.scores() == null ? null : ScoreDistribution.of(r.scores());
        List<Results.TopSequence> top = new ArrayList<>();
        for (InfluenceAnalysis.Hit h : r.top()) top.add(topSequence(top.size() + 1, h, store, trained));
        return new Results.QueryResults(q.id(), q.prompt(), q.completion(), r.logProb(), q.promptTokens().length,
                q.completionTokens().length, distribution, top);
    }

    private static Results.TopSequence topSequence(int rank, InfluenceAnalysis.Hit h, SequenceStore store, java.util.BitSet trained) {
        List<Piece> pieces = store.provenance(h.sequence()).pieces();
        double[] shares = shares(pieces, h.tokens(), h.score());
        List<Results.DocumentPiece> documents = new ArrayList<>();
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            documents.add(new Results.DocumentPiece(store.document(p.document()).id(), p.charStart(), p.charEnd(), p.tokenStart(), p.tokenEnd(), shares[i]));
        }
        SequenceText text = store.annotatedText(h.sequence());
        List<Results.TokenScore> tokens = new ArrayList<>(h.tokens().length);
        for (int t = 0; t < h.tokens().length; t++)
            tokens.add(new Results.TokenScore(text.tokenStart()[t], text.tokenEnd()[t], h.tokens()[t]));
        int c = carrying(shares);
        return new Results.TopSequence(rank, h.sequence(), documents.get(c).id(), documents, h.score(), h.scorePerCopy(),
                h.layers(), text.text(), tokens, trained == null ? null : trained.get(h.sequence()),
                context(store.document(pieces.get(c).document()).text(), pieces.get(c).charStart(), pieces.get(c).charEnd()));
    }

    /** Characters of a document shown on each side of a top sequence's piece. */
    public static final int CONTEXT_CHARS = 300;

    /** The text around [start, end) of {@code document}: up to {@link #CONTEXT_CHARS} on each side, cut at whitespace. */
    static Results.Context context(String document, int start, int end) {
        int from = Math.max(0, start - CONTEXT_CHARS), to = Math.min(document.length(), end + CONTEXT_CHARS);
        if (from > 0) {
            int space = document.indexOf(' ', from);
            from = space < 0 || space >= start ? from : space + 1;
        }
        if (to < document.length()) {
            int space = document.lastIndexOf(' ', to);
            to = space <= end ? to : space;
        }
        if (from > 0 && Character.isLowSurrogate(document.charAt(from))) from++;
        if (to < document.length() && to > 0 && Character.isHighSurrogate(document.charAt(to - 1))) to--;
        return new Results.Context(document.substring(from, start), document.substring(start, end), document.substring(end, to), from > 0,
                to < document.length());
    }

    /**
     * Each piece's share of a sequence's score: its token terms (Eq. 31) summed over the piece's
     * tokens, over the score (so the shares sum to 1; a piece pulling against the score has a
     * negative one). Equal shares when the score is 0.
     */
    public static double[] shares(List<Piece> pieces, double[] tokenTerms, double score) {
        double[] out = new double[pieces.size()];
        for (int i = 0; i < out.length; i++) {
            double sum = 0;
            for (int t = pieces.get(i).tokenStart(); t < Math.min(pieces.get(i).tokenEnd(), tokenTerms.length); t++) sum += tokenTerms[t];
            out[i] = score == 0 ? 1.0 / out.length : sum / score;
        }
        return out;
    }

    /** The piece with the largest share (the first of equals). */
    public static int carrying(double[] shares) {
        int best = 0;
        for (int i = 1; i < shares.length; i++) if (shares[i] > shares[best]) best = i;
        return best;
    }

    /** The id of the document that carries most of {@code h}'s score, for one-line listings. */
    public static String carryingDocument(SequenceStore store, InfluenceAnalysis.Hit h) {
        List<Piece> pieces = store.provenance(h.sequence()).pieces();
        return store.document(pieces.get(carrying(shares(pieces, h.tokens(), h.score()))).document()).id();
    }
}
