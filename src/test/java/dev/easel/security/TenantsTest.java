package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.Test;

/** Who a request speaks for: API keys, bearer tokens, topics. */
class TenantsTest {

    private static final String ISSUER = "https://issuer.test";
    private final KeyPair keys = rsa();
    private final Tenant acme = new Tenant("acme", List.of(new StorageGrant("images", "acme/")),
            List.of(new StorageGrant("images", "acme/")), new Tenant.FairUseLimits(2, 60), "easel.jobs.tenant.acme");
    private final String key = ApiKeys.mint();
    private final Tenants tenants = new Tenants(true, Map.of(acme, List.of("ci:" + ApiKeys.hash(key))), "images",
            "easel.jobs", Optional.of(new JwtVerifier(Optional.of(keys.getPublic()), Optional.empty(), ISSUER,
            Optional.empty(), "tenant")));

    /** Which tenant a shared key acted as would depend on a map's order: refused at start-up, named. */
    @Test
    void oneKeyForTwoTenantsIsRefused() {
        Tenant globex = new Tenant("globex", List.of(new StorageGrant("images", "globex/")),
                List.of(new StorageGrant("images", "globex/")), new Tenant.FairUseLimits(2, 60), "easel.jobs.tenant.globex");
        Map<Tenant, List<String>> both = new java.util.LinkedHashMap<>();
        both.put(acme, List.of("ci:" + ApiKeys.hash(key)));
        both.put(globex, List.of("ops:" + ApiKeys.hash(key)));

        assertThatThrownBy(() -> new Tenants(true, both, "images", "easel.jobs", Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("easel.tenants.globex.api-keys: a key of tenant acme too; each key belongs to one tenant");
        assertThat(new Tenants(true, Map.of(acme, List.of("ci:" + ApiKeys.hash(key), "ci2:" + ApiKeys.hash(key))), "images",
                "easel.jobs", Optional.empty()).byId("acme")).contains(acme);
    }

    /** 0 would refuse every submission with a Retry-After that never comes true: refused at start-up, named. */
    @Test
    void aFairUseLimitBelowOneIsRefusedNamingTheSetting() {
        assertThatThrownBy(() -> Tenants.tenants(() -> Map.of("acme", limits(0, 120)), "images", "easel.jobs"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("easel.tenants.acme.max-in-flight must be at least 1, got 0");
        assertThatThrownBy(() -> Tenants.tenants(() -> Map.of("acme", limits(16, -1)), "images", "easel.jobs"))
                .hasMessage("easel.tenants.acme.submissions-per-minute must be at least 1, got -1");
        assertThat(Tenants.tenants(() -> Map.of("acme", limits(1, 1)), "images", "easel.jobs")).hasSize(1);
    }

    private static dev.easel.config.TenantsConfig.TenantConfig limits(int maxInFlight, int perMinute) {
        return new dev.easel.config.TenantsConfig.TenantConfig() {
            @Override
            public java.util.Optional<List<String>> apiKeys() {
                return java.util.Optional.empty();
            }

            @Override
            public java.util.Optional<List<String>> reads() {
                return java.util.Optional.empty();
            }

            @Override
            public java.util.Optional<List<String>> writes() {
                return java.util.Optional.empty();
            }

            @Override
            public int maxInFlight() {
                return maxInFlight;
            }

            @Override
            public int submissionsPerMinute() {
                return perMinute;
            }

            @Override
            public java.util.Optional<String> webhookSecret() {
                return java.util.Optional.empty();
            }
        };
    }

    @Test
    void anApiKeyIsItsTenantAndNeverStoredInTheClear() {
        assertThat(key).startsWith("easel_").hasSizeGreaterThan(40);
        assertThat(tenants.authenticate(Optional.empty(), Optional.of(key))).isInstanceOfSatisfying(
                Tenants.Authentication.Known.class, k -> {
                    assertThat(k.caller().tenant().id()).isEqualTo("acme");
                    assertThat(k.caller().subject()).isEqualTo("api-key:ci").doesNotContain(key);
                });
        assertThat(tenants.authenticate(Optional.of("Bearer " + key), Optional.empty()))
                .isInstanceOf(Tenants.Authentication.Known.class);
        assertThat(tenants.authenticate(Optional.empty(), Optional.of(ApiKeys.mint())))
                .isInstanceOf(Tenants.Authentication.Unauthenticated.class);
        assertThat(tenants.authenticate(Optional.empty(), Optional.empty()))
                .isInstanceOf(Tenants.Authentication.Unauthenticated.class);
    }

    @Test
    void aSignedTokenNamesItsTenant() throws Exception {
        assertThat(tenants.authenticate(Optional.of("Bearer " + token("acme", ISSUER, 5)), Optional.empty()))
                .isInstanceOfSatisfying(Tenants.Authentication.Known.class,
                        k -> assertThat(k.caller().tenant().id()).isEqualTo("acme"));
    }

    @Test
    void aValidTokenForNoTenantOfOursIsForbiddenAndABadOneUnauthenticated() throws Exception {
        assertThat(tenants.authenticate(Optional.of("Bearer " + token("beta", ISSUER, 5)), Optional.empty()))
                .isInstanceOf(Tenants.Authentication.Forbidden.class);
        assertThat(tenants.authenticate(Optional.of("Bearer " + token("acme", "https://evil.test", 5)), Optional.empty()))
                .isInstanceOf(Tenants.Authentication.Unauthenticated.class);
        assertThat(tenants.authenticate(Optional.of("Bearer " + token("acme", ISSUER, -5)), Optional.empty()))
                .isInstanceOfSatisfying(Tenants.Authentication.Unauthenticated.class,
                        u -> assertThat(u.reason()).contains("expired"));
        String forged = token("acme", ISSUER, 5);
        forged = forged.substring(0, forged.lastIndexOf('.') + 1) + "AAAA";
        assertThat(tenants.authenticate(Optional.of("Bearer " + forged), Optional.empty()))
                .isInstanceOf(Tenants.Authentication.Unauthenticated.class);
    }

    @Test
    void aTopicSpeaksForTheTenantWhoseTopicItIs() {
        assertThat(tenants.ofTopic("easel.jobs.tenant.acme")).contains(acme);
        assertThat(tenants.ofTopic("easel.jobs.tenant.beta")).isEmpty();
        assertThat(tenants.ofTopic("easel.jobs")).isEmpty(); // no default tenant configured
    }

    @Test
    void storageOutsideTheGrantsIsNamedByField() {
        assertThat(new StorageGrant("images", "acme/").covers("images", "acme/x.png")).isTrue();
        assertThat(new StorageGrant("images", "acme/").covers("images", "acme-evil/x.png")).isFalse();
        assertThat(StorageGrant.parse("images/acme")).isEqualTo(new StorageGrant("images", "acme/"));
    }

    private String token(String tenant, String issuer, int minutes) throws Exception {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(issuer);
        claims.setSubject("someone");
        claims.setExpirationTimeMinutesInTheFuture(minutes);
        claims.setClaim("tenant", tenant);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(keys.getPrivate());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        return jws.getCompactSerialization();
    }

    private static KeyPair rsa() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
