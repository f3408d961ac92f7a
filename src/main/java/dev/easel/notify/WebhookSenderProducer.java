package dev.easel.notify;

import dev.easel.config.WebhookConfig;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Makes one {@link WebhookSender}, with its shared HTTP client, injectable in the application. */
@Singleton
public class WebhookSenderProducer {

    @Produces
    @Singleton
    WebhookSender webhookSender(WebhookConfig config) {
        return new WebhookSender(WebhookSettings.from(config));
    }
}
