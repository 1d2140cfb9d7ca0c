package io.sparktrain.train;

import java.io.Serializable;

/**
 * Runs in each task before its work in a round (a partition's gradient or local steps, a silo's
 * update, a collective span's step): a fault-injection point for tests, passed in through
 * {@link TrainConfig.Builder#taskHook} or {@code FederatedConfig.Builder#taskHook}. It travels with
 * the task, so it works on a cluster too; null (the default) in production.
 */
@FunctionalInterface
public interface TaskHook extends Serializable {
  /** {@code round} is 0-based in the run; {@code attempt} is Spark's attempt number of the task. */
  void beforeWork(long round, int partition, int attempt);

  /**
   * Runs on each replica of the collective engine after its optimizer step of (1-based) round
   * {@code round}, and may alter {@code params}: a divergent replica, for tests of the replica
   * checksums. Does nothing by default.
   */
  default void afterStep(int rank, long round, float[] params) {
  }

  /** What {@link #afterEachStep} runs. */
  @FunctionalInterface
  interface StepFault extends Serializable {
    void afterStep(int rank, long round, float[] params);
  }

  /** A hook that only runs {@code fault} after each collective step. */
  static TaskHook afterEachStep(StepFault fault) {
    return new TaskHook() {
      private static final long serialVersionUID = 1L;

      @Override
      public void beforeWork(long round, int partition, int attempt) {
      }

      @Override
      public void afterStep(int rank, long round, float[] params) {
        fault.afterStep(rank, round, params);
      }
    };
  }
}
