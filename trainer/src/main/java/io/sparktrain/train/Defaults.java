package io.sparktrain.train;

/**
 * The defaults of a run's settings, written once: the builders of {@link TrainConfig} and of the
 * federated config start from them, and the job config schema (the CLI's {@code info --schema})
 * shows them. Checkpoint and early-stopping defaults are in {@link CheckpointSettings} and
 * {@link EarlyStoppingSettings}.
 */
public final class Defaults {
  /** The seed of initialisation, shuffling, dropout and data splits. */
  public static final long SEED = 42;
  public static final int EPOCHS = 10;
  public static final int BATCH_SIZE = 128;
  public static final int LOCAL_STEPS = 1;
  /** treeAggregate depth of data-parallel rounds. */
  public static final int AGGREGATION_DEPTH = 2;
  public static final int SPAN_RETRIES = 2;
  public static final double COLLECTIVE_TIMEOUT_S = 60.0;
  /** Federated: communication rounds, C, E, B, evaluation interval, aggregation depth. */
  public static final int FEDERATED_ROUNDS = 100;
  public static final double CLIENT_FRACTION = 0.1;
  public static final int LOCAL_EPOCHS = 1;
  public static final int LOCAL_BATCH = 10;
  public static final int EVAL_EVERY_ROUNDS = 10;
  public static final int FEDERATED_AGGREGATION_DEPTH = 1;

  private Defaults() {
  }
}
