package dev.easel.notify;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 address block such as {@code 10.0.0.0/8} or {@code fc00::/7}. */
public final class Cidr {

    private static final Pattern IPV4_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private final byte[] network;
    private final int prefixLength;

    private Cidr(byte[] network, int prefixLength) {
        this.network = network;
        this.prefixLength = prefixLength;
    }

    /**
     * Parses {@code ADDRESS/PREFIX}; a bare address means a single host (/32 or /128). Bits past
     * the prefix are ignored. Only address literals are accepted, never host names, so parsing
     * does no DNS lookup.
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    public static Cidr parse(String text) {
        String trimmed = text.strip();
        int slash = trimmed.indexOf('/');
        String literal = slash < 0 ? trimmed : trimmed.substring(0, slash);
        if (!(literal.contains(":") || IPV4_LITERAL.matcher(literal).matches())) {
            throw new IllegalArgumentException("not a CIDR (expected an IP address literal, e.g. 10.0.0.0/8): " + text);
        }
        byte[] address;
        try {
            address = InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not a CIDR (bad address): " + text, e);
        }
        int maxBits = address.length * 8;
        int prefix;
        try {
            prefix = slash < 0 ? maxBits : Integer.parseInt(trimmed.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a CIDR (bad prefix length): " + text, e);
        }
        if (prefix < 0 || prefix > maxBits) {
            throw new IllegalArgumentException("not a CIDR (prefix length must be 0.." + maxBits + "): " + text);
        }
        return new Cidr(mask(address, prefix), prefix);
    }

    /** Whether {@code address} is in this block (an IPv4 block never contains an IPv6 address). */
    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return bytes.length == network.length && Arrays.equals(mask(bytes, prefixLength), network);
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] masked = address.clone();
        for (int i = 0; i < masked.length; i++) {
            int bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] &= (byte) (0xff << (8 - bitsHere));
        }
        return masked;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr that && prefixLength == that.prefixLength && Arrays.equals(network, that.network);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(network) + prefixLength;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: network is always 4 or 16 bytes
        }
    }
}
