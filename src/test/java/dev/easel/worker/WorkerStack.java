package dev.easel.worker;

import dev.easel.devstack.LocalStack;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Kafka and S3 (LocalStack), an oracle bundle named {@value #MODEL} and a random SD-shaped one named
 * {@value #SLOW_MODEL}, for the worker under test. A subclass may start the stack with other
 * {@link LocalStack.Options} and add configuration ({@code ScramWorkerIT}).
 */
public class WorkerStack implements QuarkusTestResourceLifecycleManager {

    public static final String MODEL = "oracle";
    /** Real convolutions and attention: tens of milliseconds a step at 256×256, for jobs that must take a while. */
    public static final String SLOW_MODEL = "random";
    public static final String BUCKET = "easel-it-images";
    /** The webhook signing secret the worker under test signs with. */
    public static final String SIGNING_SECRET = WorkerIT.SIGNING_SECRET;

    private LocalStack stack;

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>();
        try {
            // Under target/, not /tmp: the broker's and S3Proxy's logs stay for a look after a failure.
            Path dir = Files.createTempDirectory(Path.of("target"), "devstack-it-worker-");
            stack = LocalStack.start(dir.resolve("stack"), stackOptions());
            // The oracle bundle: tiny ONNX models, so a 64×64 job takes milliseconds.
            Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("bundle"));
            config.put("easel.models." + MODEL + ".path", bundle.toString());
            Path slow = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
            config.put("easel.models." + SLOW_MODEL + ".path", slow.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        config.put("kafka.bootstrap.servers", stack.kafkaBootstrapServers());
        config.put("easel.s3.endpoint", stack.s3Endpoint().toString());
        config.put("easel.s3.access-key", stack.s3AccessKey());
        config.put("easel.s3.secret-key", stack.s3SecretKey());
        config.put("easel.s3.region", stack.s3Region());
        config.put("easel.s3.bucket", BUCKET);
        config.put("easel.s3.create-bucket", "true");
        config.put("easel.onnx.intra-op-threads", "1");
        config.put("easel.webhooks.allowed-cidrs", "127.0.0.1/32");
        config.put("easel.webhooks.signing-secret", WorkerIT.SIGNING_SECRET);
        configure(stack, config);
        return config;
    }

    /** How to start the local stack: {@link LocalStack.Options#defaults()} here. */
    protected LocalStack.Options stackOptions() {
        return LocalStack.Options.defaults();
    }

    /** Called once the stack runs, before the worker starts: adds to or changes the worker's configuration. */
    protected void configure(LocalStack stack, Map<String, String> config) {
    }

    @Override
    public void stop() {
        if (stack != null) {
            stack.close();
        }
    }
}
