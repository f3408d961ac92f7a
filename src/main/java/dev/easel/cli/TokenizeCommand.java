package dev.easel.cli;

import dev.easel.engine.tokenizer.ClipTokenizer;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints a prompt's token ids (BOS … EOS, truncated, before padding) as one JSON array. */
@Command(name = "tokenize", description = "Print the CLIP token ids of a prompt as a JSON array.")
@RegisterForReflection
public final class TokenizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true,
            description = "Tokenizer directory (vocab.json, merges.txt, optional tokenizer_config.json), "
                    + "or a model bundle (its tokenizer/ is used).")
    Path tokenizer;

    @Option(names = "--prompt", required = true, description = "Text to tokenize.")
    String prompt;

    @Override
    public Integer call() {
        Path dir = tokenizer.resolve("tokenizer").toFile().isDirectory() ? tokenizer.resolve("tokenizer") : tokenizer;
        int[] ids = ClipTokenizer.load(dir).encode(prompt);
        spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Integer::toString)
                .collect(Collectors.joining(",", "[", "]")));
        return 0;
    }
}
