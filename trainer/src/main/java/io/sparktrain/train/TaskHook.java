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
}
