package dev.easel.store;

import dev.easel.config.S3Config;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
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
                store.close();
                throw new UncheckedIOException("easel.s3.create-bucket: cannot create bucket " + config.bucket(), e);
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
