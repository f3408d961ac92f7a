package dev.easel.testing;

/**
 * The API keys of the tenants that application.properties configures for tests ({@code %test}:
 * only their SHA-256 is there, as in production).
 */
public final class TestKeys {

    public static final String HEADER = "X-API-Key";
    /** Tenant {@code default}: also the tenant of the plain jobs topic. */
    public static final String DEFAULT = "easel_test-default-0123456789abcdefghijklmnopqrstuvwxyzABCDE";
    public static final String ACME = "easel_test-acme-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHI";
    /** Tenant {@code beta}: at most 3 jobs in flight. */
    public static final String BETA = "easel_test-beta-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHI";
    /** Tenant {@code gamma}: at most 1 job in flight (SecurityIT's fair-use checks of its own). */
    public static final String GAMMA = "easel_test-gamma-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";

    private TestKeys() {
    }
}
