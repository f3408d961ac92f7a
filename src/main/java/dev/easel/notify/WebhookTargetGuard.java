package dev.easel.notify;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps webhooks away from the worker's own network (SSRF): a job's webhook URL is chosen by
 * whoever submits the job, so without this check it could make the worker call cloud metadata
 * ({@code 169.254.169.254}), the cluster's internal services or the worker itself.
 *
 * <p>A URL is allowed only if its scheme is {@code http} or {@code https} and <em>every</em>
 * address its host resolves to is public, or falls in the configured allow-list. Refused are
 * unspecified ({@code 0.0.0.0/8}, {@code ::}), loopback ({@code 127/8}, {@code ::1}), private
 * ({@code 10/8}, {@code 172.16/12}, {@code 192.168/16}, {@code fc00::/7}, {@code fec0::/10}),
 * link-local ({@code 169.254/16}, {@code fe80::/10}), CGNAT ({@code 100.64/10}), multicast
 * ({@code 224/4}, {@code ff00::/8}), reserved/broadcast ({@code 240/4}), IETF protocol
 * ({@code 192.0.0/24}), benchmarking ({@code 198.18/15}), local-use NAT64 ({@code 64:ff9b:1::/48})
 * and Teredo ({@code 2001::/32}) addresses, and IPv6
 * addresses that embed one of those IPv4 addresses (IPv4-compatible {@code ::a.b.c.d}, NAT64
 * {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}; IPv4-mapped {@code ::ffff:a.b.c.d} already
 * arrives as IPv4).
 *
 * <p><b>DNS rebinding.</b> A host could resolve to a public address when checked and to a private
 * one when connected to. Java 17's {@link java.net.http.HttpClient} has no hook to connect to a
 * given address (connecting to the IP literal instead would break TLS server names and
 * certificate checks, and the {@code Host} header is restricted), so the pinning relies on the
 * JVM's own DNS cache: the guard resolves with {@link InetAddress#getAllByName}, the same lookup
 * the client makes when it connects, and the JVM keeps successful answers for
 * {@code networkaddress.cache.ttl} seconds (30 by default) whatever the record's DNS TTL, so the
 * client's lookup a moment later is answered from the cache with the addresses that were
 * checked. {@link WebhookSender} checks again right before every attempt, never follows
 * redirects, and uses no proxy. Setting {@code networkaddress.cache.ttl=0} would reopen the
 * window; an egress network policy that denies internal ranges is the defence in depth.
 *
 * <p>Thread-safe.
 */
public final class WebhookTargetGuard {

    /** Looks a host up; {@link InetAddress#getAllByName} outside tests. */
    @FunctionalInterface
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** The forbidden blocks, each with the word used in refusal reasons. */
    private static final Map<Cidr, String> FORBIDDEN = Map.ofEntries(
            Map.entry(Cidr.parse("0.0.0.0/8"), "unspecified"),
            Map.entry(Cidr.parse("10.0.0.0/8"), "private"),
            Map.entry(Cidr.parse("100.64.0.0/10"), "carrier-grade NAT (shared address space)"),
            Map.entry(Cidr.parse("127.0.0.0/8"), "loopback"),
            Map.entry(Cidr.parse("169.254.0.0/16"), "link-local"),
            Map.entry(Cidr.parse("172.16.0.0/12"), "private"),
            Map.entry(Cidr.parse("192.168.0.0/16"), "private"),
            Map.entry(Cidr.parse("192.0.0.0/24"), "IETF protocol assignments"),
            Map.entry(Cidr.parse("198.18.0.0/15"), "benchmarking (often used inside networks)"),
            Map.entry(Cidr.parse("224.0.0.0/4"), "multicast"),
            Map.entry(Cidr.parse("240.0.0.0/4"), "reserved or broadcast"),
            Map.entry(Cidr.parse("::/128"), "unspecified"),
            Map.entry(Cidr.parse("::1/128"), "loopback"),
            Map.entry(Cidr.parse("fc00::/7"), "private (unique local)"),
            Map.entry(Cidr.parse("fe80::/10"), "link-local"),
            Map.entry(Cidr.parse("fec0::/10"), "private (site-local)"),
            Map.entry(Cidr.parse("ff00::/8"), "multicast"),
            Map.entry(Cidr.parse("64:ff9b:1::/48"), "local-use NAT64"),
            // Teredo embeds an IPv4 address obfuscated (XORed): refused whole rather than decoded.
            Map.entry(Cidr.parse("2001::/32"), "Teredo tunnel"));

    private static final Cidr IPV4_COMPATIBLE = Cidr.parse("::/96");
    private static final Cidr NAT64 = Cidr.parse("64:ff9b::/96");
    private static final Cidr SIX_TO_FOUR = Cidr.parse("2002::/16");

    private final List<Cidr> allowList;
    private final Resolver resolver;

    /** A guard that also lets through addresses in {@code allowList} (empty: public addresses only). */
    public WebhookTargetGuard(List<Cidr> allowList) {
        this(allowList, InetAddress::getAllByName);
    }

    WebhookTargetGuard(List<Cidr> allowList, Resolver resolver) {
        this.allowList = List.copyOf(allowList);
        this.resolver = resolver;
    }

    /**
     * Checks a URL. Blocks for the DNS lookup: call it from a worker thread.
     *
     * @return allowed with the checked addresses, or refused with the reason
     * @throws UnknownHostException when the host does not resolve (possibly a passing DNS
     *     failure, which the sender retries like a connection error)
     */
    public TargetVerdict check(URI url) throws UnknownHostException {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return TargetVerdict.refuse("scheme must be http or https, got " + (scheme.isEmpty() ? "none" : scheme) + ": " + LoggedUrl.of(url));
        }
        String host = url.getHost();
        if (host == null || host.isEmpty()) {
            return TargetVerdict.refuse("URL has no valid host: " + LoggedUrl.of(url));
        }
        List<InetAddress> addresses = Arrays.asList(resolver.resolve(host));
        for (InetAddress address : addresses) {
            Optional<String> category = forbiddenCategory(address);
            if (category.isPresent() && allowList.stream().noneMatch(cidr -> cidr.contains(address))) {
                String via = isAddressLiteral(host) ? "" : " (" + host + " resolves to it)";
                return TargetVerdict.refuse(address.getHostAddress() + " is " + category.get() + via
                        + " and not in easel.webhooks.allowed-cidrs");
            }
        }
        return TargetVerdict.allow(addresses);
    }

    /** Why an address is not public, or empty when it is. */
    static Optional<String> forbiddenCategory(InetAddress address) {
        for (Map.Entry<Cidr, String> entry : FORBIDDEN.entrySet()) {
            if (entry.getKey().contains(address)) {
                return Optional.of(entry.getValue());
            }
        }
        if (address instanceof Inet6Address) {
            byte[] bytes = address.getAddress();
            Optional<byte[]> embedded = IPV4_COMPATIBLE.contains(address) || NAT64.contains(address)
                    ? Optional.of(Arrays.copyOfRange(bytes, 12, 16))
                    : SIX_TO_FOUR.contains(address) ? Optional.of(Arrays.copyOfRange(bytes, 2, 6)) : Optional.empty();
            if (embedded.isPresent()) {
                InetAddress v4 = ipv4(embedded.get());
                return forbiddenCategory(v4).map(category -> category + " (embeds " + v4.getHostAddress() + ")");
            }
        }
        return Optional.empty();
    }

    private static InetAddress ipv4(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: always 4 bytes
        }
    }

    private static boolean isAddressLiteral(String host) {
        return host.startsWith("[") || host.chars().allMatch(c -> c == '.' || Character.isDigit(c));
    }
}
