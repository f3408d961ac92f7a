package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** Webhook URLs in logs: scheme, host and port only. */
class LoggedUrlTest {

    @Test
    void keepsSchemeHostAndPortOnly() {
        assertThat(LoggedUrl.of(URI.create("https://hooks.slack.com/services/T000/B000/XXXX")))
                .isEqualTo("https://hooks.slack.com/…");
        assertThat(LoggedUrl.of(URI.create("http://10.0.0.1:8080/hook?token=s3cret#frag")))
                .isEqualTo("http://10.0.0.1:8080/…");
        assertThat(LoggedUrl.of(URI.create("https://user:pass@example.com/"))).isEqualTo("https://example.com/…");
        assertThat(LoggedUrl.of(URI.create("https://example.com/"))).isEqualTo("https://example.com/");
        assertThat(LoggedUrl.of(URI.create("https://example.com"))).isEqualTo("https://example.com/");
        assertThat(LoggedUrl.of(URI.create("https://[::1]:9/x"))).isEqualTo("https://[::1]:9/…");
    }

    @Test
    void aUrlWithoutAHostShowsNothingOfIt() {
        assertThat(LoggedUrl.of(URI.create("http:///secret/path"))).isEqualTo("http://(no host)/…");
        assertThat(LoggedUrl.of(URI.create("mailto:someone@example.com"))).isEqualTo("mailto://(no host)/…");
        assertThat(LoggedUrl.of(null)).isEqualTo("(none)");
    }
}
