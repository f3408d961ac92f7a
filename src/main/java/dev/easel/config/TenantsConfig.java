package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithParentName;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code easel.tenants.<id>.*}: the teams on this fleet (docs/security.md); environment variables
 * {@code EASEL_TENANTS_<ID>_*}, so ids are letters and digits. At least one when
 * {@code easel.security.enabled}.
 */
@ConfigMapping(prefix = "easel.tenants")
public interface TenantsConfig {

    @WithParentName
    Map<String, TenantConfig> tenants();

    interface TenantConfig {
        /** {@code api-keys}: {@code name:sha256hex} entries, from a Secret ({@code java -jar … apikey} mints one). */
        Optional<List<String>> apiKeys();

        /** {@code reads}: {@code bucket/prefix} grants for initImage and mask; default its own prefix of the default bucket. */
        Optional<List<String>> reads();

        /** {@code writes}: {@code bucket/prefix} grants for output; default its own prefix of the default bucket. */
        Optional<List<String>> writes();

        /** {@code max-in-flight}: its HTTP-submitted jobs not yet answered, at most. Default 16. */
        @WithDefault("16")
        int maxInFlight();

        /** {@code submissions-per-minute}: HTTP submissions per minute, at most. Default 120. */
        @WithDefault("120")
        int submissionsPerMinute();

        /**
         * {@code webhook-secret}: the {@code whsec_} secret its jobs' webhooks are signed with
         * (docs/webhooks.md), from a Secret. Without one they are signed with
         * {@code easel.webhooks.signing-secret}, which every tenant without its own shares: each of
         * those could then sign webhooks its receivers' peers would accept.
         */
        Optional<String> webhookSecret();
    }
}
