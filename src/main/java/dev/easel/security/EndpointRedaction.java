package dev.easel.security;

import java.util.regex.Matcher;
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
    /** The job's own object names, kept as they are: the rest of the text is redacted around them. */
    private static final Pattern S3_URI = Pattern.compile("s3://\\S+");
    /** http(s) URLs: the endpoint's, with or without a path. */
    private static final Pattern URL = Pattern.compile("(?i)\\bhttps?://[^\\s\"'<>)]+");
    /** A resolved address as Java prints it, {@code [host/10.0.3.7]} or {@code host/fd00::1}. */
    private static final Pattern RESOLVED = Pattern.compile("\\[[^\\]\\s/]*/[^\\]\\s]*]|[\\w.-]*/[0-9A-Fa-f]*:[0-9A-Fa-f:.%]+");
    /** IPv6 addresses in brackets (hex digits and colons only), with a port or not. */
    private static final Pattern IPV6 = Pattern.compile("\\[[0-9A-Fa-f]*:[0-9A-Fa-f:.%]*](?::\\d{1,5})?");
    /** IPv4 addresses, with a port or not, and a resolver's {@code /10.0.3.7} form. */
    private static final Pattern IPV4 = Pattern.compile("/?\\b(?:\\d{1,3}\\.){3}\\d{1,3}(?::\\d{1,5})?\\b");
    /** host:port (a dotted host name, or localhost). */
    private static final Pattern HOST_PORT = Pattern.compile("(?i)\\b(?:localhost|[a-z0-9-]+(?:\\.[a-z0-9-]+)+):\\d{1,5}\\b");
    /** A host a resolver could not find, as Java's UnknownHostException and the OS name it. */
    private static final Pattern UNKNOWN_HOST = Pattern.compile(
            "(?i)(?<=UnknownHostException: )[\\w.-]+|[\\w.-]+(?=: (?:Name or service not known|Temporary failure in name"
                    + " resolution|nodename nor servname provided|No address associated with hostname))");

    private EndpointRedaction() {
    }

    /** The text with every URL, IP address, host:port and unresolved host replaced by {@value #MASK}, s3:// names kept. */
    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(text.length());
        Matcher kept = S3_URI.matcher(text);
        int from = 0;
        while (kept.find()) {
            out.append(redactPart(text.substring(from, kept.start()))).append(kept.group());
            from = kept.end();
        }
        return out.append(redactPart(text.substring(from))).toString();
    }

    private static String redactPart(String text) {
        String out = URL.matcher(text).replaceAll(MASK);
        out = RESOLVED.matcher(out).replaceAll(MASK);
        out = IPV6.matcher(out).replaceAll(MASK);
        out = IPV4.matcher(out).replaceAll(MASK);
        out = HOST_PORT.matcher(out).replaceAll(MASK);
        return UNKNOWN_HOST.matcher(out).replaceAll(MASK);
    }
}
