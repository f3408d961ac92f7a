package dev.easel.security;

import java.net.URI;
import java.security.PublicKey;
import java.util.Optional;
import org.jose4j.jwk.HttpsJwks;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.keys.resolvers.HttpsJwksVerificationKeyResolver;

/**
 * Verifies OIDC/JWT bearer tokens (jose4j): signature by the issuer's key (a PEM public key, or the
 * issuer's JWKS, fetched and cached), {@code iss}, {@code exp} (with 30 s of clock skew), {@code aud}
 * when configured, and reads the tenant claim. Thread-safe.
 */
public final class JwtVerifier {

    /** The token's subject and tenant claim, once verified. */
    public record Verified(String subject, Optional<String> tenant) {
    }

    /** Why a token was refused; the message names no secret. */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final JwtConsumer consumer;
    private final String tenantClaim;

    /**
     * @param key      the issuer's public key (RSA or EC), or empty to use {@code jwksUrl}
     * @param jwksUrl  the issuer's JWKS endpoint
     * @param issuer   the expected {@code iss}
     * @param audience the expected {@code aud}, if any
     */
    public JwtVerifier(Optional<PublicKey> key, Optional<URI> jwksUrl, String issuer, Optional<String> audience,
                       String tenantClaim) {
        JwtConsumerBuilder builder = new JwtConsumerBuilder()
                .setRequireExpirationTime()
                .setAllowedClockSkewInSeconds(30)
                .setRequireSubject()
                .setExpectedIssuer(issuer);
        if (key.isPresent()) {
            builder.setVerificationKey(key.get());
        } else if (jwksUrl.isPresent()) {
            builder.setVerificationKeyResolver(new HttpsJwksVerificationKeyResolver(new HttpsJwks(jwksUrl.get().toString())));
        } else {
            throw new IllegalArgumentException("easel.security.jwt: set public-key or jwks-url");
        }
        audience.ifPresentOrElse(builder::setExpectedAudience, builder::setSkipDefaultAudienceValidation);
        this.consumer = builder.build();
        this.tenantClaim = tenantClaim;
    }

    /** @throws Refused when the token is malformed, forged, expired, or from another issuer or audience */
    public Verified verify(String token) throws Refused {
        try {
            JwtClaims claims = consumer.processToClaims(token);
            Object tenant = claims.getClaimValue(tenantClaim);
            return new Verified(claims.getSubject(), tenant instanceof String s ? Optional.of(s) : Optional.empty());
        } catch (InvalidJwtException e) {
            throw new Refused(e.hasExpired() ? "the token has expired" : "the token is not valid here");
        } catch (MalformedClaimException e) {
            throw new Refused("the token's claims are malformed");
        }
    }

    /** Reads a PEM ({@code -----BEGIN PUBLIC KEY-----}) RSA or EC public key. */
    public static PublicKey publicKey(String pem) {
        String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = java.util.Base64.getDecoder().decode(base64);
        for (String algorithm : new String[] {"RSA", "EC"}) {
            try {
                return java.security.KeyFactory.getInstance(algorithm).generatePublic(new java.security.spec.X509EncodedKeySpec(der));
            } catch (java.security.GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("easel.security.jwt.public-key: not an RSA or EC public key in PEM form");
    }
}
