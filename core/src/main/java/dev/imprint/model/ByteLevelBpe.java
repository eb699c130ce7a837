package dev.imprint.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face {@code tokenizer.json} files for GPT-2's byte-level BPE, optionally truncated to the
 * first ranks so that small models get a small vocabulary that is still an ordinary HF tokenizer.
 *
 * <p>The ranks come from jtokkit's copy of tiktoken's {@code r50k_base} (identical to GPT-2's
 * {@code encoder.json}); HF's BPE model needs explicit merges, which tiktoken's rank table does not
 * store, so they are recovered as tiktoken's educational {@code bpe} does: run BPE on a token's
 * bytes allowing only lower ranks; what remains is the two parts its merge joins.
 */
public final class ByteLevelBpe {
    /** GPT-2's vocabulary: 50,256 ranked byte strings plus {@code <|endoftext|>}. */
    public static final int GPT2_VOCAB_SIZE = 50257;
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** jtokkit's resource: one {@code base64(bytes) rank} pair per line, ranks 0..50255 in order. */
    private static final String R50K_RESOURCE = "com/knuddels/jtokkit/r50k_base.tiktoken";
    /** GPT-2's pre-tokenizer split (encoder.py), which HF's ByteLevel pre-tokenizer applies with use_regex. */
    static final String GPT2_SPLIT_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelBpe() {}

    /**
     * A tokenizer.json whose vocabulary is GPT-2's first {@code vocabSize − 1} tokens by rank, with
     * {@code <|endoftext|>} as id {@code vocabSize − 1}. For 50257 this is GPT-2's own tokenizer.
     * Every prefix of the ranks is closed under merging (a token's parts rank below it), so the
     * truncated tokenizer still encodes any text, just into more, shorter tokens.
     */
    public static String gpt2Prefix(int vocabSize) {
        if (vocabSize < 257 || vocabSize > GPT2_VOCAB_SIZE)
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is outside [257, " + GPT2_VOCAB_SIZE + "]: "
                    + "the 256 byte tokens and <|endoftext|> are required");
        List<String> tokens = gpt2Tokens();
        int ranked = vocabSize - 1;
        Map<String, Integer> ranks = new HashMap<>();
        for (int r = 0; r < ranked; r++) ranks.put(tokens.get(r), r);

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ObjectNode eot = root.putArray("added_tokens").addObject();
        eot.put("id", ranked).put("content", END_OF_TEXT).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", true).put("special", true);
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        // trim_offsets false: a token's span keeps its leading space, so spans tile the text.
        root.set("post_processor", byteLevel(true, false));
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "")
                .put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int r = 0; r < ranked; r++) vocab.put(tokens.get(r), r);
        vocab.put(END_OF_TEXT, ranked);
        ArrayNode merges = model.putArray("merges");
        for (int r = 256; r < ranked; r++) {
            List<String> parts = bpe(tokens.get(r), ranks, r);
            if (parts.size() != 2) throw new IllegalStateException("rank " + r + " does not split into two lower-ranked parts: " + parts);
            // Byte-level symbols never contain a space (0x20 maps to 'Ġ'), so "left right" is unambiguous.
            merges.add(parts.get(0) + " " + parts.get(1));
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace).put("trim_offsets", trimOffsets).put("use_regex", true);
        return n;
    }

    /**
     * Byte-pair merging of one token's symbols, lowest rank first, stopping before any merge whose
     * rank is {@code maxRank} or above (tiktoken's {@code bpe(mergeable_ranks, token, max_rank)}).
     */
    static List<String> bpe(String token, Map<String, Integer> ranks, int maxRank) {
        List<String> parts = new ArrayList<>();
        token.codePoints().forEach(c -> parts.add(Character.toString(c)));
        while (true) {
            int best = -1, bestRank = maxRank;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = ranks.get(parts.get(i) + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    best = i;
                    bestRank = r;
                }
            }
            if (best < 0) return parts;
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }

    /** GPT-2's 50,256 ranked tokens, each written in the byte-level alphabet of {@link #byteToUnicode()}. */
    static List<String> gpt2Tokens() {
        char[] alphabet = byteToUnicode();
        List<String> tokens = new ArrayList<>(GPT2_VOCAB_SIZE - 1);
        try (InputStream in = ByteLevelBpe.class.getClassLoader().getResourceAsStream(R50K_RESOURCE)) {
            if (in == null) throw new IllegalStateException("jtokkit resource " + R50K_RESOURCE + " not on the classpath");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) continue;
                int space = line.indexOf(' ');
                int rank = Integer.parseInt(line.substring(space + 1).trim());
                if (rank != tokens.size()) throw new IllegalStateException(R50K_RESOURCE + ": rank " + rank + " out of order");
                StringBuilder sb = new StringBuilder();
                for (byte b : Base64.getDecoder().decode(line.substring(0, space))) sb.append(alphabet[b & 0xFF]);
                tokens.add(sb.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (tokens.size() != GPT2_VOCAB_SIZE - 1) throw new IllegalStateException(R50K_RESOURCE + " holds " + tokens.size() + " ranks");
        return tokens;
    }

    /**
     * GPT-2's {@code bytes_to_unicode} (encoder.py): printable Latin-1 bytes stand for themselves,
     * the other 68 bytes map in order to U+0100, U+0101, …, so every byte is a visible character.
     */
    static char[] byteToUnicode() {
        char[] map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = (char) (printable ? b : next++);
        }
        return map;
    }
}
