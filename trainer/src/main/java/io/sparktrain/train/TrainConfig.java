package io.sparktrain.train;

import io.sparktrain.nn.Corruption;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.util.Json;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Everything a training run needs besides the network and the data; immutable, defaults stated
 * once in {@link Builder}, validated in {@link Builder#build()} with messages naming the key.
 */
public final class TrainConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How the server applies the mean delta in {@link Mode#AVERAGE}. */
  public enum ServerUpdate {
    /** params += mean delta (DL4J-style parameter averaging, FedAvg with server lr 1). */
    PLAIN,
    /** -mean delta is a pseudo-gradient for the server optimizer (e.g. Adam: FedAdam). */
    OPTIMIZER
  }

  /** How sync mode runs its steps. */
  public enum SyncEngine {
    /** One Spark barrier stage per span of steps, a ring all-reduce among the tasks ({@link CollectiveEngine}). */
    COLLECTIVE,
    /** One Spark job per step; the driver sums the gradients and steps (any cluster, no barrier mode). */
    DRIVER,
    /**
     * SYNC only: the cached blocks are collected to the driver once and every step runs there, with
     * the same global mini-batches ({@link StepRows}) and partition-ordered sums: no Spark job per
     * step. For tables of a few MB.
     */
    LOCAL,
    /**
     * SYNC only: {@link #LOCAL} when the decoded training data is at most
     * {@link Defaults#LOCAL_ENGINE_MAX_BYTES}, else {@link #COLLECTIVE}; resolved by {@link #resolve}.
     */
    AUTO
  }

  /** {@link #epochs()} and {@link #batchSize()} value meaning "chosen from the data" ({@link #resolve}). */
  public static final int AUTO = 0;

  private final Mode mode;
  private final SyncEngine syncEngine;
  private final SyncEngine averageEngine;
  private final long collectiveTimeoutMillis;
  private final int spanRetries;
  private final int replicaCheckEvery;
  private final int epochs;
  private final long maxRounds;
  private final int batchSize;
  private final int localSteps;
  private final long seed;
  private final OptimizerSpec optimizer;
  private final OptimizerSpec localOptimizer;
  private final ServerUpdate serverUpdate;
  private final float l2;
  private final int aggregationDepth;
  private final int microBatch;
  private final int logEveryRounds;
  private final int validateEveryRounds;
  private final CheckpointSettings checkpoint;
  private final EarlyStoppingSettings earlyStopping;
  private final TaskHook taskHook;
  private final Teacher teacher;
  private final Corruption reconstruction;
  private final boolean standardize;
  private final boolean autoEpochs;
  private final double plateauTol;
  private final int plateauPatience;

  private TrainConfig(Builder b) {
    mode = b.mode;
    syncEngine = b.syncEngine;
    averageEngine = b.averageEngine;
    collectiveTimeoutMillis = b.collectiveTimeoutMillis;
    spanRetries = b.spanRetries;
    replicaCheckEvery = b.replicaCheckEvery;
    epochs = b.epochs;
    maxRounds = b.maxRounds;
    batchSize = b.batchSize;
    localSteps = b.localSteps;
    seed = b.seed;
    optimizer = b.optimizer;
    localOptimizer = b.localOptimizer != null ? b.localOptimizer : b.optimizer;
    serverUpdate = b.serverUpdate;
    l2 = b.l2;
    aggregationDepth = b.aggregationDepth;
    microBatch = b.microBatch;
    logEveryRounds = b.logEveryRounds;
    validateEveryRounds = b.validateEveryRounds;
    checkpoint = b.checkpoint;
    earlyStopping = b.earlyStopping;
    taskHook = b.taskHook;
    teacher = b.teacher;
    reconstruction = b.reconstruction;
    standardize = b.standardize;
    autoEpochs = b.autoEpochs;
    plateauTol = b.plateauTol;
    plateauPatience = b.plateauPatience;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Mode mode() { return mode; }
  /** The fault-injection hook of tests ({@link TaskHook}), or null. */
  public TaskHook taskHook() { return taskHook; }
  /** Knowledge distillation: the teacher and its loss ({@link Teacher}), or null. */
  public Teacher teacher() { return teacher; }
  /**
   * A reconstruction run (self-supervised pretraining, {@link Pretraining}): the network learns to
   * output each row's clean features from a copy corrupted by this noise, under its own (MSE) loss,
   * and the rows' labels are never read; null (the default) = supervised training on the labels.
   * The corruption of a mini-batch is drawn from its seed, as dropout is, so a retried task
   * corrupts identically.
   */
  public Corruption reconstruction() { return reconstruction; }
  /** SYNC: the engine that runs the steps. */
  public SyncEngine syncEngine() { return syncEngine; }
  /**
   * AVERAGE: DRIVER = one Spark job per round (broadcast, treeAggregate, the driver applies the
   * mean delta); COLLECTIVE = spans of rounds in barrier stages, the deltas all-reduced among the
   * tasks.
   */
  public SyncEngine averageEngine() { return averageEngine; }
  /** Collective engine: a peer that makes no progress for this long fails the span. */
  public long collectiveTimeoutMillis() { return collectiveTimeoutMillis; }
  /** Collective engine: how often a failed span is rerun from its start before the run fails. */
  public int spanRetries() { return spanRetries; }
  /** Collective engine: compare the replicas' parameter checksums every N steps (and at each span's end). */
  public int replicaCheckEvery() { return replicaCheckEvery; }
  /** Epochs; {@link #AUTO} (0) before {@link #resolve}, when chosen from the data. */
  public int epochs() { return epochs; }
  /**
   * Whether the features are standardized inside the model ({@link io.sparktrain.data.InputScaling}):
   * the means and variances of the training data, one distributed pass, applied to the training and
   * validation blocks, stored in checkpoints and returned in {@link TrainResult#inputScaling()}.
   * Library default false (the raw features reach the first layer, as before); the CLI's
   * data.standardize and the Estimators' standardization default to true.
   */
  public boolean standardize() { return standardize; }
  /**
   * Whether the epochs were chosen by {@link #resolve} (epochs {@link #AUTO}); then training also
   * stops on a training-loss plateau ({@link #plateauTol()}, {@link #plateauPatience()}).
   */
  public boolean autoEpochs() { return autoEpochs || epochs == AUTO; }
  /** Epochs auto: an epoch whose mean training loss is not below the best minus this does not count as progress. */
  public double plateauTol() { return plateauTol; }
  /** Epochs auto: stop after this many epochs in a row without progress (scikit-learn's n_iter_no_change). */
  public int plateauPatience() { return plateauPatience; }
  /** Stop after this many rounds in total (0 = no limit). */
  public long maxRounds() { return maxRounds; }
  /** SYNC: the global mini-batch; AVERAGE: each partition's local mini-batch. */
  public int batchSize() { return batchSize; }
  /** AVERAGE: local steps per round. */
  public int localSteps() { return localSteps; }
  public long seed() { return seed; }
  /** The optimizer on the driver (SYNC, and AVERAGE with {@link ServerUpdate#OPTIMIZER}). */
  public OptimizerSpec optimizer() { return optimizer; }
  /** AVERAGE: the optimizer of the local steps (default: {@link #optimizer()}). */
  public OptimizerSpec localOptimizer() { return localOptimizer; }
  public ServerUpdate serverUpdate() { return serverUpdate; }
  public float l2() { return l2; }
  public int aggregationDepth() { return aggregationDepth; }
  public int microBatch() { return microBatch; }
  public int logEveryRounds() { return logEveryRounds; }
  /** Also evaluate the validation data every N rounds (0 = after each epoch only). */
  public int validateEveryRounds() { return validateEveryRounds; }
  /** Where and how often the run checkpoints, and whether it resumes. */
  public CheckpointSettings checkpoint() { return checkpoint; }
  /** Early stopping (off unless a metric is set). */
  public EarlyStoppingSettings earlyStopping() { return earlyStopping; }

  /** Key-value view, for run summaries and checkpoints. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("standardize", standardize);
    m.put("mode", mode.name().toLowerCase(Locale.ROOT));
    m.put("sync_engine", syncEngine.name().toLowerCase(Locale.ROOT));
    m.put("average_engine", averageEngine.name().toLowerCase(Locale.ROOT));
    m.put("collective_timeout_ms", collectiveTimeoutMillis);
    m.put("span_retries", spanRetries);
    m.put("epochs", epochs);
    if (autoEpochs()) {
      m.put("epochs_auto", true);
      m.put("plateau_tol", plateauTol);
      m.put("plateau_patience", plateauPatience);
    }
    m.put("max_rounds", maxRounds);
    m.put("batch_size", batchSize);
    m.put("local_steps", localSteps);
    m.put("seed", seed);
    m.put("optimizer", optimizer.toString());
    m.put("local_optimizer", localOptimizer.toString());
    m.put("server_update", serverUpdate.name().toLowerCase(Locale.ROOT));
    m.put("l2", l2);
    m.put("aggregation_depth", aggregationDepth);
    m.put("micro_batch", microBatch);
    m.put("log_every_rounds", logEveryRounds);
    m.put("validate_every_rounds", validateEveryRounds);
    checkpoint.putInto(m);
    earlyStopping.putInto(m);
    if (teacher != null) {
      m.put("distillation", teacher.toMap());
    }
    if (reconstruction != null) {
      m.put("reconstruction", reconstruction.toString());
    }
    return m;
  }

  /** The configuration as a JSON object (for checkpoints and run summaries). */
  public String toJson() {
    return Json.object(toMap());
  }

  @Override
  public String toString() {
    return "TrainConfig" + toMap();
  }

  /**
   * This configuration with its automatic values chosen for training data of {@code rows} rows,
   * {@code cachedBytes} decoded bytes and {@code partitionRows} ({@link #AUTO} epochs and batch
   * size, {@link SyncEngine#AUTO}); explicit values are kept as they are.
   *
   * <ul>
   *   <li>batch size auto: {@code clamp(ceil(rows / 16), 16, 128)}: about 16 steps per epoch on a
   *       small table, 128 from 2048 rows up (as before);
   *   <li>epochs auto: enough epochs for {@link Defaults#AUTO_MIN_STEPS} optimizer steps, at least
   *       {@link Defaults#EPOCHS} and at most {@link Defaults#AUTO_MAX_EPOCHS}; training then also
   *       stops once the epoch's training loss has not improved by {@link #plateauTol()} for
   *       {@link #plateauPatience()} epochs (scikit-learn's MLP rule);
   *   <li>sync engine auto: {@link SyncEngine#LOCAL} up to {@link Defaults#LOCAL_ENGINE_MAX_BYTES}
   *       cached bytes and {@link Defaults#LOCAL_ENGINE_MAX_PARAMETERS} parameters (a driver step
   *       touches every parameter), else {@link SyncEngine#COLLECTIVE}.
   * </ul>
   */
  public TrainConfig resolve(long rows, long cachedBytes, long[] partitionRows, long parameters) {
    if (epochs != AUTO && batchSize != AUTO && syncEngine != SyncEngine.AUTO && averageEngine != SyncEngine.AUTO) {
      return this;
    }
    Builder b = toBuilder();
    if (batchSize == AUTO) {
      b.batchSize((int) Math.max(16, Math.min(Defaults.BATCH_SIZE, (rows + 15) / 16)));
    }
    if (syncEngine == SyncEngine.AUTO) {
      b.syncEngine(cachedBytes <= Defaults.LOCAL_ENGINE_MAX_BYTES && parameters <= Defaults.LOCAL_ENGINE_MAX_PARAMETERS
          ? SyncEngine.LOCAL : SyncEngine.COLLECTIVE);
    }
    if (averageEngine == SyncEngine.AUTO) {
      b.averageEngine(SyncEngine.COLLECTIVE);
    }
    if (epochs == AUTO) {
      long max = 0;
      for (long r : partitionRows) max = Math.max(max, r);
      long bs = b.batchSize;
      long steps = mode == Mode.SYNC ? Math.max(1, (rows + bs - 1) / bs)
          : Math.max(1, (max + bs * localSteps - 1) / (bs * localSteps)) * localSteps;
      long e = (Defaults.AUTO_MIN_STEPS + steps - 1) / steps;
      b.epochs((int) Math.max(Defaults.EPOCHS, Math.min(Defaults.AUTO_MAX_EPOCHS, e)));
      b.autoEpochs = true;
    }
    return b.build();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.taskHook = taskHook;
    b.teacher = teacher;
    b.reconstruction = reconstruction;
    b.mode = mode;
    b.syncEngine = syncEngine;
    b.averageEngine = averageEngine;
    b.collectiveTimeoutMillis = collectiveTimeoutMillis;
    b.spanRetries = spanRetries;
    b.replicaCheckEvery = replicaCheckEvery;
    b.epochs = epochs;
    b.maxRounds = maxRounds;
    b.batchSize = batchSize;
    b.localSteps = localSteps;
    b.seed = seed;
    b.optimizer = optimizer;
    b.localOptimizer = localOptimizer;
    b.serverUpdate = serverUpdate;
    b.l2 = l2;
    b.aggregationDepth = aggregationDepth;
    b.microBatch = microBatch;
    b.logEveryRounds = logEveryRounds;
    b.validateEveryRounds = validateEveryRounds;
    b.checkpoint = checkpoint;
    b.earlyStopping = earlyStopping;
    b.standardize = standardize;
    b.autoEpochs = autoEpochs;
    b.plateauTol = plateauTol;
    b.plateauPatience = plateauPatience;
    return b;
  }

  /**
   * Defaults follow Keras where it has one (batch 32 would be slow on Spark: 128 here); the library
   * keeps fixed epochs and batch and raw features unless told ({@link #AUTO}, {@link #standardize()}).
   */
  public static final class Builder {
    private TaskHook taskHook;
    private Teacher teacher;
    private Corruption reconstruction;
    private Mode mode = Mode.SYNC;
    private SyncEngine syncEngine = SyncEngine.COLLECTIVE;
    private SyncEngine averageEngine = SyncEngine.COLLECTIVE;
    private long collectiveTimeoutMillis = Math.round(Defaults.COLLECTIVE_TIMEOUT_S * 1000);
    private int spanRetries = Defaults.SPAN_RETRIES;
    private int replicaCheckEvery = 100;
    private int epochs = Defaults.EPOCHS;
    private long maxRounds = 0;
    private int batchSize = Defaults.BATCH_SIZE;
    private int localSteps = Defaults.LOCAL_STEPS;
    private long seed = Defaults.SEED;
    private OptimizerSpec optimizer = OptimizerSpec.adam().build();
    private OptimizerSpec localOptimizer;
    private ServerUpdate serverUpdate = ServerUpdate.PLAIN;
    private float l2 = 0f;
    private int aggregationDepth = Defaults.AGGREGATION_DEPTH;
    private int microBatch = LocalWork.DEFAULT_MICRO_BATCH;
    private int logEveryRounds = 0;
    private int validateEveryRounds = 0;
    private CheckpointSettings checkpoint = CheckpointSettings.none();
    private EarlyStoppingSettings earlyStopping = EarlyStoppingSettings.off();
    private boolean standardize = false;
    private boolean autoEpochs = false;
    private double plateauTol = Defaults.PLATEAU_TOL;
    private int plateauPatience = Defaults.PLATEAU_PATIENCE;

    public Builder mode(Mode v) { mode = v; return this; }
    public Builder syncEngine(SyncEngine v) { syncEngine = v; return this; }
    public Builder averageEngine(SyncEngine v) { averageEngine = v; return this; }
    public Builder collectiveTimeoutMillis(long v) { collectiveTimeoutMillis = v; return this; }
    public Builder spanRetries(int v) { spanRetries = v; return this; }
    public Builder replicaCheckEvery(int v) { replicaCheckEvery = v; return this; }
    /** Epochs, or {@link TrainConfig#AUTO} (0): chosen from the data, with plateau stopping ({@link #resolve}). */
    public Builder epochs(int v) { epochs = v; autoEpochs = false; return this; }
    /** Standardize the features inside the model ({@link TrainConfig#standardize()}). */
    public Builder standardize(boolean v) { standardize = v; return this; }
    /** Epochs auto: the training-loss plateau rule (scikit-learn's tol and n_iter_no_change). */
    public Builder plateau(double tol, int patience) { plateauTol = tol; plateauPatience = patience; return this; }
    public Builder maxRounds(long v) { maxRounds = v; return this; }
    /** The batch size, or {@link TrainConfig#AUTO} (0): chosen from the data ({@link #resolve}). */
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder localSteps(int v) { localSteps = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder optimizer(OptimizerSpec v) { optimizer = v; return this; }
    public Builder localOptimizer(OptimizerSpec v) { localOptimizer = v; return this; }
    public Builder serverUpdate(ServerUpdate v) { serverUpdate = v; return this; }
    public Builder l2(float v) { l2 = v; return this; }
    public Builder aggregationDepth(int v) { aggregationDepth = v; return this; }
    public Builder microBatch(int v) { microBatch = v; return this; }
    public Builder logEveryRounds(int v) { logEveryRounds = v; return this; }
    public Builder validateEveryRounds(int v) { validateEveryRounds = v; return this; }
    /** The whole checkpoint section; the setters below change one key of it. */
    public Builder checkpoint(CheckpointSettings v) { checkpoint = v; return this; }
    public Builder checkpointDir(String v) { checkpoint = checkpoint.withDir(v); return this; }
    public Builder checkpointEveryRounds(int v) { checkpoint = checkpoint.withEveryRounds(v); return this; }
    public Builder checkpointEveryEpochs(int v) { checkpoint = checkpoint.withEveryEpochs(v); return this; }
    public Builder checkpointKeep(int v) { checkpoint = checkpoint.withKeep(v); return this; }
    public Builder resume(boolean v) { checkpoint = checkpoint.withResume(v); return this; }
    /** Tests only: runs in each task before its work ({@link TaskHook}); not part of {@link #toMap}. */
    public Builder taskHook(TaskHook v) { taskHook = v; return this; }
    /** Distills from {@code v} (null: no distillation); see {@link Teacher}. */
    public Builder teacher(Teacher v) { teacher = v; return this; }
    /** A reconstruction run with this noise (null: supervised); see {@link TrainConfig#reconstruction()}. */
    public Builder reconstruction(Corruption v) { reconstruction = v; return this; }
    /** Early stopping on {@code metric} (val_loss, val_accuracy, val_f1_macro, val_rmse, ...). */
    public Builder earlyStopping(String metric, int patience, double minDelta) {
      earlyStopping = earlyStopping.withMetric(metric, patience, minDelta);
      return this;
    }

    /** The whole early-stopping section. */
    public Builder earlyStopping(EarlyStoppingSettings v) { earlyStopping = v; return this; }
    public Builder restoreBestWeights(boolean v) {
      earlyStopping = earlyStopping.withRestoreBestWeights(v);
      return this;
    }

    public TrainConfig build() {
      ConfigChecks.require(epochs >= 0, "training.epochs", ">= 1 (or 0 = auto)", epochs);
      ConfigChecks.require(plateauTol >= 0 && Double.isFinite(plateauTol), "training.plateau_tol", ">= 0", plateauTol);
      ConfigChecks.require(plateauPatience >= 1, "training.plateau_patience", ">= 1", plateauPatience);
      ConfigChecks.require(syncEngine != null, "training.sync_engine", "collective or driver", syncEngine);
      ConfigChecks.require(averageEngine != null, "training.average_engine", "collective or driver", averageEngine);
      ConfigChecks.require(collectiveTimeoutMillis >= 100, "training.collective_timeout_s", ">= 0.1",
          collectiveTimeoutMillis / 1e3);
      ConfigChecks.require(spanRetries >= 0, "training.span_retries", ">= 0", spanRetries);
      ConfigChecks.require(replicaCheckEvery >= 0, "training.replica_check_every", ">= 0 (0 = at span ends only)",
          replicaCheckEvery);
      ConfigChecks.require(maxRounds >= 0, "training.max_rounds", ">= 0 (0 = no limit)", maxRounds);
      ConfigChecks.require(batchSize >= 0, "training.batch_size", ">= 1 (or 0 = auto)", batchSize);
      ConfigChecks.require(averageEngine != SyncEngine.LOCAL, "training.average_engine", "collective, driver or auto",
          averageEngine);
      ConfigChecks.require(localSteps >= 1, "training.local_steps", ">= 1", localSteps);
      ConfigChecks.require(l2 >= 0 && Float.isFinite(l2), "training.l2", ">= 0", l2);
      ConfigChecks.require(aggregationDepth >= 1, "training.aggregation_depth", ">= 1", aggregationDepth);
      ConfigChecks.require(microBatch >= 1, "training.micro_batch", ">= 1", microBatch);
      ConfigChecks.require(logEveryRounds >= 0, "training.log_every_rounds", ">= 0", logEveryRounds);
      ConfigChecks.require(validateEveryRounds >= 0, "training.validate_every_rounds", ">= 0", validateEveryRounds);
      checkpoint.validate(false);
      earlyStopping.validate(true);
      ConfigChecks.require(reconstruction == null || teacher == null, "training.distillation",
          "null in a reconstruction run (pretraining reads no labels, distillation needs them)", teacher);
      ConfigChecks.require(reconstruction == null || !earlyStopping.enabled(), "training.early_stopping",
          "off in a reconstruction run (it takes no validation data)", earlyStopping.metric());
      return new TrainConfig(this);
    }
  }
}
