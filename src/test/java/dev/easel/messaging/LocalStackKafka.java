package dev.easel.messaging;

import dev.easel.devstack.LocalStack;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A LocalStack for one test class, its Kafka given to the Quarkus application under test. */
public final class LocalStackKafka implements QuarkusTestResourceLifecycleManager {

    static volatile String bootstrapServers;
    private LocalStack stack;

    @Override
    public Map<String, String> start() {
        try {
            // Under target/, not a temp dir: the broker's log stays for a look after a failure.
            stack = LocalStack.start(Files.createTempDirectory(Path.of("target"), "devstack-it-events-"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        bootstrapServers = stack.kafkaBootstrapServers();
        return Map.of("kafka.bootstrap.servers", bootstrapServers);
    }

    @Override
    public void stop() {
        if (stack != null) {
            stack.close();
        }
    }
}
