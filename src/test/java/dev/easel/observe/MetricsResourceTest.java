package dev.easel.observe;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MetricsResourceTest {

    @Test
    void openMetricsOnlyWhenTheScraperAsksForIt() {
        // What Prometheus 3 sends.
        assertThat(MetricsResource.contentType("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                + "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"))
                .isEqualTo(MetricsResource.OPEN_METRICS);
        assertThat(MetricsResource.contentType("text/plain")).isEqualTo(MetricsResource.TEXT);
        assertThat(MetricsResource.contentType("*/*")).isEqualTo(MetricsResource.TEXT);
        assertThat(MetricsResource.contentType(null)).isEqualTo(MetricsResource.TEXT);
    }
}
