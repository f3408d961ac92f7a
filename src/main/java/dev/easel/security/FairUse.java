package dev.easel.security;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-tenant limits on HTTP submissions: jobs in flight (submitted here, not yet answered) and
 * submissions per minute (a token bucket refilled continuously). Counted per API process: with
 * several replicas a tenant gets that many times the limits, which the limits are set for.
 * Thread-safe.
 */
@jakarta.enterprise.context.ApplicationScoped
public class FairUse {

    /** Why a submission must wait, and for how long. */
    public record Refusal(String reason, Duration retryAfter) {
    }

    /** A job counts in flight at most this long, if no answer is seen for it (the answer may come to another process). */
    static final Duration FORGET_AFTER = Duration.ofHours(1);

    private static final class Account {
        /** Job id → when it was admitted (nanoTime). */
        final Map<String, Long> inFlight = new java.util.LinkedHashMap<>();
        double tokens;
        long refilledAt;
    }

    private final Map<String, Account> accounts = new ConcurrentHashMap<>();
    private final LongSupplier nanoTime;

    public FairUse() {
        this(System::nanoTime);
    }

    FairUse(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /**
     * The answer to one submission.
     *
     * @param refusal why it must wait, if it must
     * @param counted whether this submission began counting its job in flight: only then may its
     *                caller release the job ({@link #answered}) when it was not queued after all. A
     *                re-post of a job already in flight is admitted (posting the same job again is
     *                idempotent) but counts nothing new, so its failure must not release the first.
     */
    public record Admission(Optional<Refusal> refusal, boolean counted) {

        static Admission refused(Refusal refusal) {
            return new Admission(Optional.of(refusal), false);
        }
    }

    /**
     * Takes one submission of the tenant, or says why not. Every submission costs a token, a re-post
     * of a job in flight included (each puts another record on the jobs topic); a new job also counts
     * in flight until {@link #answered}.
     */
    public Admission admit(Tenant tenant, String jobId) {
        Tenant.FairUseLimits limits = tenant.limits();
        Account account = accounts.computeIfAbsent(tenant.id(), id -> {
            Account fresh = new Account();
            fresh.tokens = limits.submissionsPerMinute();
            fresh.refilledAt = nanoTime.getAsLong();
            return fresh;
        });
        synchronized (account) {
            long now = nanoTime.getAsLong();
            double perNano = limits.submissionsPerMinute() / 60e9;
            account.tokens = Math.min(limits.submissionsPerMinute(), account.tokens + (now - account.refilledAt) * perNano);
            account.refilledAt = now;
            account.inFlight.values().removeIf(at -> now - at > FORGET_AFTER.toNanos());
            boolean again = account.inFlight.containsKey(jobId);
            if (!again && account.inFlight.size() >= limits.maxInFlight()) {
                return Admission.refused(new Refusal("tenant " + tenant.id() + " has " + account.inFlight.size()
                        + " jobs in flight, the most allowed (max-in-flight " + limits.maxInFlight() + ")", Duration.ofSeconds(5)));
            }
            if (account.tokens < 1) {
                long waitNanos = (long) Math.ceil((1 - account.tokens) / perNano);
                return Admission.refused(new Refusal("tenant " + tenant.id() + " submitted more than "
                        + limits.submissionsPerMinute() + " jobs in the last minute (submissions-per-minute)",
                        Duration.ofSeconds(Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L))));
            }
            account.tokens -= 1;
            if (!again) {
                account.inFlight.put(jobId, now);
            }
            return new Admission(Optional.empty(), !again);
        }
    }

    /** A job of the tenant admitted here got its final answer, or was not queued after all. */
    public void answered(String tenantId, String jobId) {
        Account account = accounts.get(tenantId);
        if (account != null) {
            synchronized (account) {
                account.inFlight.remove(jobId);
            }
        }
    }

    /** Whether a job of that id of any tenant counts here: the event feed decodes only those records. */
    public boolean tracksAny(String jobId) {
        if (jobId == null) {
            return false;
        }
        for (Account account : accounts.values()) {
            synchronized (account) {
                if (account.inFlight.containsKey(jobId)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a job admitted here still counts: the event feed looks for its answer. */
    public boolean tracks(String tenantId, String jobId) {
        Account account = accounts.get(tenantId);
        if (account == null) {
            return false;
        }
        synchronized (account) {
            return account.inFlight.containsKey(jobId);
        }
    }

    /** Jobs of the tenant in flight here. */
    public int inFlight(String tenantId) {
        Account account = accounts.get(tenantId);
        if (account == null) {
            return 0;
        }
        synchronized (account) {
            return account.inFlight.size();
        }
    }
}
