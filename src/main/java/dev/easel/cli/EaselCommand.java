package dev.easel.cli;

import io.quarkus.runtime.annotations.RegisterForReflection;
import picocli.CommandLine.Command;

/** Top-level command: lists the subcommands. */
@Command(name = "easel", mixinStandardHelpOptions = true, version = "Easel 0.1.0",
        description = "Serverless text-to-image worker: latent diffusion from ONNX bundles.",
        subcommands = {ServeCommand.class, GenerateCommand.class, TokenizeCommand.class, ApiKeyCommand.class})
@RegisterForReflection
public final class EaselCommand {
}
