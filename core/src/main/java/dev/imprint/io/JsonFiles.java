package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reading a user's JSON file (config.json, tokenizer.json, …) with one-line errors that name it. */
public final class JsonFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonFiles() {}

    /** The JSON object in {@code file}; a missing file, malformed JSON, or a value that is not an object is refused. */
    public static JsonNode readObject(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw InputException.notFound(file + ": no such file");
        } catch (MalformedInputException e) {
            throw new InputException(file + ": not UTF-8 text", e);
        } catch (JsonProcessingException e) {
            String detail = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new InputException(file + ": malformed JSON (" + detail + ")", e);
        } catch (IOException e) {
            throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new InputException(file + ": not a JSON object");
        return root;
    }
}
