package dev.easel.engine.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching of UNet runs across jobs: the jobs of one model that denoise at the same
 * time, at the same latent size (and text length, in-channels, SDXL conditions), share session
 * runs. Each step, a job hands in its UNet rows (scaled latents of each guidance branch), its
 * timestep and, by reference, its conditioning rows, and blocks until its prediction rows are
 * back. The rows of up to {@link Settings#maxJobs} jobs are concatenated into one batch (each row
 * with its own job's timestep), run once, and split again. Jobs join and leave at step boundaries,
 * whatever their schedulers, step counts, guidance or seeds: all of that stays in the job's own
 * loop; only the UNet call is shared.
 *
 * <p>A batch starts as soon as it is full, or every job in its lane is waiting (nobody else could
 * join), or its oldest step has waited {@link Settings#maxWait}; runs of a lane are one at a time,
 * so the steps handed in during a run make up the next batch. There is no thread of its own
 * (leader/follower): whichever waiting job finds a batch ready runs it on its own thread and hands
 * the others their rows; the others sleep meanwhile, so no more threads compete for the cores than
 * without batching, and nothing needs starting or stopping with the model.
 *
 * <p>A UNet whose timestep is a scalar batches only the steps at the same timestep. One whose graph
 * fixes the batch dimension is not batched: {@link #start} gives each job its own {@link UnetRun}.
 * When a shared run fails, each job of the batch runs again on its own, so a failure stays with
 * the job that causes it. Batch tensors are kept per row count (the last few) while the lane has
 * jobs, and released when its last job leaves.
 *
 * <p>Thread-safe; each {@link UnetStep} it hands out belongs to one job (one thread at a time).
 */
public final class UnetBatcher implements UnetSteps {

    /** Batch tensor sets kept per lane, by row count. */
    private static final int CACHED_SIZES = 4;

    /**
     * @param maxJobs the most jobs in one UNet run; 1 turns batching off
     * @param maxWait how long a step waits for other jobs' steps to join it
     */
    public record Settings(int maxJobs, Duration maxWait) {

        /** One job per run: every job runs its own UNet, as without a batcher. */
        public static final Settings OFF = new Settings(1, Duration.ZERO);

        public Settings {
            if (maxJobs < 1) {
                throw new IllegalArgumentException("max-jobs must be at least 1 (1 = no batching), not " + maxJobs);
            }
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("max-wait must not be negative: " + maxWait);
            }
        }

        /** Whether jobs may share runs at all. */
        public boolean on() {
            return maxJobs > 1;
        }
    }

    /**
     * What the batcher has done so far.
     *
     * @param runs         UNet session runs
     * @param batchedRuns  runs that carried more than one job
     * @param steps        job steps served (one per job per run)
     * @param largestBatch the most jobs in one run
     */
    public record Stats(long runs, long batchedRuns, long steps, int largestBatch) {
    }

    /** The session run; a test seam for failures. */
    @FunctionalInterface
    interface Runner {
        void run(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs) throws OrtException;
    }

    /** What jobs must agree on to share a run (rows: per UNet batch entry). */
    private record Key(int inChannels, int outChannels, int height, int width, int sequence, int hidden,
                       int textEmbeds, int timeIds) {
    }

    private final Unet unet;
    private final Settings settings;
    private final long maxWaitNanos;
    private final Runner runner;
    private final UnetRun.Types types;
    private final Map<Key, Lane> lanes = new ConcurrentHashMap<>();
    private final LongAdder runs = new LongAdder();
    private final LongAdder batchedRuns = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final AtomicInteger largestBatch = new AtomicInteger();

    public UnetBatcher(Unet unet, Settings settings) {
        this(unet, settings, (inputs, outputs) -> {
            try (Result ignored = unet.model().session().run(inputs, Set.of(), outputs)) {
                // out_sample is pinned: the rows are in the batch's own buffer
            }
        });
    }

    UnetBatcher(Unet unet, Settings settings, Runner runner) {
        this.unet = unet;
        this.settings = settings;
        this.maxWaitNanos = settings.maxWait().toNanos();
        this.runner = runner;
        this.types = unet.types();
    }

    public Settings settings() {
        return settings;
    }

    public Stats stats() {
        return new Stats(runs.sum(), batchedRuns.sum(), steps.sum(), largestBatch.get());
    }

    /** A seat in the lane of the job's kind, or the job's own {@link UnetRun} where batching cannot apply. */
    @Override
    public UnetStep start(UnetRun.Shape shape, UnetConditioning conditioning) {
        if (!settings.on() || !unet.batchable()) {
            return unet.start(shape, conditioning);
        }
        unet.check(shape, conditioning);
        int rows = shape.batch();
        if (conditioning.hidden().length != rows * conditioning.sequence() * conditioning.width()) {
            throw new IllegalArgumentException("text embeddings hold " + conditioning.hidden().length
                    + " values; expected " + rows + "x" + conditioning.sequence() + "x" + conditioning.width());
        }
        Key key = new Key(shape.inChannels(), shape.outChannels(), shape.height(), shape.width(),
                conditioning.sequence(), conditioning.width(), UnetConditioning.rowWidth(conditioning.textEmbeds(), rows),
                UnetConditioning.rowWidth(conditioning.timeIds(), rows));
        Lane lane = lanes.computeIfAbsent(key, Lane::new);
        return lane.join(shape, conditioning);
    }

    /** One job's step: handed in, then done with either its prediction rows written or an error. */
    private static final class Submission {
        final Member member;
        float[] input;
        double t;
        float[] prediction;
        long arrived;
        boolean done;
        RuntimeException error;

        Submission(Member member) {
            this.member = member;
        }
    }

    /** One job's seat in a lane. */
    private final class Member implements UnetStep {
        private final Lane lane;
        private final UnetRun.Shape shape;
        private final UnetConditioning conditioning;
        private final Submission submission = new Submission(this);
        private boolean closed;

        Member(Lane lane, UnetRun.Shape shape, UnetConditioning conditioning) {
            this.lane = lane;
            this.shape = shape;
            this.conditioning = conditioning;
        }

        int rows() {
            return shape.batch();
        }

        @Override
        public void predict(float[] modelInput, double t, float[] prediction) {
            if (closed) {
                throw new IllegalStateException("this job's UNet steps are closed");
            }
            if (modelInput.length < shape.inputSize() || prediction.length < shape.outputSize()) {
                throw new IllegalArgumentException("UNet step of " + modelInput.length + " input and "
                        + prediction.length + " output values; the job's batch takes " + shape.inputSize() + " and "
                        + shape.outputSize());
            }
            Submission s = submission;
            s.input = modelInput;
            s.t = t;
            s.prediction = prediction;
            s.done = false;
            s.error = null;
            try {
                lane.submit(s);
            } finally {
                s.input = null;
                s.prediction = null;
            }
            if (s.error != null) {
                throw s.error;
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                lane.leave();
            }
        }
    }

    /** The jobs of one {@link Key}: their waiting steps, and the batch tensors by row count. */
    private final class Lane {
        private final Key key;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        /** Steps handed in and not yet taken into a run, oldest first. */
        private final ArrayDeque<Submission> pending = new ArrayDeque<>();
        /** By row count, least recently used first. Touched by the running job only, or with no job in the lane. */
        private final LinkedHashMap<Integer, BatchTensors> tensors = new LinkedHashMap<>(8, 0.75f, true);
        /** Jobs seated. */
        private int open;
        private boolean running;
        /** When the last run ended: its jobs come back with their next steps just after. */
        private long lastEnd = System.nanoTime();

        Lane(Key key) {
            this.key = key;
        }

        Member join(UnetRun.Shape shape, UnetConditioning conditioning) {
            lock.lock();
            try {
                open++;
                return new Member(this, shape, conditioning);
            } finally {
                lock.unlock();
            }
        }

        void leave() {
            lock.lock();
            try {
                open--;
                // The others may have been waiting for this job's step.
                changed.signalAll();
                if (open == 0) {
                    // No job, so no run either: every run's jobs are seated until it ends.
                    tensors.values().forEach(BatchTensors::close);
                    tensors.clear();
                }
            } finally {
                lock.unlock();
            }
        }

        /** Hands in a step and returns when it is done, having run the batch it is in, or others, itself. */
        void submit(Submission s) {
            boolean interrupted = false;
            lock.lock();
            try {
                s.arrived = System.nanoTime();
                pending.addLast(s);
                changed.signalAll();
                while (!s.done) {
                    List<Submission> batch = takeReady();
                    if (batch != null) {
                        running = true;
                        lock.unlock();
                        try {
                            execute(batch);
                        } finally {
                            lock.lock();
                            running = false;
                            lastEnd = System.nanoTime();
                            batch.forEach(b -> b.done = true);
                            changed.signalAll();
                        }
                        continue;
                    }
                    try {
                        if (running) {
                            changed.await();
                        } else {
                            long wait = since(pending.peekFirst()) + maxWaitNanos - System.nanoTime();
                            if (wait > 0) {
                                changed.awaitNanos(wait);
                            }
                        }
                    } catch (InterruptedException e) {
                        // The step finishes regardless (cancellation acts between steps); keep the flag for the job.
                        interrupted = true;
                    }
                }
            } finally {
                lock.unlock();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * When a step's wait began: when it was handed in, or when the last run ended if later. A
         * step handed in during a run waits a little for the jobs of that run, so that the lane
         * keeps one batch of everyone rather than halves taking turns.
         */
        private long since(Submission s) {
            return s.arrived - lastEnd > 0 ? s.arrived : lastEnd;
        }

        /** The next batch when it may start (none running; full, everyone waiting or waited long enough), else null. */
        private List<Submission> takeReady() {
            if (running || pending.isEmpty()) {
                return null;
            }
            Submission head = pending.peekFirst();
            List<Submission> batch = new ArrayList<>(Math.min(settings.maxJobs(), pending.size()));
            for (Submission s : pending) {
                if (batch.size() == settings.maxJobs()) {
                    break;
                }
                if (!types.scalarTimestep() || Double.compare(s.t, head.t) == 0) {
                    batch.add(s);
                }
            }
            boolean full = batch.size() == settings.maxJobs();
            // One step per job at most is pending (a job waits for its step): nobody else can join.
            boolean everyone = pending.size() >= open;
            boolean due = System.nanoTime() - since(head) >= maxWaitNanos;
            if (!full && !everyone && !due) {
                return null;
            }
            for (Iterator<Submission> it = pending.iterator(); it.hasNext(); ) {
                Submission s = it.next();
                for (Submission taken : batch) {
                    if (taken == s) {
                        it.remove();
                        break;
                    }
                }
            }
            return batch;
        }

        /** Runs a batch; on failure, each of its jobs on its own, so that only the failing one fails. */
        private void execute(List<Submission> batch) {
            try {
                run(batch);
            } catch (RuntimeException e) {
                if (batch.size() == 1) {
                    batch.get(0).error = e;
                    return;
                }
                for (Submission s : batch) {
                    try {
                        run(List.of(s));
                    } catch (RuntimeException alone) {
                        s.error = alone;
                    }
                }
            } catch (Error e) {
                for (Submission s : batch) {
                    s.error = new IllegalStateException(unet.model().file() + ": UNet batch run failed: " + e, e);
                }
            }
        }

        /** One session run over the batch's rows, each job's in turn. */
        private void run(List<Submission> batch) {
            int rows = 0;
            for (Submission s : batch) {
                rows += s.member.rows();
            }
            BatchTensors t = tensors(rows);
            int inRow = key.inChannels() * key.height() * key.width();
            int outRow = key.outChannels() * key.height() * key.width();
            boolean seated = t.holds(batch);
            t.members.clear();
            int row = 0;
            for (Submission s : batch) {
                Member m = s.member;
                t.sample.write(s.input, 0, row * inRow, m.rows() * inRow);
                if (types.scalarTimestep()) {
                    t.timestep.put(0, s.t);
                } else {
                    for (int r = 0; r < m.rows(); r++) {
                        t.timestep.put(row + r, s.t);
                    }
                }
                if (!seated) {
                    t.seat(m.conditioning, row, m.rows());
                }
                row += m.rows();
            }
            batch.forEach(s -> t.members.add(s.member));
            try {
                runner.run(t.inputs, t.outputs);
            } catch (OrtException e) {
                throw new IllegalStateException(unet.model().file() + ": UNet run of " + batch.size() + " job(s) ("
                        + rows + " rows) failed: " + e.getMessage(), e);
            }
            row = 0;
            for (Submission s : batch) {
                t.out.read(row * outRow, s.prediction, 0, s.member.rows() * outRow);
                row += s.member.rows();
            }
            runs.increment();
            steps.add(batch.size());
            if (batch.size() > 1) {
                batchedRuns.increment();
            }
            largestBatch.accumulateAndGet(batch.size(), Math::max);
        }

        private BatchTensors tensors(int rows) {
            BatchTensors t = tensors.get(rows);
            if (t == null) {
                if (tensors.size() >= CACHED_SIZES) {
                    Iterator<BatchTensors> eldest = tensors.values().iterator();
                    eldest.next().close();
                    eldest.remove();
                }
                t = new BatchTensors(unet.sessions().environment(), key, rows);
                tensors.put(rows, t);
            }
            return t;
        }
    }

    /** The tensors of one batch size; the conditioning rows stay while the same jobs run in the same order. */
    private final class BatchTensors implements AutoCloseable {
        final DirectTensor sample;
        final DirectTensor timestep;
        final DirectTensor text;
        final DirectTensor out;
        final Optional<DirectTensor> textEmbeds;
        final Optional<DirectTensor> timeIds;
        final Map<String, OnnxTensor> inputs;
        final Map<String, OnnxTensor> outputs;
        /** Whose conditioning the rows hold, in order. */
        final List<Member> members = new ArrayList<>();
        private final List<DirectTensor> all = new ArrayList<>();

        BatchTensors(OrtEnvironment env, Key key, int rows) {
            try {
                sample = add(DirectTensor.allocate(env, types.sample(), rows, key.inChannels(), key.height(), key.width()));
                timestep = add(types.scalarTimestep() ? DirectTensor.allocate(env, types.timestep())
                        : DirectTensor.allocate(env, types.timestep(), rows));
                text = add(DirectTensor.allocate(env, types.text(), rows, key.sequence(), key.hidden()));
                out = add(DirectTensor.allocate(env, types.out(), rows, key.outChannels(), key.height(), key.width()));
                textEmbeds = types.textEmbeds().map(type -> add(DirectTensor.allocate(env, type, rows, key.textEmbeds())));
                timeIds = types.timeIds().map(type -> add(DirectTensor.allocate(env, type, rows, key.timeIds())));
            } catch (RuntimeException | Error e) { // ByteBuffer.allocateDirect's OutOfMemoryError too
                close();
                throw e;
            }
            Map<String, OnnxTensor> feeds = new HashMap<>(Map.of(Unet.SAMPLE, sample.tensor(), Unet.TIMESTEP,
                    timestep.tensor(), Unet.TEXT, text.tensor()));
            textEmbeds.ifPresent(t -> feeds.put(Unet.TEXT_EMBEDS, t.tensor()));
            timeIds.ifPresent(t -> feeds.put(Unet.TIME_IDS, t.tensor()));
            inputs = Map.copyOf(feeds);
            outputs = Map.of(Unet.OUT, out.tensor());
        }

        private DirectTensor add(DirectTensor tensor) {
            all.add(tensor);
            return tensor;
        }

        /** Whether the conditioning rows are already these jobs', in this order. */
        boolean holds(List<Submission> batch) {
            if (members.size() != batch.size()) {
                return false;
            }
            for (int i = 0; i < batch.size(); i++) {
                if (members.get(i) != batch.get(i).member) {
                    return false;
                }
            }
            return true;
        }

        /** Writes one job's conditioning into rows {@code [row .. row+rows)}. */
        void seat(UnetConditioning conditioning, int row, int rows) {
            int perText = conditioning.sequence() * conditioning.width();
            text.write(conditioning.hidden(), 0, row * perText, rows * perText);
            textEmbeds.ifPresent(t -> conditioning.textEmbeds().ifPresent(v -> t.write(v, 0, row * (v.length / rows),
                    v.length)));
            timeIds.ifPresent(t -> conditioning.timeIds().ifPresent(v -> t.write(v, 0, row * (v.length / rows),
                    v.length)));
        }

        @Override
        public void close() {
            all.forEach(DirectTensor::close);
        }
    }
}
