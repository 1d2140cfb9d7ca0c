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
  /** Epochs auto: at least this many optimizer steps (sync rounds; average: local steps per partition). */
  public static final int AUTO_MIN_STEPS = 1000;
  /** Epochs auto: at most this many epochs (scikit-learn's MLP max_iter). */
  public static final int AUTO_MAX_EPOCHS = 200;
  /** Epochs auto: the training-loss plateau rule, scikit-learn's MLP tol and n_iter_no_change. */
  public static final double PLATEAU_TOL = 1e-4;
  public static final int PLATEAU_PATIENCE = 10;
  /** Sync engine auto: the local engine for decoded training data up to this size. */
  public static final long LOCAL_ENGINE_MAX_BYTES = 16L << 20;
  /**
   * The largest model the automatic sync engine runs on the driver: each local step merges, checks
   * and steps whole parameter vectors on one thread, where the collective engine's tasks step their
   * replicas in parallel and, on sparse inputs, only the touched rows (a hashed-text first layer).
   */
  public static final long LOCAL_ENGINE_MAX_PARAMETERS = 1L << 22;
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
