package dev.easel.security;

/**
 * Who made a request: the tenant it acts for and how it proved it.
 *
 * @param subject the API key's name, or the token's {@code sub}; for logs, never a secret
 */
public record Caller(Tenant tenant, String subject, Credential credential) {

    /** How a caller authenticated. */
    public enum Credential { API_KEY, BEARER_TOKEN, NONE }
}
