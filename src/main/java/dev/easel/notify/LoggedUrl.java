package dev.easel.notify;

import java.net.URI;

/**
 * A webhook URL as it may be logged: scheme, host and port only. Webhook URLs are often secrets in
 * themselves (a Slack hook's path, a {@code ?token=} query, user info), and logs reach people who
 * must not be able to post to them.
 */
public final class LoggedUrl {

    private LoggedUrl() {
    }

    /** {@code https://hooks.example.com:8443/…}: the path, query, fragment and user info left out. */
    public static String of(URI url) {
        if (url == null) {
            return "(none)";
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme() + "://";
        String host = url.getHost() == null ? "(no host)" : url.getHost();
        String port = url.getPort() < 0 ? "" : ":" + url.getPort();
        boolean more = (url.getRawPath() != null && !url.getRawPath().isEmpty() && !url.getRawPath().equals("/"))
                || url.getRawQuery() != null || url.getRawFragment() != null || url.getRawUserInfo() != null
                || url.getHost() == null;
        return scheme + host + port + (more ? "/…" : "/");
    }
}
