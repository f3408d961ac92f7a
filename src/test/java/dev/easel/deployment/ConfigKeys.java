package dev.easel.deployment;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The configuration keys Easel reads, and which environment variable names stand for them.
 * Easel's own keys come from the {@code @ConfigMapping} interfaces in {@code dev.easel.config}
 * (reflected, so a renamed or new key is picked up); the Quarkus, Kafka and Reactive Messaging
 * keys the manifests set are listed in {@link #FRAMEWORK_KEYS}. A map entry such as
 * {@code easel.models.<name>.path} is a pattern with {@code *} for the name.
 */
final class ConfigKeys {

    /** Keys outside dev.easel.config that the manifests may set, each with why it is known to be read. */
    static final Map<String, String> FRAMEWORK_KEYS = Map.ofEntries(
            Map.entry("kafka.bootstrap.servers", "application.properties / Quarkus Kafka: the broker of every channel"),
            Map.entry("kafka.security.protocol", "Quarkus hands every kafka.* key (KAFKA_* variable) to all Kafka clients"),
            Map.entry("kafka.sasl.mechanism", "as kafka.security.protocol"),
            Map.entry("kafka.sasl.jaas.config", "as kafka.security.protocol"),
            // TLS to the broker (docs/security.md, "Transport"): a trust store for a private CA, a key store for mTLS.
            Map.entry("kafka.ssl.truststore.location", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.truststore.type", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.truststore.password", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.keystore.location", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.keystore.type", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.keystore.password", "as kafka.security.protocol"),
            Map.entry("kafka.ssl.key.password", "as kafka.security.protocol"),
            Map.entry("mp.messaging.incoming.jobs.enabled", "SmallRye Reactive Messaging: false disables the jobs consumer (push mode)"),
            Map.entry("mp.messaging.incoming.jobs.group.instance.id", "Kafka consumer: static group membership (docs/reliability.md)"),
            Map.entry("quarkus.shutdown.timeout", "Quarkus core: how long shutdown waits for running requests and jobs"),
            Map.entry("quarkus.http.port", "Quarkus HTTP: the port (8080 by default)"));

    private final Set<String> keys;

    private ConfigKeys(Set<String> keys) {
        this.keys = keys;
    }

    static ConfigKeys load() {
        Set<String> keys = new TreeSet<>(FRAMEWORK_KEYS.keySet());
        for (Class<?> mapping : mappings()) {
            collect(mapping.getAnnotation(ConfigMapping.class).prefix(), mapping, keys);
        }
        return new ConfigKeys(keys);
    }

    Set<String> keys() {
        return keys;
    }

    /** The key an environment variable stands for, by MicroProfile Config's rule. */
    Optional<String> keyFor(String environmentVariable) {
        for (String key : keys) {
            if (Pattern.matches(envPattern(key), environmentVariable)) {
                return Optional.of(key);
            }
        }
        return Optional.empty();
    }

    /**
     * A key's environment variable name: upper case, every character other than a letter or digit
     * as '_'. A map key's segment ({@code *}) must be letters and digits only, because SmallRye
     * could not tell a '_' in it from a separator (checked: EASEL_MODELS_SD_TURBO_PATH is ignored).
     */
    static String envPattern(String key) {
        StringBuilder pattern = new StringBuilder();
        for (String part : key.split("\\*", -1)) {
            if (pattern.length() > 0) {
                pattern.append("[A-Z0-9]+");
            }
            pattern.append(Pattern.quote(part.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_")));
        }
        return pattern.toString();
    }

    private static void collect(String prefix, Class<?> type, Set<String> keys) {
        for (Method method : type.getMethods()) {
            if (method.isDefault() || Modifier.isStatic(method.getModifiers()) || method.getParameterCount() > 0) {
                continue;
            }
            String name = method.isAnnotationPresent(WithName.class) ? method.getAnnotation(WithName.class).value()
                    : kebab(method.getName());
            Type returned = method.getGenericReturnType();
            if (returned instanceof ParameterizedType p && p.getRawType() == Map.class
                    && p.getActualTypeArguments()[1] instanceof Class<?> value && value.isInterface()) {
                String mapPrefix = method.isAnnotationPresent(WithParentName.class) ? prefix : prefix + "." + name;
                collect(mapPrefix + ".*", value, keys);
            } else if (returned instanceof Class<?> group && group.isInterface() && group.getPackageName().startsWith("dev.easel")) {
                collect(method.isAnnotationPresent(WithParentName.class) ? prefix : prefix + "." + name, group, keys);
            } else {
                keys.add(prefix + "." + name);
            }
        }
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** The @ConfigMapping interfaces compiled into dev/easel/config (main and test classes both have the folder). */
    private static List<Class<?>> mappings() {
        List<Class<?>> out = new java.util.ArrayList<>();
        try {
            for (var urls = ConfigKeys.class.getClassLoader().getResources("dev/easel/config"); urls.hasMoreElements(); ) {
                try (Stream<Path> files = Files.list(Path.of(urls.nextElement().toURI()))) {
                    files.map(f -> f.getFileName().toString())
                            .filter(f -> f.endsWith(".class") && !f.contains("$"))
                            .<Class<?>>map(f -> load("dev.easel.config." + f.substring(0, f.length() - ".class".length())))
                            .filter(c -> c.isAnnotationPresent(ConfigMapping.class))
                            .forEach(out::add);
                }
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot list dev.easel.config", e);
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no @ConfigMapping interfaces found in dev.easel.config");
        }
        return out;
    }

    private static Class<?> load(String name) {
        try {
            return Class.forName(name, false, ConfigKeys.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }
}
