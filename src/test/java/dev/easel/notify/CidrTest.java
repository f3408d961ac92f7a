package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CidrTest {

    @Test
    void containsAddressesWithinThePrefix() throws Exception {
        Cidr block = Cidr.parse("172.16.0.0/12");

        assertThat(block.contains(InetAddress.getByName("172.16.0.0"))).isTrue();
        assertThat(block.contains(InetAddress.getByName("172.31.255.255"))).isTrue();
        assertThat(block.contains(InetAddress.getByName("172.32.0.0"))).isFalse();
        assertThat(block.contains(InetAddress.getByName("172.15.255.255"))).isFalse();
    }

    @Test
    void handlesIpv6AndKeepsFamiliesApart() throws Exception {
        Cidr uniqueLocal = Cidr.parse("fc00::/7");

        assertThat(uniqueLocal.contains(InetAddress.getByName("fdff:ffff::1"))).isTrue();
        assertThat(uniqueLocal.contains(InetAddress.getByName("fe00::1"))).isFalse();
        assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("::1"))).isFalse();
        assertThat(Cidr.parse("::/0").contains(InetAddress.getByName("10.0.0.1"))).isFalse();
    }

    @Test
    void bareAddressIsOneHostAndHostBitsAreIgnored() throws Exception {
        assertThat(Cidr.parse("127.0.0.1")).isEqualTo(Cidr.parse("127.0.0.1/32"));
        assertThat(Cidr.parse("10.1.2.3/8")).isEqualTo(Cidr.parse("10.0.0.0/8"));
        assertThat(Cidr.parse(" 10.1.2.3/8 ").toString()).isEqualTo("10.0.0.0/8");
        assertThat(Cidr.parse("127.0.0.1").contains(InetAddress.getByName("127.0.0.2"))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost/32", "example.com", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/x", "300.1.1.1/8", "1.2.3/24", ""})
    void rejectsWhatIsNotACidrWithoutDnsLookups(String text) {
        assertThatThrownBy(() -> Cidr.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a CIDR");
    }
}
