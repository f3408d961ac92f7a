package dev.easel.worker;

import dev.easel.config.TopicsConfig;
import dev.easel.messaging.KafkaSenders;
import dev.easel.store.ObjectStore;
import io.quarkus.arc.Arc;
import io.quarkus.arc.ClientProxy;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Does at start-up, while the models load, what a cold worker's first job would otherwise pay for
 * (docs/benchmarks.md, "Scale from zero"): makes the object store's client (the AWS SDK's, about
 * half a second of class loading on a cold JVM), the job path's beans (the consumer, {@link Jobs}
 * and everything they hold, made on the first record otherwise), and the answers producer's
 * metadata for the events and dead-letter topics (its first send would wait for it). On its own
 * thread and allowed to fail: a store or broker that is down at start-up is the first job's to
 * find, as before. A bad setting is not: the worker stops, naming it.
 */
@ApplicationScoped
class JobPathWarmUp {

    private static final Logger LOG = Logger.getLogger(JobPathWarmUp.class);

    /** Application-scoped beans on a job's path: made on their first call otherwise (client proxies). */
    private static final List<Class<?>> JOB_PATH = List.of(JobConsumer.class, Jobs.class, JobIntake.class);

    void onStart(@Observes StartupEvent event, Instance<ObjectStore> store, Instance<KafkaSenders> senders,
                 TopicsConfig topics) {
        Thread thread = new Thread(() -> {
            step("object store", () -> store.get()); // makes the @Singleton client
            step("job path", () -> JOB_PATH.forEach(type -> ClientProxy.unwrap(Arc.container().select(type).get())));
            step("answers producer", () -> senders.get().prefetchAnswers(List.of(topics.events(), topics.deadLetters())));
        }, "easel-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    private static void step(String what, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            Optional<String> bad = configurationError(e);
            if (bad.isPresent()) {
                // Every job would fail on it: the worker stops now, naming the setting, rather than
                // turning ready and failing its first job (Kubernetes shows the message in the crash).
                LOG.errorf("%s cannot be made: %s; stopping", what, bad.get());
                Quarkus.asyncExit(1);
                return;
            }
            LOG.warnf("%s not ready at start-up (the first job will try again): %s", what, e.getMessage());
        }
    }

    /**
     * A setting's check failing somewhere in a bean's creation: an IllegalArgumentException whose
     * message names an {@code easel.*} property, as every check of Easel's settings does. A store or
     * broker that is down is not one: the first job meets it and retries.
     */
    static Optional<String> configurationError(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof IllegalArgumentException && t.getMessage() != null && t.getMessage().startsWith("easel.")) {
                return Optional.of(t.getMessage());
            }
        }
        return Optional.empty();
    }
}
