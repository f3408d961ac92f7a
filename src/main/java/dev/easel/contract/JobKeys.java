package dev.easel.contract;

import dev.easel.store.ObjectKeys;
import java.util.regex.Pattern;

/**
 * Where one job's objects live: {@code {prefix}/{jobId}/{index}.png} for its images,
 * {@code {prefix}/{jobId}/result.json} for its result manifest, which the worker writes last so
 * that its presence means the job is complete, and {@code {prefix}/{jobId}/status.json} for the
 * state of a job not complete (running, failed). Jobs submitted over HTTP also get a pointer,
 * {@code ~jobs/{jobId}.json} in the default bucket ({@link #pointer}), saying where their objects
 * are. The worker and the job status endpoint both use this class, so they cannot disagree on a key.
 */
public final class JobKeys {

    /** The manifest's file name under the job's prefix. */
    public static final String MANIFEST = "result.json";
    /** The status record's file name under the job's prefix. */
    public static final String STATUS = "status.json";
    /** The job's latest preview. */
    public static final String PREVIEW = "preview.png";
    // '~' cannot start a job id, so no job's own keys (prefix "" in the default bucket) meet a pointer.
    private static final String POINTERS = "~jobs/";

    // The job contract's id rule (docs/job-contract.md); "." and ".." are refused separately
    // because as a key segment they would name the prefix itself or its parent.
    /** The longest job id, in characters and, its alphabet being ASCII, in UTF-8 bytes. */
    public static final int MAX_ID_BYTES = 128;
    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9._-]{1," + MAX_ID_BYTES + "}");
    /** The contract's limit on {@code output.keyPrefix}. */
    private static final int MAX_PREFIX_LENGTH = 512;

    private final String base;

    private JobKeys(String base) {
        this.base = base;
    }

    /**
     * @param prefix the job's {@code output.keyPrefix}: {@code ""} for none; trailing {@code /}
     *               are dropped ({@code "acme/2030/"} and {@code "acme/2030"} are the same
     *               prefix), otherwise it must be a valid key ({@link ObjectKeys#checkKey})
     * @param jobId  the job's id, as the contract allows it
     * @throws IllegalArgumentException naming the rule, if the prefix or the id breaks one
     */
    public static JobKeys of(String prefix, String jobId) {
        checkId(jobId);
        if (prefix.length() > MAX_PREFIX_LENGTH) {
            throw new IllegalArgumentException("key prefix: must be at most " + MAX_PREFIX_LENGTH + " characters, got "
                    + prefix.length());
        }
        String trimmed = prefix;
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        String base = trimmed.isEmpty() ? jobId + "/" : trimmed + "/" + jobId + "/";
        // Checking the longest key this layout makes covers every segment and the length limit.
        ObjectKeys.checkKey(base + Integer.MAX_VALUE + ".png");
        return new JobKeys(base);
    }

    /** The key of image {@code index} (0-based, in the order the job's seeds run). */
    public String image(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("image index: must be ≥ 0, got " + index);
        }
        return base + index + ".png";
    }

    /** The key of the job's latest preview picture (overwritten by each; docs/events.md, "Previews"). */
    public String preview() {
        return base + PREVIEW;
    }

    /** The key of the job's result manifest. */
    public String manifest() {
        return base + MANIFEST;
    }

    /** The key of the job's status record (running or failed; a complete job has its manifest). */
    public String status() {
        return base + STATUS;
    }

    /**
     * The key, in the default bucket, of the pointer to an HTTP-submitted job's location; job ids
     * are per tenant, and so are pointers.
     *
     * @throws IllegalArgumentException if the id breaks the contract's rule
     */
    public static String pointer(String tenant, String jobId) {
        checkId(jobId);
        checkId(tenant);
        return POINTERS + tenant + "/" + jobId + ".json";
    }

    /** Whether {@code text} is a job id as the contract allows it. */
    public static boolean isJobId(String text) {
        return text != null && JOB_ID.matcher(text).matches() && !text.equals(".") && !text.equals("..");
    }

    private static void checkId(String jobId) {
        if (!isJobId(jobId)) {
            throw new IllegalArgumentException("job id: must be 1-128 characters of A-Z a-z 0-9 . _ - and not \".\" or"
                    + " \"..\", got " + (jobId == null ? "null" : "\"" + jobId + "\""));
        }
    }

    /** The common prefix of the job's keys, ending in {@code /}. */
    @Override
    public String toString() {
        return base;
    }
}
