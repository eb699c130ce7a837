package dev.imprint.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;
import dev.imprint.io.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic facts planted in a corpus, each with the documents that state it (method §7.3): a
 * made-up crew member of a made-up ship, stated in two documents in different words, and asked as
 * a query whose completion is the name, in words neither document uses verbatim.
 */
public final class PlantedFacts {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The most facts one call plants: a quarter of the 4,096 ship names. */
    public static final int MAX_FACTS = 1000;
    private static final String[] ROLES = {"first mate", "navigator", "cook", "harpooner", "carpenter", "surgeon", "boatswain", "cooper"};
    private static final String[] VESSELS = {"whaler", "schooner", "brig", "frigate", "sloop", "barque"};
    private static final String[] SYLLABLES = {"ka", "lo", "mi", "ru", "te", "sa", "no", "vi", "da", "pe", "zu", "ho", "bel", "cor", "fen", "gar"};

    private PlantedFacts() {}

    /**
     * A planted fact and the documents that state it.
     *
     * @param id         a name for reports
     * @param prompt     the query's prompt
     * @param completion the query's completion, the fact's answer
     * @param sources    ids of the corpus documents that state it
     */
    public record Fact(String id, String prompt, String completion, List<String> sources) {
        public Fact {
            if (sources.isEmpty()) throw new InputException("fact " + id + " names no source document");
            sources = List.copyOf(sources);
        }
    }

    /** A fact with the texts of its documents, by id. */
    public record Planted(Fact fact, List<String> texts) {}

    /** {@code count} facts (seeded), each stated in documents {@code prefix}fact-NNN-a.txt and -b.txt. */
    public static List<Planted> generate(int count, long seed, String prefix) {
        if (count < 1 || count > MAX_FACTS) throw new InputException("--facts must lie in 1.." + MAX_FACTS + ", not " + count);
        SplittableRandom rng = new SplittableRandom(seed);
        List<Planted> out = new ArrayList<>();
        java.util.Set<String> used = new LinkedHashSet<>();
        for (int f = 0; f < count; f++) {
            String ship, person;
            do { // 16³ ships and 16⁵ people: MAX_FACTS leaves most names free, so few draws repeat
                ship = name(rng, 3);
                person = name(rng, 2) + " " + name(rng, 3);
            } while (used.contains(ship) || used.contains(person));
            used.add(ship);
            used.add(person);
            String role = ROLES[rng.nextInt(ROLES.length)], vessel = VESSELS[rng.nextInt(VESSELS.length)];
            String a = "From the log of the " + vessel + " " + ship + ": aboard her, the " + role + " was " + person
                    + ", and the crew remembered the long watches and the cold wind off the coast.\n";
            String b = person + " served as " + role + " aboard the " + vessel + " " + ship + " for three voyages, and wrote letters home from every port.\n";
            String id = String.format("fact-%03d", f);
            out.add(new Planted(new Fact(id, "The " + role + " of the " + vessel + " " + ship + " was named", " " + person,
                    List.of(prefix + id + "-a.txt", prefix + id + "-b.txt")), List.of(a, b)));
        }
        return out;
    }

    private static String name(SplittableRandom rng, int syllables) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < syllables; i++) s.append(SYLLABLES[rng.nextInt(SYLLABLES.length)]);
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * Writes each fact's documents into {@code corpus}/{@code folder}/ and the facts, one JSON object a
     * line, to {@code factsFile}. Refuses a folder that already exists (its documents would mix).
     */
    public static List<Fact> plant(Path corpus, String folder, int count, long seed, Path factsFile) {
        Path dir = corpus.resolve(folder);
        if (Files.exists(dir)) throw new InputException(dir + " already exists; plant into a corpus without it or choose another --folder");
        if (factsFile.toAbsolutePath().normalize().startsWith(corpus.toAbsolutePath().normalize()))
            throw new InputException(factsFile + " lies inside the corpus " + corpus + ", where it would be read as a document; write it elsewhere");
        if (Files.exists(factsFile)) throw new InputException(factsFile + " already exists; choose another --out");
        List<Planted> planted = generate(count, seed, folder + "/");
        // the documents are written into a hidden folder (which corpora skip) and renamed into place, so a failure leaves nothing
        Path staging = corpus.resolve("." + folder + ".planting");
        try {
            AtomicFiles.deleteTree(staging);
            Files.createDirectories(staging);
            StringBuilder lines = new StringBuilder();
            for (Planted p : planted) {
                for (int i = 0; i < p.texts().size(); i++)
                    Files.writeString(staging.resolve(p.fact().sources().get(i).substring(folder.length() + 1)), p.texts().get(i));
                var node = JSON.createObjectNode().put("id", p.fact().id()).put("prompt", p.fact().prompt()).put("completion", p.fact().completion());
                var sources = node.putArray("sources");
                p.fact().sources().forEach(sources::add);
                lines.append(JSON.writeValueAsString(node)).append('\n');
            }
            Files.move(staging, dir);
            AtomicFiles.writeString(factsFile, lines.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write into " + dir + " (" + e.getMessage() + ")", e);
        }
        return planted.stream().map(Planted::fact).toList();
    }

    /** The facts of a file {@link #plant} wrote (or one written by hand): {"id", "prompt", "completion", "sources": [ids]} a line. */
    public static List<Fact> read(Path file) {
        if (!Files.isRegularFile(file)) throw InputException.notFound(file + ": no such file");
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        List<Fact> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(lines.get(i));
            } catch (IOException e) {
                throw new InputException(file + ":" + (i + 1) + ": not valid JSON");
            }
            if (n == null || !n.path("prompt").isTextual() || !n.path("completion").isTextual() || !n.path("sources").isArray()
                    || n.path("sources").isEmpty())
                throw new InputException(file + ":" + (i + 1) + ": needs string fields \"prompt\" and \"completion\" and a non-empty \"sources\" array of document ids");
            List<String> sources = new ArrayList<>();
            for (JsonNode s : n.get("sources")) {
                if (!s.isTextual()) throw new InputException(file + ":" + (i + 1) + ": \"sources\" must hold document ids (strings)");
                sources.add(s.asText());
            }
            out.add(new Fact(n.path("id").isTextual() ? n.get("id").asText() : "fact" + (out.size() + 1), n.get("prompt").asText(),
                    n.get("completion").asText(), sources));
        }
        if (out.isEmpty()) throw new InputException(file + ": no facts");
        return out;
    }
}
