package dev.easel.notify;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * What {@link WebhookTargetGuard} decided about a URL: allowed, with the addresses it checked, or
 * refused, with a reason meant for the job's record (for example {@code "169.254.169.254 is
 * link-local"}).
 */
public record TargetVerdict(boolean allowed, List<InetAddress> addresses, String reason) {

    public TargetVerdict {
        addresses = List.copyOf(addresses);
        Objects.requireNonNull(reason, "reason");
    }

    static TargetVerdict allow(List<InetAddress> addresses) {
        return new TargetVerdict(true, addresses, "");
    }

    static TargetVerdict refuse(String reason) {
        return new TargetVerdict(false, List.of(), reason);
    }
}
