package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.util.Optional;

/**
 * {@code easel.security.*}: who may call the API (docs/security.md); environment variables
 * {@code EASEL_SECURITY_*}. The tenants are {@link TenantsConfig}.
 */
@ConfigMapping(prefix = "easel.security")
public interface SecurityConfig {

    /**
     * {@code easel.security.enabled}: every endpoint that takes or returns a job needs a
     * credential. Default true; off, every caller and every record is the {@code default}
     * tenant (for a single-team deployment behind its own gate).
     */
    @WithDefault("true")
    boolean enabled();

    /** {@code easel.security.metrics-need-credential}: whether {@code /q/metrics} needs one too. Default false. */
    @WithDefault("false")
    boolean metricsNeedCredential();

    /**
     * {@code easel.security.push-needs-credential}: whether push mode ({@code POST /}) needs a
     * credential. A Knative KafkaSource cannot send one: set false there and keep the endpoint
     * cluster-internal (NetworkPolicy); the job's tenant then comes from its topic. Default true.
     */
    @WithDefault("true")
    boolean pushNeedsCredential();

    /** {@code easel.security.jwt.*}: bearer tokens; off unless an issuer is set. */
    Jwt jwt();

    interface Jwt {
        /** {@code easel.security.jwt.issuer}: the expected {@code iss}; bearer tokens are refused without it. */
        Optional<String> issuer();

        /** {@code easel.security.jwt.public-key}: the issuer's PEM public key (RSA or EC). */
        Optional<String> publicKey();

        /** {@code easel.security.jwt.jwks-url}: or the issuer's JWKS endpoint. */
        Optional<URI> jwksUrl();

        /** {@code easel.security.jwt.audience}: the expected {@code aud}, if any. */
        Optional<String> audience();

        /** {@code easel.security.jwt.tenant-claim}: the claim naming the caller's tenant. Default {@code tenant}. */
        @WithDefault("tenant")
        String tenantClaim();
    }
}
