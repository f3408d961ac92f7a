package dev.easel.notify;

import dev.easel.config.SecurityConfig;
import dev.easel.config.TenantsConfig;
import dev.easel.config.WebhookConfig;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/** Makes one {@link WebhookSender}, with its shared HTTP client, injectable in the application. */
@Singleton
public class WebhookSenderProducer {

    private static final Logger LOG = Logger.getLogger(WebhookSenderProducer.class);

    @Produces
    @Singleton
    WebhookSender webhookSender(WebhookConfig config, TenantsConfig tenants, SecurityConfig security) {
        Map<String, String> secrets = new TreeMap<>();
        tenants.tenants().forEach((id, tenant) -> tenant.webhookSecret().ifPresent(secret -> secrets.put(id, secret)));
        List<String> sharing = tenants.tenants().keySet().stream().filter(id -> !secrets.containsKey(id)).sorted().toList();
        if (security.enabled() && sharing.size() > 1) {
            LOG.warnf("tenants %s sign their webhooks with the one easel.webhooks.signing-secret: a receiver of each"
                    + " holds the key to the others' webhooks; give each its own easel.tenants.<id>.webhook-secret"
                    + " (docs/webhooks.md)", sharing);
        }
        return new WebhookSender(WebhookSettings.from(config), secrets);
    }
}
