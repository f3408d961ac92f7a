package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** easel.topics.* and easel.events.* read by SmallRye Config alone (no Quarkus boot). */
class MessagingConfigTest {

    private static SmallRyeConfig load(Map<String, String> properties) {
        return new SmallRyeConfigBuilder()
                .addDefaultInterceptors() // ${HOSTNAME:local} as Quarkus expands it
                .withMapping(TopicsConfig.class)
                .withMapping(EventsConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 100))
                .build();
    }

    @Test
    void defaults() {
        SmallRyeConfig config = load(Map.of("HOSTNAME", "pod-1"));
        TopicsConfig topics = config.getConfigMapping(TopicsConfig.class);
        EventsConfig events = config.getConfigMapping(EventsConfig.class);

        assertThat(topics.jobs()).isEqualTo("easel.jobs");
        assertThat(topics.events()).isEqualTo("easel.events");
        assertThat(topics.deadLetters()).isEqualTo("easel.jobs.dlq");
        assertThat(events.instance()).isEqualTo("pod-1");
        assertThat(events.progressPerSecond()).isEqualTo(2);
    }

    @Test
    void keys() {
        SmallRyeConfig config = load(Map.of("easel.topics.jobs", "j", "easel.topics.events", "e",
                "easel.topics.dead-letters", "d", "easel.events.instance", "w9", "easel.events.progress-per-second", "5"));
        TopicsConfig topics = config.getConfigMapping(TopicsConfig.class);
        EventsConfig events = config.getConfigMapping(EventsConfig.class);

        assertThat(new String[] {topics.jobs(), topics.events(), topics.deadLetters()}).containsExactly("j", "e", "d");
        assertThat(events.instance()).isEqualTo("w9");
        assertThat(events.progressPerSecond()).isEqualTo(5);
    }
}
