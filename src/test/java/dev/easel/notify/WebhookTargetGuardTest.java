package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class WebhookTargetGuardTest {

    private final WebhookTargetGuard guard = new WebhookTargetGuard(List.of());

    @ParameterizedTest
    @CsvSource({
        "http://10.0.0.1/hook,               private",
        "http://172.16.5.4/hook,             private",
        "http://172.31.255.255/hook,         private",
        "https://192.168.1.1/hook,           private",
        "http://127.0.0.1:8080/hook,         loopback",
        "http://127.9.9.9/hook,              loopback",
        "http://169.254.169.254/latest/meta-data/, link-local",
        "http://[::1]/hook,                  loopback",
        "http://[fe80::1]/hook,              link-local",
        "http://[fd00::1]/hook,              private (unique local)",
        "http://[fc00::5]/hook,              private (unique local)",
        "http://100.64.0.1/hook,             carrier-grade NAT",
        "http://100.127.255.254/hook,        carrier-grade NAT",
        "http://0.0.0.0/hook,                unspecified",
        "http://[::]/hook,                   unspecified",
        "http://224.0.0.1/hook,              multicast",
        "http://[ff02::1]/hook,              multicast",
        "http://255.255.255.255/hook,        reserved or broadcast",
        "http://[::ffff:10.0.0.1]/hook,      private",
        "http://[::127.0.0.1]/hook,          loopback (embeds 127.0.0.1)",
        "http://[64:ff9b::a9fe:a9fe]/hook,   link-local (embeds 169.254.169.254)",
        "http://[2002:c0a8:0101::1]/hook,    private (embeds 192.168.1.1)",
        "http://192.0.0.8/hook,              IETF protocol assignments",
        "http://198.19.0.1/hook,             benchmarking",
        "http://[64:ff9b:1::a00:1]/hook,     local-use NAT64",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook, Teredo tunnel",
        "http://2130706433/hook,             loopback",
    })
    void refusesInternalAddresses(String url, String category) throws Exception {
        TargetVerdict verdict = guard.check(URI.create(url));

        assertThat(verdict.allowed()).isFalse();
        assertThat(verdict.reason()).contains(" is " + category).contains("easel.webhooks.allowed-cidrs");
        assertThat(verdict.addresses()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "https://93.184.216.34/hook", "http://8.8.8.8:8080/x", "HTTPS://1.1.1.1/",
        "http://172.32.0.1/", "http://172.15.255.255/", "http://100.128.0.1/", "http://100.63.255.255/",
        "http://192.169.0.1/", "http://169.255.0.1/", "http://[2606:4700:4700::1111]/hook", "http://[2001:db8::1]/"})
    void allowsPublicAddresses(String url) throws Exception {
        TargetVerdict verdict = guard.check(URI.create(url));

        assertThat(verdict.allowed()).as(verdict.reason()).isTrue();
        assertThat(verdict.addresses()).hasSize(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://93.184.216.34/file", "file:///etc/passwd", "gopher://example.com/", "jar:file:/x.jar!/y"})
    void refusesOtherSchemesWithoutResolving(String url) throws Exception {
        WebhookTargetGuard noDns = new WebhookTargetGuard(List.of(), host -> {
            throw new AssertionError("resolved " + host);
        });

        TargetVerdict verdict = noDns.check(URI.create(url));

        assertThat(verdict.allowed()).isFalse();
        assertThat(verdict.reason()).startsWith("scheme must be http or https");
    }

    @Test
    void refusesAUrlWithoutAHost() throws Exception {
        assertThat(guard.check(URI.create("http:///hook")).reason()).startsWith("URL has no valid host");
        assertThat(guard.check(URI.create("http://under_score.example/")).reason()).startsWith("URL has no valid host");
    }

    @Test
    void refusesAHostNameThatResolvesToLoopback() throws Exception {
        TargetVerdict verdict = guard.check(URI.create("http://localhost:8080/hook"));

        assertThat(verdict.allowed()).isFalse();
        assertThat(verdict.reason()).contains("loopback").contains("(localhost resolves to it)");
    }

    @Test
    void refusesAHostWhenAnyOfItsAddressesIsInternal() throws Exception {
        WebhookTargetGuard rebinding = new WebhookTargetGuard(List.of(),
                host -> new InetAddress[] {InetAddress.getByName("93.184.216.34"), InetAddress.getByName("10.1.2.3")});

        TargetVerdict verdict = rebinding.check(URI.create("https://hooks.example.com/x"));

        assertThat(verdict.allowed()).isFalse();
        assertThat(verdict.reason()).isEqualTo(
                "10.1.2.3 is private (hooks.example.com resolves to it) and not in easel.webhooks.allowed-cidrs");
    }

    @Test
    void allowsAHostWhoseAddressesAreAllPublicAndReturnsThem() throws Exception {
        InetAddress[] addresses = {InetAddress.getByName("93.184.216.34"), InetAddress.getByName("2606:2800:220:1::1")};
        WebhookTargetGuard resolving = new WebhookTargetGuard(List.of(), host -> addresses);

        TargetVerdict verdict = resolving.check(URI.create("https://hooks.example.com/x"));

        assertThat(verdict.allowed()).isTrue();
        assertThat(verdict.addresses()).containsExactly(addresses);
    }

    @Test
    void passesOnAHostThatDoesNotResolve() {
        WebhookTargetGuard failing = new WebhookTargetGuard(List.of(), host -> {
            throw new UnknownHostException(host);
        });

        assertThatThrownBy(() -> failing.check(URI.create("https://nowhere.example/")))
                .isInstanceOf(UnknownHostException.class);
    }

    @Test
    void allowListLetsThroughExactlyItsBlocks() throws Exception {
        WebhookTargetGuard allowing = new WebhookTargetGuard(List.of(Cidr.parse("127.0.0.1/32"), Cidr.parse("10.20.0.0/16")));

        assertThat(allowing.check(URI.create("http://127.0.0.1:9000/hook")).allowed()).isTrue();
        assertThat(allowing.check(URI.create("http://10.20.3.4/hook")).allowed()).isTrue();
        assertThat(allowing.check(URI.create("http://127.0.0.2/hook")).allowed()).isFalse();
        assertThat(allowing.check(URI.create("http://10.21.0.1/hook")).allowed()).isFalse();
        assertThat(allowing.check(URI.create("http://169.254.169.254/")).allowed()).isFalse();
        assertThat(allowing.check(URI.create("http://[::1]/hook")).allowed()).isFalse();
    }

    @Test
    void allowListCoversAHostNameOnlyWhenItCoversEveryAddress() throws Exception {
        InetAddress[] both = {InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1")};
        URI url = URI.create("http://localhost/hook");

        assertThat(new WebhookTargetGuard(List.of(Cidr.parse("127.0.0.1/32")), host -> both).check(url).allowed()).isFalse();
        assertThat(new WebhookTargetGuard(List.of(Cidr.parse("127.0.0.1/32"), Cidr.parse("::1/128")), host -> both)
                .check(url).allowed()).isTrue();
    }
}
