package dev.easel.security;

import dev.easel.config.S3Config;
import dev.easel.config.SecurityConfig;
import dev.easel.config.TenantsConfig;
import dev.easel.config.TopicsConfig;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The tenants of this fleet, and who a request or a record speaks for.
 *
 * <p>Over HTTP, the credential says: an API key ({@code X-API-Key}) or a bearer token whose tenant
 * claim names a tenant. In pull mode, the topic says: a tenant's jobs are the records of
 * {@code <easel.topics.jobs>.tenant.<id>}, and Kafka ACLs decide who may write there, so a
 * producer without that ACL cannot speak for the tenant whatever it puts in a record; the plain
 * {@code easel.topics.jobs} topic is the {@value #DEFAULT} tenant's. Thread-safe, immutable.
 */
@Startup // a worker with security on and no tenant refuses to start, rather than fail its first job
@ApplicationScoped
public class Tenants {

    /** The tenant of everything when security is off, and of the plain jobs topic. */
    public static final String DEFAULT = "default";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,64}");
    static final String TOPIC_INFIX = ".tenant.";

    private final boolean enabled;
    private final Map<String, Tenant> byId;
    private final ApiKeys apiKeys;
    private final Optional<JwtVerifier> jwt;
    private final String jobsTopic;
    private final String defaultBucket;

    @Inject
    Tenants(SecurityConfig security, TenantsConfig tenants, S3Config s3, TopicsConfig topics) {
        this(security.enabled(), tenants(tenants, s3.bucket(), topics.jobs()), s3.bucket(), topics.jobs(),
                jwt(security.jwt()));
    }

    /** @param tenants with their API key entries ({@code name:sha256hex}) */
    public Tenants(boolean enabled, Map<Tenant, List<String>> tenants, String defaultBucket, String jobsTopic,
                   Optional<JwtVerifier> jwt) {
        this.enabled = enabled;
        this.defaultBucket = defaultBucket;
        this.jobsTopic = jobsTopic;
        this.jwt = jwt;
        Map<String, Tenant> ids = new TreeMap<>();
        Map<String, ApiKeys.Entry> keys = new HashMap<>();
        tenants.forEach((tenant, entries) -> {
            ids.put(tenant.id(), tenant);
            for (String entry : entries) {
                int colon = entry.indexOf(':');
                String hash = (colon < 0 ? entry : entry.substring(colon + 1)).strip().toLowerCase(java.util.Locale.ROOT);
                if (!hash.matches("[0-9a-f]{64}")) {
                    throw new IllegalArgumentException("easel.tenants." + tenant.id() + ".api-keys: entries are"
                            + " name:sha256hex (64 hex digits), got one that is not");
                }
                ApiKeys.Entry earlier = keys.put(hash, new ApiKeys.Entry(tenant,
                        colon < 0 ? "key" + keys.size() : entry.substring(0, colon)));
                // One key for two tenants (a hash pasted twice while rotating) would act as whichever
                // the map kept: refuse to start rather than guess.
                if (earlier != null && !earlier.tenant().id().equals(tenant.id())) {
                    throw new IllegalArgumentException("easel.tenants." + tenant.id() + ".api-keys: a key of tenant "
                            + earlier.tenant().id() + " too; each key belongs to one tenant");
                }
            }
        });
        if (enabled && ids.isEmpty()) {
            throw new IllegalArgumentException("easel.security.enabled is true but no tenant is configured"
                    + " (easel.tenants.<id>.api-keys …; docs/security.md)");
        }
        this.byId = Map.copyOf(ids);
        this.apiKeys = new ApiKeys(keys);
    }

    /** Whether credentials are checked. */
    public boolean enabled() {
        return enabled;
    }

    /** The tenant of that id, if configured (or the default one when security is off). */
    public Optional<Tenant> byId(String id) {
        Tenant tenant = byId.get(id);
        if (tenant == null && !enabled && DEFAULT.equals(id)) {
            return Optional.of(defaultTenant());
        }
        return Optional.ofNullable(tenant);
    }

    /** Whose jobs a topic holds; empty for a topic that is no configured tenant's. */
    public Optional<Tenant> ofTopic(String topic) {
        if (!enabled) {
            return Optional.of(defaultTenant());
        }
        if (topic.equals(jobsTopic)) {
            return byId(DEFAULT);
        }
        String prefix = jobsTopic + TOPIC_INFIX;
        return topic.startsWith(prefix) ? byId(topic.substring(prefix.length())) : Optional.empty();
    }

    /** The outcome of {@link #authenticate}. */
    public sealed interface Authentication {
        /** A known caller. */
        record Known(Caller caller) implements Authentication {
        }

        /** No credential, or one that proves nothing: 401. */
        record Unauthenticated(String reason) implements Authentication {
        }

        /** A valid credential that grants nothing here: 403. */
        record Forbidden(String reason) implements Authentication {
        }
    }

    /**
     * Who the request is from.
     *
     * @param authorization the {@code Authorization} header, if any
     * @param apiKey        the {@code X-API-Key} header, if any
     */
    public Authentication authenticate(Optional<String> authorization, Optional<String> apiKey) {
        if (!enabled) {
            return new Authentication.Known(new Caller(defaultTenant(), "anonymous", Caller.Credential.NONE));
        }
        if (apiKey.isPresent() && !apiKey.get().isBlank()) {
            return apiKeys.caller(apiKey.get()).<Authentication>map(Authentication.Known::new)
                    .orElseGet(() -> new Authentication.Unauthenticated("unknown API key"));
        }
        if (authorization.isPresent()) {
            String value = authorization.get().strip();
            if (value.regionMatches(true, 0, "ApiKey ", 0, 7)) {
                return authenticate(Optional.empty(), Optional.of(value.substring(7)));
            }
            if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return bearer(value.substring(7).strip());
            }
            return new Authentication.Unauthenticated("the Authorization scheme is not Bearer or ApiKey");
        }
        return new Authentication.Unauthenticated("no credential: send X-API-Key or Authorization: Bearer <token>");
    }

    private Authentication bearer(String token) {
        if (token.startsWith(ApiKeys.PREFIX)) {
            return authenticate(Optional.empty(), Optional.of(token));
        }
        if (jwt.isEmpty()) {
            return new Authentication.Unauthenticated("bearer tokens are not accepted here (no issuer configured)");
        }
        try {
            JwtVerifier.Verified verified = jwt.get().verify(token);
            if (verified.tenant().isEmpty()) {
                return new Authentication.Forbidden("the token names no tenant");
            }
            Optional<Tenant> tenant = byId(verified.tenant().get());
            return tenant.<Authentication>map(t -> new Authentication.Known(new Caller(t, "token:" + verified.subject(),
                            Caller.Credential.BEARER_TOKEN)))
                    .orElseGet(() -> new Authentication.Forbidden("the token's tenant is not one of this fleet's"));
        } catch (JwtVerifier.Refused e) {
            return new Authentication.Unauthenticated(e.getMessage());
        }
    }

    private Tenant defaultTenant() {
        StorageGrant own = new StorageGrant(defaultBucket, DEFAULT + "/");
        return byId.getOrDefault(DEFAULT, new Tenant(DEFAULT, List.of(own), List.of(own),
                new Tenant.FairUseLimits(Integer.MAX_VALUE, Integer.MAX_VALUE), jobsTopic));
    }

    static Map<Tenant, List<String>> tenants(TenantsConfig config, String defaultBucket, String jobsTopic) {
        Map<Tenant, List<String>> tenants = new HashMap<>();
        config.tenants().forEach((id, tenant) -> {
            if (!ID.matcher(id).matches()) {
                throw new IllegalArgumentException("easel.tenants." + id + ": tenant ids are 1-64 letters and digits");
            }
            // 0 would refuse every submission (with a Retry-After that never comes true), not mean "unlimited".
            atLeastOne("easel.tenants." + id + ".max-in-flight", tenant.maxInFlight());
            atLeastOne("easel.tenants." + id + ".submissions-per-minute", tenant.submissionsPerMinute());
            StorageGrant own = new StorageGrant(defaultBucket, id + "/");
            String topic = id.equals(DEFAULT) ? jobsTopic : jobsTopic + TOPIC_INFIX + id;
            tenants.put(new Tenant(id, grants(tenant.reads(), own), grants(tenant.writes(), own),
                    new Tenant.FairUseLimits(tenant.maxInFlight(), tenant.submissionsPerMinute()), topic),
                    tenant.apiKeys().orElse(List.of()));
        });
        return tenants;
    }

    private static void atLeastOne(String property, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(property + " must be at least 1, got " + value);
        }
    }

    private static List<StorageGrant> grants(Optional<List<String>> configured, StorageGrant own) {
        List<StorageGrant> grants = new ArrayList<>();
        grants.add(own);
        configured.ifPresent(list -> list.forEach(text -> grants.add(StorageGrant.parse(text))));
        return grants;
    }

    private static Optional<JwtVerifier> jwt(SecurityConfig.Jwt config) {
        if (config.issuer().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new JwtVerifier(config.publicKey().map(JwtVerifier::publicKey), config.jwksUrl(),
                config.issuer().get(), config.audience(), config.tenantClaim()));
    }
}
