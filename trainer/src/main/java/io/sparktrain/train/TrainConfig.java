package io.sparktrain.train;

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
    DRIVER
  }

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
  }

  public static Builder builder() {
    return new Builder();
  }

  public Mode mode() { return mode; }
  /** The fault-injection hook of tests ({@link TaskHook}), or null. */
  public TaskHook taskHook() { return taskHook; }
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
  public int epochs() { return epochs; }
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
    m.put("mode", mode.name().toLowerCase(Locale.ROOT));
    m.put("sync_engine", syncEngine.name().toLowerCase(Locale.ROOT));
    m.put("average_engine", averageEngine.name().toLowerCase(Locale.ROOT));
    m.put("collective_timeout_ms", collectiveTimeoutMillis);
    m.put("span_retries", spanRetries);
    m.put("epochs", epochs);
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

  /** Defaults follow Keras where it has one (batch 32 would be slow on Spark: 128 here). */
  public static final class Builder {
    private TaskHook taskHook;
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

    public Builder mode(Mode v) { mode = v; return this; }
    public Builder syncEngine(SyncEngine v) { syncEngine = v; return this; }
    public Builder averageEngine(SyncEngine v) { averageEngine = v; return this; }
    public Builder collectiveTimeoutMillis(long v) { collectiveTimeoutMillis = v; return this; }
    public Builder spanRetries(int v) { spanRetries = v; return this; }
    public Builder replicaCheckEvery(int v) { replicaCheckEvery = v; return this; }
    public Builder epochs(int v) { epochs = v; return this; }
    public Builder maxRounds(long v) { maxRounds = v; return this; }
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
      ConfigChecks.require(epochs >= 1, "training.epochs", ">= 1", epochs);
      ConfigChecks.require(syncEngine != null, "training.sync_engine", "collective or driver", syncEngine);
      ConfigChecks.require(averageEngine != null, "training.average_engine", "collective or driver", averageEngine);
      ConfigChecks.require(collectiveTimeoutMillis >= 100, "training.collective_timeout_s", ">= 0.1",
          collectiveTimeoutMillis / 1e3);
      ConfigChecks.require(spanRetries >= 0, "training.span_retries", ">= 0", spanRetries);
      ConfigChecks.require(replicaCheckEvery >= 0, "training.replica_check_every", ">= 0 (0 = at span ends only)",
          replicaCheckEvery);
      ConfigChecks.require(maxRounds >= 0, "training.max_rounds", ">= 0 (0 = no limit)", maxRounds);
      ConfigChecks.require(batchSize >= 1, "training.batch_size", ">= 1", batchSize);
      ConfigChecks.require(localSteps >= 1, "training.local_steps", ">= 1", localSteps);
      ConfigChecks.require(l2 >= 0 && Float.isFinite(l2), "training.l2", ">= 0", l2);
      ConfigChecks.require(aggregationDepth >= 1, "training.aggregation_depth", ">= 1", aggregationDepth);
      ConfigChecks.require(microBatch >= 1, "training.micro_batch", ">= 1", microBatch);
      ConfigChecks.require(logEveryRounds >= 0, "training.log_every_rounds", ">= 0", logEveryRounds);
      ConfigChecks.require(validateEveryRounds >= 0, "training.validate_every_rounds", ">= 0", validateEveryRounds);
      checkpoint.validate(false);
      earlyStopping.validate(true);
      return new TrainConfig(this);
    }
  }
}
