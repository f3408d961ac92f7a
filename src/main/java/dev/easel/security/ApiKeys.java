package dev.easel.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * API keys: {@code easel_} and 32 random bytes (base64url), 256 bits of entropy, so a fast hash is
 * enough to store them: only each key's SHA-256 is configured ({@code easel.tenants.<id>.api-keys}
 * = {@code name:sha256hex,…}, from a Kubernetes Secret), never the key. Thread-safe, immutable.
 */
public final class ApiKeys {

    static final String PREFIX = "easel_";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One configured key: its tenant and its name (for logs). */
    record Entry(Tenant tenant, String name) {
    }

    private final Map<String, Entry> byHash;

    ApiKeys(Map<String, Entry> byHash) {
        this.byHash = Map.copyOf(byHash);
    }

    /** A new key, to hand to a tenant once; configure {@link #hash} of it. */
    public static String mint() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The SHA-256 of a key, hex: what the configuration holds. */
    public static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** The caller a presented key stands for, if it is a configured one. */
    Optional<Caller> caller(String presented) {
        Entry entry = byHash.get(hash(presented.strip()));
        return entry == null ? Optional.empty()
                : Optional.of(new Caller(entry.tenant(), "api-key:" + entry.name(), Caller.Credential.API_KEY));
    }

    int size() {
        return byHash.size();
    }
}
