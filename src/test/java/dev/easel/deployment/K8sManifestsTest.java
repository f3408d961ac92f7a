package dev.easel.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.api.PushResource;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Kubernetes manifests in k8s/: every file parses as Kubernetes objects (fabric8's model;
 * Knative, KEDA and KafkaSource resources as generic resources), every overlay renders
 * ({@link Kustomize}), and in what it renders the pieces fit each other and the application:
 * environment variables name real config keys, ports and probes are the worker's, the KafkaSource
 * reads the jobs topic into the Service's push endpoint, KEDA watches the workers' consumer group,
 * GPU overlays ask for a GPU, and pods outlive a job's graceful shutdown.
 */
class K8sManifestsTest {

    static final Path K8S = Path.of("k8s");
    static final Path SECRETS_EXAMPLE = K8S.resolve("secrets.example.yaml");
    static final Path RUNBOOK = Path.of("deployment/README.md");
    static final String APP_CONTAINER = "easel";

    /** quarkus.http.port's default; application.properties leaves it (checked below). */
    static final int HTTP_PORT = 8080;
    /**
     * Quarkus' standard health and metrics paths (SmallRye Health, Micrometer Prometheus), which the
     * observability work exposes; readiness waits for the models. A constant list rather than a
     * lookup in the application, which does not serve them yet on this branch.
     */
    static final String READINESS_PATH = "/q/health/ready";
    static final String LIVENESS_PATH = "/q/health/live";
    static final String METRICS_PATH = "/q/metrics";

    static final List<String> OVERLAYS = List.of("knative", "keda", "cpu");
    /** Variables the java launcher itself reads (JVM options), not the application's configuration. */
    static final Set<String> JAVA_LAUNCHER_VARIABLES = Set.of("JDK_JAVA_OPTIONS");
    static final List<String> GPU_OVERLAYS = List.of("knative", "keda");

    static ConfigKeys keys;
    static Properties application;
    static Map<String, Map<String, String>> exampleSecrets;

    @BeforeAll
    static void load() throws IOException {
        keys = ConfigKeys.load();
        application = new Properties();
        try (InputStream in = K8sManifestsTest.class.getResourceAsStream("/application.properties")) {
            application.load(in);
        }
        exampleSecrets = new HashMap<>();
        for (ObjectNode doc : Kustomize.read(SECRETS_EXAMPLE)) {
            Secret secret = Kustomize.YAML.convertValue(doc, Secret.class);
            exampleSecrets.put(secret.getMetadata().getName(), secret.getStringData());
        }
    }

    @Test
    void everyManifestParsesAsKubernetesObjects() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(K8S)) {
            files = walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path file : files) {
            for (ObjectNode doc : Kustomize.read(file)) {
                String kind = doc.path("kind").asText();
                assertThat(kind).as("%s: kind", file).isNotBlank();
                assertThat(doc.path("apiVersion").asText()).as("%s: apiVersion", file).isNotBlank();
                HasMetadata object = typed(doc);
                if (!kind.equals("Kustomization")) {
                    assertThat(object.getMetadata().getName()).as("%s: %s name", file, kind).isNotBlank();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "knative", "keda", "cpu"})
    void everyKustomizationRendersWithoutDuplicates(String dir) throws IOException {
        List<ObjectNode> objects = Kustomize.build(K8S.resolve(dir));
        assertThat(objects).isNotEmpty();
        assertThat(objects.stream().map(o -> o.path("kind").asText() + "/" + o.path("metadata").path("name").asText()))
                .doesNotHaveDuplicates();
        objects.forEach(K8sManifestsTest::typed);
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda", "cpu"})
    void everyEnvironmentVariableOfTheWorkerIsAConfigKey(String overlay) throws IOException {
        Rendered r = render(overlay);
        Container app = r.app();
        List<String> unknown = new ArrayList<>();
        for (String name : r.appEnvironment().keySet()) {
            if (keys.keyFor(name).isEmpty() && !JAVA_LAUNCHER_VARIABLES.contains(name)) {
                unknown.add(name);
            }
        }
        assertThat(unknown).as("%s: variables of the %s container that map to no config key (known: %s)",
                overlay, APP_CONTAINER, keys.keys()).isEmpty();
        for (EnvFromSource from : app.getEnvFrom()) {
            if (from.getConfigMapRef() != null) {
                assertThat(r.configMaps()).as("%s: envFrom ConfigMap", overlay).containsKey(from.getConfigMapRef().getName());
            }
            if (from.getSecretRef() != null) {
                assertThat(exampleSecrets).as("%s: envFrom Secret (k8s/secrets.example.yaml)", overlay)
                        .containsKey(from.getSecretRef().getName());
            }
        }
    }

    @Test
    void cpuWorkersRunTheJitsFirstTierOnlyAndGpuWorkersBoth() throws IOException {
        // docs/benchmarks.md, "Scale from zero": C1 alone starts a CPU worker 0.8 s sooner, its cold
        // jobs faster, for ~3 ms per job; GPU workers, whose jobs are short, keep C2.
        assertThat(render("cpu").appEnvironment()).containsEntry("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1");
        for (String overlay : GPU_OVERLAYS) {
            assertThat(render(overlay).appEnvironment()).doesNotContainKey("JDK_JAVA_OPTIONS");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda", "cpu"})
    void everyConfigMapAndSecretKeyReferencedExists(String overlay) throws IOException {
        Rendered r = render(overlay);
        for (Container c : r.containers()) {
            for (EnvVar env : c.getEnv()) {
                if (env.getValueFrom() == null) {
                    continue;
                }
                var cm = env.getValueFrom().getConfigMapKeyRef();
                if (cm != null) {
                    assertThat(r.configMaps().get(cm.getName())).as("%s: ConfigMap %s", overlay, cm.getName())
                            .containsKey(cm.getKey());
                }
                var secret = env.getValueFrom().getSecretKeyRef();
                if (secret != null) {
                    assertThat(exampleSecrets.get(secret.getName())).as("%s: Secret %s", overlay, secret.getName())
                            .containsKey(secret.getKey());
                }
            }
            for (EnvFromSource from : c.getEnvFrom()) {
                if (from.getSecretRef() != null) {
                    assertThat(exampleSecrets).containsKey(from.getSecretRef().getName());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda", "cpu"})
    void portsProbesAndMetricsAreTheWorkers(String overlay) throws IOException {
        assertThat(application.getProperty("quarkus.http.port", String.valueOf(HTTP_PORT))).isEqualTo(String.valueOf(HTTP_PORT));
        assertThat(application.getProperty("quarkus.jib.ports")).isEqualTo(String.valueOf(HTTP_PORT));
        Rendered r = render(overlay);
        Container app = r.app();
        assertThat(app.getPorts()).hasSize(1);
        assertThat(app.getPorts().get(0).getContainerPort()).isEqualTo(HTTP_PORT);
        assertProbe(overlay, app, app.getReadinessProbe(), READINESS_PATH);
        assertProbe(overlay, app, app.getLivenessProbe(), LIVENESS_PATH);
        assertThat(r.podAnnotations())
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/path", METRICS_PATH)
                .containsEntry("prometheus.io/port", String.valueOf(HTTP_PORT));
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda", "cpu"})
    void theWorkerRunsAsTheImagesNonRootUserFromAnImageTheOverlayNames(String overlay) throws IOException {
        Rendered r = render(overlay);
        Container app = r.app();
        Long user = app.getSecurityContext() != null && app.getSecurityContext().getRunAsUser() != null
                ? app.getSecurityContext().getRunAsUser()
                : r.pod().getSecurityContext().getRunAsUser();
        assertThat(user).isEqualTo(Long.valueOf(application.getProperty("quarkus.jib.user")));
        assertThat(app.getImage()).as("the images transformer replaced the placeholder").contains("/").contains(":");
        for (Container c : r.containers()) {
            assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).as(c.getName()).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda", "cpu"})
    void everyModelPathIsOnTheVolumeTheInitContainerSyncs(String overlay) throws IOException {
        Rendered r = render(overlay);
        Map<String, String> models = new LinkedHashMap<>();
        r.appEnvironment().forEach((name, value) -> {
            if (name.startsWith("EASEL_MODELS_")) {
                models.put(name, value);
            }
        });
        assertThat(models).isNotEmpty();
        Container sync = r.pod().getInitContainers().stream().filter(c -> c.getName().equals("model-sync")).findFirst().orElseThrow();
        String syncScript = String.join(" ", sync.getArgs());
        for (String path : models.values()) {
            VolumeMount mount = mountFor(r.app(), path);
            assertThat(mount).as("%s: %s is on a volume of the worker", overlay, path).isNotNull();
            assertThat(mount.getReadOnly()).isTrue();
            assertThat(mountFor(sync, path)).as("the init container writes %s", path).isNotNull();
            assertThat(mountFor(sync, path).getName()).isEqualTo(mount.getName());
            assertThat(syncScript).as("the init container syncs into %s", path).contains(path);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative", "keda"})
    void gpuOverlaysAskForAGpuNodeAndRunOnCuda(String overlay) throws IOException {
        Rendered r = render(overlay);
        Map<String, Quantity> limits = r.app().getResources().getLimits();
        assertThat(limits).containsKey("nvidia.com/gpu");
        assertThat(Integer.parseInt(limits.get("nvidia.com/gpu").getAmount())).isGreaterThanOrEqualTo(1);
        assertThat(r.pod().getNodeSelector()).isNotEmpty();
        assertThat(r.pod().getTolerations()).extracting(Toleration::getKey).contains("nvidia.com/gpu");
        assertThat(r.appEnvironment()).containsEntry("EASEL_ONNX_PROVIDER", "cuda");
        assertThat(r.app().getImage()).endsWith("-cuda");
    }

    @Test
    void theCpuOverlayAsksForNoGpu() throws IOException {
        Rendered r = render("cpu");
        assertThat(r.app().getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
        assertThat(r.pod().getNodeSelector()).isNullOrEmpty();
        assertThat(r.pod().getTolerations()).isNullOrEmpty();
        assertThat(r.appEnvironment()).containsEntry("EASEL_ONNX_PROVIDER", "cpu");
        assertThat(r.app().getImage()).doesNotEndWith("-cuda");
    }

    /** Followed as written, the runbook starts a worker (security on needs a tenant) whose example job runs. */
    @Test
    void theRunbooksSecretHasATenantAndItsExampleJobIsValid() throws IOException {
        String runbook = Files.readString(RUNBOOK);
        assertThat(runbook).containsPattern("--from-literal=EASEL_TENANTS_[A-Z0-9]+_API_KEYS=");
        Matcher job = Pattern.compile("echo '(\\{.*?\\})' \\|").matcher(runbook);
        assertThat(job.find()).as("the runbook's example job").isTrue();
        assertThat(new dev.easel.contract.JobParser(dev.easel.contract.JobLimits.defaults())
                .parse(job.group(1).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .as(job.group(1)).isInstanceOf(dev.easel.contract.Validated.Valid.class);
    }

    @Test
    void knativeServiceTakesOneJobPerWorkerThreadScalesToZeroAndDoesNotAlsoConsume() throws IOException {
        Rendered r = render("knative");
        JsonNode template = r.knativeService().path("spec").path("template");
        assertThat(template.path("spec").path("containerConcurrency").asInt())
                .isEqualTo(Integer.parseInt(r.appEnvironment().get("EASEL_WORKER_CONCURRENCY")));
        assertThat(template.path("metadata").path("annotations").path("autoscaling.knative.dev/min-scale").asText()).isEqualTo("0");
        assertThat(r.appEnvironment()).containsEntry("MP_MESSAGING_INCOMING_JOBS_ENABLED", "false");
        // A KafkaSource sends no credential: with the default (true) every delivery would be a 401.
        assertThat(r.appEnvironment()).containsEntry("EASEL_SECURITY_PUSH_NEEDS_CREDENTIAL", "false");
        JsonNode policy = r.one("NetworkPolicy").path("spec");
        assertThat(policy.path("podSelector").path("matchLabels").path("serving.knative.dev/service").asText())
                .as("the policy guards the Service's pods").isEqualTo(r.knativeService().path("metadata").path("name").asText());
        assertThat(policy.path("ingress").get(0).path("from").get(0).path("namespaceSelector").path("matchExpressions")
                .get(0).path("values").toString()).contains("knative-serving", "knative-eventing");
        assertThat(template.path("spec").path("timeoutSeconds").asLong())
                .as("the request timeout (and pod termination grace) outlasts a graceful shutdown")
                .isGreaterThan(shutdownTimeout(r).toSeconds());
    }

    @Test
    void kafkaSourceFeedsTheJobsTopicToTheServicesPushEndpoint() throws IOException {
        Rendered r = render("knative");
        JsonNode source = r.one("KafkaSource").path("spec");
        Map<String, String> env = r.appEnvironment();
        // One topic per KafkaSource, named in the extension the worker takes the tenant from.
        assertThat(texts(source.path("topics"))).containsExactly(env.get("EASEL_TOPICS_JOBS"));
        assertThat(source.path("ceOverrides").path("extensions").path(PushResource.TOPIC_EXTENSION).asText())
                .isEqualTo(env.get("EASEL_TOPICS_JOBS"));
        assertThat(String.join(",", texts(source.path("bootstrapServers")))).isEqualTo(env.get("KAFKA_BOOTSTRAP_SERVERS"));
        JsonNode sink = source.path("sink");
        assertThat(sink.path("ref").path("apiVersion").asText()).isEqualTo("serving.knative.dev/v1");
        assertThat(sink.path("ref").path("kind").asText()).isEqualTo("Service");
        assertThat(sink.path("ref").path("name").asText()).isEqualTo(r.knativeService().path("metadata").path("name").asText());
        assertThat(sink.path("uri").asText("/")).isEqualTo(PushResource.class.getAnnotation(jakarta.ws.rs.Path.class).value());
        assertThat(source.path("consumerGroup").asText())
                .as("not the pull-mode workers' group").isNotEqualTo(application.getProperty("mp.messaging.incoming.jobs.group.id"));
        assertThat(r.one("KafkaSource").path("metadata").path("annotations").path("autoscaling.knative.dev/class").asText())
                .isEqualTo("keda.autoscaling.knative.dev");
    }

    /** What the KafkaSource gives up (a 400, a 503 past its retries) lands on the worker's dead-letter topic. */
    @Test
    void kafkaSourceDeadLettersWhatItGivesUpToTheDeadLetterTopic() throws IOException {
        Rendered r = render("knative");
        JsonNode deadLetters = r.one("KafkaSource").path("spec").path("delivery").path("deadLetterSink").path("ref");
        JsonNode sink = r.one("KafkaSink");
        Map<String, String> env = r.appEnvironment();
        assertThat(deadLetters.path("kind").asText()).isEqualTo("KafkaSink");
        assertThat(deadLetters.path("apiVersion").asText()).isEqualTo(sink.path("apiVersion").asText());
        assertThat(deadLetters.path("name").asText()).isEqualTo(sink.path("metadata").path("name").asText());
        assertThat(sink.path("spec").path("topic").asText()).isEqualTo(env.get("EASEL_TOPICS_DEAD_LETTERS"));
        assertThat(String.join(",", texts(sink.path("spec").path("bootstrapServers"))))
                .isEqualTo(env.get("KAFKA_BOOTSTRAP_SERVERS"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"keda", "cpu"})
    void scaledObjectWatchesTheWorkersConsumerGroupOnTheJobsTopic(String overlay) throws IOException {
        Rendered r = render(overlay);
        JsonNode spec = r.one("ScaledObject").path("spec");
        Deployment deployment = r.deployment();
        assertThat(spec.path("scaleTargetRef").path("kind").asText()).isEqualTo("Deployment");
        assertThat(spec.path("scaleTargetRef").path("name").asText()).isEqualTo(deployment.getMetadata().getName());
        assertThat(spec.path("minReplicaCount").asInt()).isZero();
        assertThat(spec.path("maxReplicaCount").asInt()).as("at most one pod per partition of the jobs topic")
                .isBetween(1, jobsTopicPartitions());
        // The jobs topic's trigger; one per tenant topic an operator adds beside it (k8s/README.md).
        Map<String, String> env = r.appEnvironment();
        String tenantTopic = java.util.regex.Pattern.quote(env.get("EASEL_TOPICS_JOBS")) + "[.]tenant[.][A-Za-z0-9]+";
        JsonNode kafka = null;
        for (JsonNode trigger : spec.path("triggers")) {
            if (!trigger.path("type").asText().equals("kafka")) {
                continue;
            }
            String topic = trigger.path("metadata").path("topic").asText();
            if (topic.equals(env.get("EASEL_TOPICS_JOBS"))) {
                kafka = trigger.path("metadata");
            } else {
                assertThat(topic).as("a kafka trigger on another topic than a tenant's jobs topic").matches(tenantTopic);
                assertThat(trigger.path("metadata").path("consumerGroup").asText())
                        .isEqualTo(application.getProperty("mp.messaging.incoming.jobs.group.id"));
            }
        }
        assertThat(kafka).as("a kafka trigger on " + env.get("EASEL_TOPICS_JOBS")).isNotNull();
        assertThat(kafka.path("bootstrapServers").asText()).isEqualTo(env.get("KAFKA_BOOTSTRAP_SERVERS"));
        assertThat(kafka.path("consumerGroup").asText()).isEqualTo(application.getProperty("mp.messaging.incoming.jobs.group.id"));
        assertThat(Integer.parseInt(kafka.path("lagThreshold").asText())).isPositive();
        assertThat(kafka.has("activationLagThreshold")).as("scale from zero on the first waiting job").isTrue();
        assertThat(deployment.getSpec().getReplicas()).as("KEDA owns the replica count").isNull();
        assertThat(env).doesNotContainKey("MP_MESSAGING_INCOMING_JOBS_ENABLED");
        assertThat(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds())
                .as("pods outlive a graceful shutdown").isGreaterThan(shutdownTimeout(r).toSeconds());
    }

    // ---------------------------------------------------------------------------------------------

    /** One overlay, rendered, with its worker pod found in the Deployment or the Knative Service. */
    record Rendered(List<ObjectNode> objects) {

        ObjectNode one(String kind) {
            List<ObjectNode> found = objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
            assertThat(found).as("one %s", kind).hasSize(1);
            return found.get(0);
        }

        boolean has(String kind) {
            return objects.stream().anyMatch(o -> o.path("kind").asText().equals(kind));
        }

        ObjectNode knativeService() {
            return objects.stream().filter(o -> o.path("kind").asText().equals("Service")
                    && o.path("apiVersion").asText().startsWith("serving.knative.dev/")).findFirst().orElseThrow();
        }

        Deployment deployment() {
            return Kustomize.YAML.convertValue(one("Deployment"), Deployment.class);
        }

        PodSpec pod() {
            if (has("Deployment")) {
                return deployment().getSpec().getTemplate().getSpec();
            }
            return Kustomize.YAML.convertValue(knativeService().path("spec").path("template").path("spec"), PodSpec.class);
        }

        Map<String, String> podAnnotations() {
            if (has("Deployment")) {
                return deployment().getSpec().getTemplate().getMetadata().getAnnotations();
            }
            Map<String, String> out = new HashMap<>();
            knativeService().path("spec").path("template").path("metadata").path("annotations")
                    .fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
            return out;
        }

        List<Container> containers() {
            List<Container> all = new ArrayList<>(pod().getContainers());
            all.addAll(pod().getInitContainers());
            return all;
        }

        Container app() {
            return pod().getContainers().stream().filter(c -> c.getName().equals(APP_CONTAINER)).findFirst().orElseThrow();
        }

        Map<String, Map<String, String>> configMaps() {
            Map<String, Map<String, String>> out = new HashMap<>();
            objects.stream().filter(o -> o.path("kind").asText().equals("ConfigMap"))
                    .map(o -> Kustomize.YAML.convertValue(o, ConfigMap.class))
                    .forEach(cm -> out.put(cm.getMetadata().getName(), cm.getData()));
            return out;
        }

        /** The worker's environment as the pod would see it: envFrom sources, then env entries. */
        Map<String, String> appEnvironment() {
            Map<String, String> env = new LinkedHashMap<>();
            for (EnvFromSource from : app().getEnvFrom()) {
                if (from.getConfigMapRef() != null) {
                    env.putAll(configMaps().getOrDefault(from.getConfigMapRef().getName(), Map.of()));
                }
                if (from.getSecretRef() != null) {
                    env.putAll(exampleSecrets.getOrDefault(from.getSecretRef().getName(), Map.of()));
                }
            }
            for (EnvVar var : app().getEnv()) {
                env.put(var.getName(), var.getValue());
            }
            return env;
        }
    }

    static Rendered render(String overlay) throws IOException {
        return new Rendered(Kustomize.build(K8S.resolve(overlay)));
    }

    static HasMetadata typed(ObjectNode doc) {
        return switch (doc.path("apiVersion").asText() + " " + doc.path("kind").asText()) {
            case "apps/v1 Deployment" -> Kustomize.YAML.convertValue(doc, Deployment.class);
            case "v1 ConfigMap" -> Kustomize.YAML.convertValue(doc, ConfigMap.class);
            case "v1 Secret" -> Kustomize.YAML.convertValue(doc, Secret.class);
            case "v1 ServiceAccount" -> Kustomize.YAML.convertValue(doc, ServiceAccount.class);
            default -> Kustomize.YAML.convertValue(doc, GenericKubernetesResource.class);
        };
    }

    static void assertProbe(String overlay, Container app, Probe probe, String path) {
        assertThat(probe).as("%s: probe on %s", overlay, path).isNotNull();
        HTTPGetAction get = probe.getHttpGet();
        assertThat(get.getPath()).isEqualTo(path);
        if (get.getPort() != null) {
            var port = get.getPort();
            boolean matches = port.getIntVal() != null ? port.getIntVal() == HTTP_PORT
                    : app.getPorts().stream().anyMatch(p -> port.getStrVal().equals(p.getName()) && p.getContainerPort() == HTTP_PORT);
            assertThat(matches).as("%s: probe %s port %s is the HTTP port", overlay, path, port).isTrue();
        }
    }

    static VolumeMount mountFor(Container c, String path) {
        return c.getVolumeMounts().stream().filter(m -> path.equals(m.getMountPath()) || path.startsWith(m.getMountPath() + "/"))
                .findFirst().orElse(null);
    }

    /**
     * What shutdown takes beyond the grace period (deployment/README.md, "Shutdown"): the cut-off
     * job's last step and the connector's commit, then webhooks under way ({@code Jobs.WEBHOOK_WAIT}).
     */
    static final Duration SHUTDOWN_MARGIN = Duration.ofSeconds(20);

    /** The grace period plus {@link #SHUTDOWN_MARGIN}: how long a pod must be allowed to stop. */
    static Duration shutdownTimeout(Rendered r) {
        String value = r.appEnvironment().get("EASEL_WORKER_SHUTDOWN_GRACE");
        assertThat(value).as("EASEL_WORKER_SHUTDOWN_GRACE is set").isNotNull();
        Matcher m = Pattern.compile("(\\d+)s").matcher(value);
        assertThat(m.matches()).as("EASEL_WORKER_SHUTDOWN_GRACE in seconds (Ns): %s", value).isTrue();
        // After the grace period a cut-off job still finishes its step and the connector commits.
        return Duration.ofSeconds(Long.parseLong(m.group(1))).plus(SHUTDOWN_MARGIN);
    }

    /** The jobs topic's partitions, from the runbook's topic creation command. */
    static int jobsTopicPartitions() throws IOException {
        Matcher m = Pattern.compile("--topic easel\\.jobs --partitions (\\d+)").matcher(Files.readString(RUNBOOK));
        assertThat(m.find()).as("deployment/README.md creates easel.jobs with --partitions N").isTrue();
        return Integer.parseInt(m.group(1));
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
