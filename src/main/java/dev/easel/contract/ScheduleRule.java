package dev.easel.contract;

import java.util.Optional;

/**
 * Whether the job's model's scheduler can run the job's schedule (LCM past its
 * original_inference_steps, PNDM with Runge–Kutta under 4 steps or starting late cannot), so that
 * the intake refuses what the engine would refuse when the job runs.
 */
@FunctionalInterface
public interface ScheduleRule {

    /**
     * @param scheduler the job's scheduler, else the model's own
     * @param steps     the run's steps (the job's, else the model's)
     * @param eta       the job's eta
     * @param lateStart why the run starts after the first step, if it does
     * @return the violation, naming the field, if the schedule cannot run
     */
    Optional<Violation> check(Optional<String> scheduler, int steps, double eta, Optional<String> lateStart);
}
