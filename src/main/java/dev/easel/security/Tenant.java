package dev.easel.security;

import java.util.List;

/**
 * One team on the fleet: what it may read and write in storage, and how much it may submit. Its
 * jobs' objects go under {@code {id}/} in the default bucket unless it names another place it is
 * granted; its job ids are its own (another tenant's job of the same id is another job).
 *
 * @param id         letters, digits and {@code -}; also the first segment of its default keys
 * @param reads      where its jobs' {@code initImage} and {@code mask} may come from
 * @param writes     where its jobs' {@code output} may go
 * @param limits     its fair-use limits
 * @param jobsTopic  the Kafka topic whose records are its jobs (pull mode): Kafka ACLs decide who may write it
 */
public record Tenant(String id, List<StorageGrant> reads, List<StorageGrant> writes, FairUseLimits limits,
                     String jobsTopic) {

    public Tenant {
        reads = List.copyOf(reads);
        writes = List.copyOf(writes);
    }

    /**
     * @param maxInFlight          jobs submitted over HTTP and not yet answered, at most
     * @param submissionsPerMinute submissions over HTTP per minute, at most (a token bucket)
     */
    public record FairUseLimits(int maxInFlight, int submissionsPerMinute) {
    }

    /** No tenant: the owner of a record on a topic that is no tenant's, which is only dead-lettered. */
    public static Tenant nobody(String topic) {
        return new Tenant("none", List.of(), List.of(), new FairUseLimits(0, 0), topic);
    }

    /** The key prefix of its jobs in the default bucket, under which its grants start by default. */
    public String keyPrefix() {
        return id + "/";
    }
}
