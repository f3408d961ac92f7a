package dev.easel.store;

import dev.easel.config.S3Config;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import org.jboss.logging.Logger;

/**
 * Makes the application's one {@link S3ObjectStore} from {@code easel.s3.*}, injectable as
 * {@link ObjectStore}, {@link dev.easel.contract.ObjectFetcher} or itself, and closes its client
 * (connections, the presigner) at shutdown.
 */
@ApplicationScoped
public class S3ObjectStoreProducer {

    private static final Logger LOG = Logger.getLogger(S3ObjectStoreProducer.class);

    // @Singleton, not @ApplicationScoped: the store is thread-safe and final, so it needs no
    // client proxy, and callers get the real object.
    @Produces
    @Singleton
    S3ObjectStore objectStore(S3Config config) {
        S3ObjectStore store = S3ObjectStore.create(config);
        if (config.createBucket()) {
            try {
                store.createBucketIfMissing(config.bucket());
            } catch (IOException e) {
                // Failing here would fail every bean on the job path, for good: the consumer's
                // channel stops at its first job. Owed instead, and made by the first call that
                // needs it, inside that job's retries.
                LOG.warnf("easel.s3.create-bucket: bucket %s not made at start-up (%s); it will be before its first"
                        + " use", config.bucket(), e.getMessage());
                store.createBucketOnFirstUse(config.bucket());
            }
        }
        LOG.infof("object store: %s, region %s, default bucket %s",
                config.endpoint().map(Object::toString).orElse("AWS"), config.region(), config.bucket());
        return store;
    }

    void close(@Disposes S3ObjectStore store) {
        store.close();
    }
}
