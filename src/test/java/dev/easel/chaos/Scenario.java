package dev.easel.chaos;

/** One kind of fault, run against the live stack and worker; what it sent and saw goes into its {@link Outcome}. */
interface Scenario {

    String name();

    /** Jobs the worker should run at once during the scenario ({@code easel.worker.concurrency}). */
    default int concurrency(Settings settings) {
        return 1;
    }

    void run(Chaos chaos, Outcome outcome) throws Exception;
}
