package dev.imprint.model;

import dev.imprint.InputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A Hugging Face model folder: {@code config.json}, {@code model.safetensors}, {@code tokenizer.json}.
 *
 * @param dir         the folder
 * @param config      its architecture
 * @param parameters  its weights
 * @param tokenizer   its tokenizer
 * @param fingerprint SHA-256 over config.json and model.safetensors: what fitted factors depend on
 */
public record ModelDirectory(Path dir, GPT2Config config, Parameters parameters, HfTokenizer tokenizer, String fingerprint) implements AutoCloseable {

    /** Loads and validates the three files (one-line errors naming the file and the problem). */
    public static ModelDirectory load(Path dir) {
        if (!Files.isDirectory(dir)) throw InputException.notFound(dir + ": no such model folder");
        Path config = dir.resolve("config.json"), weights = dir.resolve("model.safetensors");
        GPT2Config c = GPT2Config.read(config);
        Parameters p = Parameters.load(weights, c);
        HfTokenizer t = Tokenizers.load(dir);
        if (t.vocabSize() > c.vocabSize()) {
            t.close();
            throw new InputException(dir + ": tokenizer.json has " + t.vocabSize() + " tokens but the model's vocabulary is " + c.vocabSize());
        }
        return new ModelDirectory(dir, c, p, t, sha256(config, weights));
    }

    /** The model, tracking {@code selection}'s layers. */
    public GPT2 model(LayerSelection selection) {
        return new GPT2(parameters, selection);
    }

    private static String sha256(Path... files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (Path f : files)
                try (InputStream in = new DigestInputStream(Files.newInputStream(f), md)) {
                    while (in.read(buf) >= 0) { /* digest as we go */ }
                }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new InputException("cannot read model files: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
