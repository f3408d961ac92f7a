package dev.easel.cli;

import dev.easel.security.ApiKeys;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Mints an API key: prints the key (hand it to the tenant, once) and the line to configure, which
 * holds only its SHA-256 (docs/security.md, "API keys").
 */
@Command(name = "apikey", description = "Mint an API key: prints the key and its configuration entry (name:sha256).")
@RegisterForReflection
public final class ApiKeyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--tenant", required = true, description = "The tenant id (letters and digits).")
    String tenant;

    @Option(names = "--name", defaultValue = "key1", description = "The key's name, for logs and rotation.")
    String name;

    @Override
    public Integer call() {
        if (!tenant.matches("[A-Za-z0-9]{1,64}") || !name.matches("[A-Za-z0-9._-]{1,64}")) {
            spec.commandLine().getErr().println("--tenant: 1-64 letters and digits; --name: 1-64 of A-Z a-z 0-9 . _ -");
            return 2;
        }
        String key = ApiKeys.mint();
        var out = spec.commandLine().getOut();
        out.println("key: " + key);
        out.println("EASEL_TENANTS_" + tenant.toUpperCase(java.util.Locale.ROOT) + "_API_KEYS=" + name + ":"
                + ApiKeys.hash(key));
        return 0;
    }
}
