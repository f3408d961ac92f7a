package dev.easel.worker;

import dev.easel.config.TopicsConfig;
import dev.easel.messaging.KafkaSenders;
import dev.easel.store.ObjectStore;
import io.quarkus.arc.Arc;
import io.quarkus.arc.ClientProxy;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Does at start-up, while the models load, what a cold worker's first job would otherwise pay for
 * (docs/benchmarks.md, "Scale from zero"): makes the object store's client (the AWS SDK's, about
 * half a second of class loading on a cold JVM), the job path's beans (the consumer, {@link Jobs}
 * and everything they hold, made on the first record otherwise), and the answers producer's
 * metadata for the events and dead-letter topics (its first send would wait for it). On its own
 * thread and allowed to fail: a store or broker that is down at start-up is the first job's to
 * find, as before.
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
            LOG.warnf("%s not ready at start-up (the first job will try again): %s", what, e.getMessage());
        }
    }
}
