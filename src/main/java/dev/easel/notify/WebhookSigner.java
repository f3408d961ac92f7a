package dev.easel.notify;

import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.EmptyWebhookSecretException;
import com.standardwebhooks.exceptions.WebhookSigningException;

/**
 * Signs with the Standard Webhooks library: {@code v1,} + base64 HMAC-SHA256 of
 * {@code id.timestamp.body} under the decoded {@code whsec_} secret.
 */
final class WebhookSigner {

    private final Webhook webhook;

    /** @param secret already checked by {@link WebhookSettings} */
    WebhookSigner(String secret) {
        try {
            webhook = new Webhook(secret);
        } catch (EmptyWebhookSecretException e) {
            throw new IllegalArgumentException("easel.webhooks.signing-secret: " + e.getMessage(), e);
        }
    }

    /** The {@code webhook-signature} value for a body sent with this id and Unix timestamp (seconds). */
    String sign(String id, long timestampSeconds, String body) {
        try {
            return webhook.sign(id, timestampSeconds, body);
        } catch (WebhookSigningException e) {
            // Only thrown when the JVM lacks HmacSHA256, which every Java SE runtime provides.
            throw new IllegalStateException("cannot sign webhook: " + e.getMessage(), e);
        }
    }
}
