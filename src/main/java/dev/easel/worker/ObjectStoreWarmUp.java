package dev.easel.worker;

import dev.easel.store.ObjectStore;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import org.jboss.logging.Logger;

/**
 * Makes the object store's client (the AWS SDK's, about half a second of class loading and set-up
 * on a cold JVM) while the models load, instead of inside the first job (docs/benchmarks.md,
 * "Scale from zero"). On its own thread and allowed to fail: a store that is down at start-up
 * is the first job's to find, as before.
 */
@ApplicationScoped
class ObjectStoreWarmUp {

    private static final Logger LOG = Logger.getLogger(ObjectStoreWarmUp.class);

    void onStart(@Observes StartupEvent event, Instance<ObjectStore> store) {
        Thread thread = new Thread(() -> {
            try {
                store.get(); // makes the @Singleton client
            } catch (RuntimeException e) {
                LOG.warnf("object store not ready at start-up (the first job will try again): %s", e.getMessage());
            }
        }, "easel-store-warm-up");
        thread.setDaemon(true);
        thread.start();
    }
}
