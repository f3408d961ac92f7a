package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Per-tenant limits on submissions: jobs in flight and a token bucket, on a test clock. */
class FairUseTest {

    private final AtomicLong nanos = new AtomicLong();
    private final FairUse fairUse = new FairUse(nanos::get);
    private final Tenant acme = tenant("acme", 2, 60);

    @Test
    void aThirdJobInFlightWaitsUntilOneIsAnswered() {
        assertThat(fairUse.admit(acme, "a")).isEqualTo(new FairUse.Admission(java.util.Optional.empty(), true));
        assertThat(fairUse.admit(acme, "b").counted()).isTrue();

        FairUse.Admission third = fairUse.admit(acme, "c");
        assertThat(third.refusal()).hasValueSatisfying(r -> assertThat(r.reason())
                .isEqualTo("tenant acme has 2 jobs in flight, the most allowed (max-in-flight 2)"));

        fairUse.answered("acme", "a");
        assertThat(fairUse.admit(acme, "c").refusal()).isEmpty();
        assertThat(fairUse.inFlight("acme")).isEqualTo(2);
    }

    /**
     * A re-post of a job in flight is admitted without counting it again, so its caller must not
     * release it: otherwise posting another job under the same id (answered 409) would free the
     * place of the one still queued, and a tenant could queue without limit.
     */
    @Test
    void aRepostOfAJobInFlightCountsNothingNewAndCannotReleaseIt() {
        assertThat(fairUse.admit(acme, "a").counted()).isTrue();
        assertThat(fairUse.admit(acme, "b").counted()).isTrue();

        FairUse.Admission again = fairUse.admit(acme, "a");
        assertThat(again.refusal()).isEmpty();
        assertThat(again.counted()).isFalse();
        assertThat(fairUse.inFlight("acme")).isEqualTo(2);
        assertThat(fairUse.admit(acme, "c").refusal()).isPresent();
    }

    @Test
    void everySubmissionCostsATokenRepostsIncluded() {
        Tenant slow = tenant("slow", 100, 3);
        assertThat(fairUse.admit(slow, "a").refusal()).isEmpty();
        assertThat(fairUse.admit(slow, "a").refusal()).isEmpty();
        assertThat(fairUse.admit(slow, "a").refusal()).isEmpty();

        FairUse.Admission fourth = fairUse.admit(slow, "a");
        assertThat(fourth.refusal()).hasValueSatisfying(r -> {
            assertThat(r.reason()).isEqualTo("tenant slow submitted more than 3 jobs in the last minute"
                    + " (submissions-per-minute)");
            assertThat(r.retryAfter().toSeconds()).isEqualTo(20);
        });
        nanos.addAndGet(20_000_000_000L); // 3 a minute: one token back after 20 s
        assertThat(fairUse.admit(slow, "b").refusal()).isEmpty();
    }

    @Test
    void tenantsHaveTheirOwnLimits() {
        Tenant beta = tenant("beta", 1, 60);
        assertThat(fairUse.admit(beta, "x").refusal()).isEmpty();
        assertThat(fairUse.admit(beta, "y").refusal()).isPresent();
        assertThat(fairUse.admit(acme, "x").refusal()).isEmpty();
        assertThat(fairUse.tracks("acme", "x")).isTrue();
        assertThat(fairUse.tracks("beta", "y")).isFalse();
    }

    @Test
    void aJobWithoutAnAnswerIsForgottenAfterAnHour() {
        fairUse.admit(acme, "a");
        fairUse.admit(acme, "b");
        nanos.addAndGet(FairUse.FORGET_AFTER.toNanos() + 1);
        assertThat(fairUse.admit(acme, "c").refusal()).isEmpty();
        assertThat(fairUse.inFlight("acme")).isEqualTo(1);
    }

    private static Tenant tenant(String id, int maxInFlight, int perMinute) {
        return new Tenant(id, List.of(), List.of(), new Tenant.FairUseLimits(maxInFlight, perMinute),
                "easel.jobs.tenant." + id);
    }
}
