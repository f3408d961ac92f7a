package dev.easel.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.EventKind;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobWebhook;
import dev.easel.notify.LoggedUrl;
import dev.easel.notify.WebhookEvent;
import dev.easel.notify.WebhookOutcome;
import dev.easel.notify.WebhookSender;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.jboss.logging.Logger;

/**
 * One job's webhook deliveries, in order, off the job's thread: a slow receiver neither holds the
 * model nor delays the job's commit. Each webhook carries its CloudEvent's id as
 * {@code webhook-id} and its time as {@code timestamp}, so a re-sent event is the same webhook.
 */
final class JobWebhooks {

    private static final Logger LOG = Logger.getLogger(JobWebhooks.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What every job's webhooks share.
     *
     * @param sender  delivers one webhook, with its retries
     * @param threads where deliveries run, beside the jobs
     * @param metrics counts their outcomes
     * @param pending the deliveries not yet over, which shutdown waits for
     */
    record Delivery(WebhookSender sender, Executor threads, WorkerMetrics metrics, PendingDeliveries pending) {
    }

    private final String jobId;
    private final Optional<JobWebhook> webhook;
    private final Delivery delivery;
    private CompletableFuture<Void> last = CompletableFuture.completedFuture(null);
    /**
     * The newest progress webhook not yet begun, when one is queued: a newer progress replaces it
     * instead of queueing behind it, and the job's answer drops it (the answer supersedes it). A
     * slow or dead receiver then holds one delivery in flight, not one per step, and the answer
     * waits behind at most that one.
     */
    private WebhookEvent waitingProgress; // guarded by this

    JobWebhooks(String jobId, Optional<JobWebhook> webhook, Delivery delivery) {
        this.jobId = jobId;
        this.webhook = webhook;
        this.delivery = delivery;
    }

    /** Queues the event's webhook, when the job asked for events of its kind. */
    synchronized void send(EventKind kind, JobEvent event) {
        if (webhook.isEmpty() || !webhook.get().events().contains(kind)) {
            return;
        }
        URI target = webhook.get().url();
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = JSON.convertValue(event.data(), Map.class);
        WebhookEvent message = new WebhookEvent(WebhookEvent.id(event.id()), kind, event.tenant(), jobId, event.time(),
                fields);
        if (kind == EventKind.PROGRESS) {
            boolean queued = waitingProgress != null;
            waitingProgress = message;
            if (queued) {
                return; // the queued progress delivery will carry this newer one
            }
            queue(target, kind, this::takeWaitingProgress);
        } else {
            waitingProgress = null;
            queue(target, kind, () -> message);
        }
    }

    private synchronized WebhookEvent takeWaitingProgress() {
        WebhookEvent newest = waitingProgress;
        waitingProgress = null;
        return newest;
    }

    /** Delivers, after every webhook queued before it, the event {@code message} gives when its turn comes. */
    private void queue(URI target, EventKind kind, java.util.function.Supplier<WebhookEvent> message) {
        delivery.pending().started();
        last = last.thenRunAsync(() -> {
            WebhookEvent event = message.get();
            if (event == null) {
                return; // a progress the job's answer superseded before its turn
            }
            WebhookOutcome outcome = delivery.sender().deliver(target, event);
            delivery.metrics().webhook(outcome);
            if (!outcome.delivered()) {
                LOG.warnf("job %s: webhook %s to %s not delivered: %s after %d attempt(s)%s", jobId,
                        kind.webhookType(), LoggedUrl.of(target), outcome.result(), outcome.attempts(),
                        outcome.lastError().map(e -> " (" + e + ")").orElse(""));
            }
        }, delivery.threads()).exceptionally(e -> {
            LOG.errorf(e, "job %s: webhook %s to %s failed", jobId, kind.webhookType(), LoggedUrl.of(target));
            return null;
        }).whenComplete((ignored, e) -> delivery.pending().finished());
    }
}
