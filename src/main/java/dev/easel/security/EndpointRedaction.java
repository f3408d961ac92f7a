package dev.easel.security;

import java.util.regex.Pattern;

/**
 * Takes the worker's own network addresses out of a text that goes to a job's submitter (its
 * failed event, status, webhook): a storage client's fault names the endpoint it could not reach
 * ({@code Connect to 10.0.3.7:9000 failed}), which is the platform's, not the tenant's business.
 * The full text stays in the worker's log. The job's own {@code s3://bucket/key} names are kept:
 * they are what the job named.
 */
public final class EndpointRedaction {

    private static final String MASK = "<store endpoint>";
    /** http(s) URLs: the endpoint's, with or without a path. */
    private static final Pattern URL = Pattern.compile("(?i)\\bhttps?://[^\\s\"'<>)]+");
    /** IPv4 addresses, with a port or not, and a resolver's {@code /10.0.3.7} form. */
    private static final Pattern IPV4 = Pattern.compile("/?\\b(?:\\d{1,3}\\.){3}\\d{1,3}(?::\\d{1,5})?\\b");
    /** Bracketed IPv6 addresses, as clients print them with a port. */
    private static final Pattern IPV6 = Pattern.compile("/?\\[[0-9A-Fa-f:.%a-z]+](?::\\d{1,5})?");
    /** host:port (a dotted host name, or localhost). */
    private static final Pattern HOST_PORT = Pattern.compile("(?i)\\b(?:localhost|[a-z0-9-]+(?:\\.[a-z0-9-]+)+):\\d{1,5}\\b");

    private EndpointRedaction() {
    }

    /** The text with every URL, IP address and host:port replaced by {@value #MASK}. */
    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        String out = URL.matcher(text).replaceAll(MASK);
        out = IPV6.matcher(out).replaceAll(MASK);
        out = IPV4.matcher(out).replaceAll(MASK);
        return HOST_PORT.matcher(out).replaceAll(MASK);
    }
}
