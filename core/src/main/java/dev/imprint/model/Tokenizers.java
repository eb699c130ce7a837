package dev.imprint.model;

import dev.imprint.InputException;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finding a model's tokenizer. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * The Hugging Face tokenizer saved with a model: {@code modelDir/tokenizer.json}. If its
     * vocabulary has no {@code <|endoftext|>}, the end-of-text id is {@code eos_token_id} from
     * {@code modelDir/config.json}.
     */
    public static HfTokenizer load(Path modelDir) {
        Path json = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json))
            throw InputException.notFound(modelDir + ": no tokenizer.json (a model directory needs the Hugging Face tokenizer it was trained with)");
        Path config = modelDir.resolve("config.json");
        return HfTokenizer.load(json, () -> {
            if (!Files.isRegularFile(config))
                throw new InputException(json + ": no <|endoftext|> token, and no config.json beside it to give eos_token_id");
            return HfConfig.read(config).eosTokenId();
        });
    }
}
