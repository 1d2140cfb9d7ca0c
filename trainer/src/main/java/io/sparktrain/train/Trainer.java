package io.sparktrain.train;

import io.sparktrain.data.Block;
import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.linalg.Blas;
import io.sparktrain.linalg.RowSet;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.optim.OptimizerState;
import io.sparktrain.util.Seeds;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The round loop: the one place where training happens on Spark.
 *
 * <p>Each round: broadcast the parameters; every partition runs its {@link LocalWork} on its cached
 * {@link Block} and returns one model-sized {@link Update}; a tree aggregation in partition order
 * ({@link OrderedAggregate}) sums the updates; the driver forms the weighted mean and takes a
 * server step; the broadcast is destroyed. What a partition does is a function of (seed, epoch,
 * round, partition) only, so a retried or speculative task returns the identical update.
 *
 * <ul>
 *   <li>{@link Mode#SYNC}: round r of epoch e is the global mini-batch of positions
 *       [rB, (r+1)B) of a seeded permutation of all N rows ({@link IndexPermutation}); each
 *       partition sums the gradient of its rows in that batch, so the batch, and hence the step,
 *       does not depend on how the rows are partitioned. One optimizer step per round.
 *   <li>{@link Mode#AVERAGE}: each partition walks its own permutation of its rows (seed, epoch,
 *       partition), taking a proportional slice per round and local mini-batch steps over it; the
 *       server applies the example-weighted mean delta directly or through its optimizer.
 * </ul>
 * Sync mode runs its steps on one of three engines: {@link CollectiveEngine} (barrier stages),
 * one Spark job per step (driver), or, for small tables, on the driver itself over the collected
 * blocks ({@link TrainConfig.SyncEngine#LOCAL}; the same mini-batches and sums, no job per step).
 *
 * <p>Before round 1, {@link TrainConfig#resolve} fixes the automatic settings (epochs, batch size,
 * engine) from the data, and with {@link TrainConfig#standardize()} the feature means and variances
 * are computed in one pass ({@link TrainingData#fitScaling}) and the training and validation blocks are
 * scaled once into a second cached copy; the scaling is stored in checkpoints (a resumed run uses
 * the checkpoint's) and returned in {@link TrainResult#inputScaling()}.
 *
 * <p>Checkpoints, validation, early stopping and listeners hang off the same loop; what it shares with
 * federated training (listeners, job descriptions, the broadcast, the divergence check, restore-best,
 * the checkpoint store) is in {@link RoundLoop}.
 */
public final class Trainer {
  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  private final Network network;
  private final TrainConfig requested;
  /** The configuration of the current or last fit: {@link #requested}, resolved for its data. */
  private TrainConfig config;
  /** The current fit's input scaling, or null. */
  private InputScaling scaling;
  /** The training data's categorical columns (names, buckets, dims), as checkpoints record them; "" when none. */
  private String categorical = "";
  private final List<TrainingListener> listeners = new ArrayList<>();
  private Map<String, Object> collectiveProfile;
  private Traffic traffic = new Traffic();
  /** First kernels at least this large on sparse features get a hint to use lazy_adam. */
  static final int LAZY_HINT_SIZE = 1 << 20;
  private MemoryPlan memoryPlan;

  public Trainer(Network network, TrainConfig config) {
    this.network = network;
    this.requested = config;
    this.config = config;
  }

  public Trainer addListener(TrainingListener l) {
    listeners.add(l);
    return this;
  }

  /**
   * Where the last fit's collective steps spent their time (per step: compute, all-reduce, of it
   * waiting, optimizer; per span: setup and overhead; bytes sent per step), or null when the last
   * fit did not use the collective engine.
   */
  public Map<String, Object> collectiveProfile() {
    return collectiveProfile;
  }

  /** The last fit's memory plan ({@link MemoryPlan}), or null before a fit. */
  public MemoryPlan memoryPlan() {
    return memoryPlan;
  }

  public Network network() {
    return network;
  }

  /**
   * What the last fit's partitions uploaded per round on the driver engine (row-sparse where that
   * was smaller, {@link Update#uploadBytes()}), beside what dense uploads would have taken; null
   * when it ran no driver-engine round.
   */
  public Map<String, Object> traffic() {
    return traffic.rounds == 0 ? null : traffic.toMap();
  }

  /** Upload bytes per round of the driver engine. */
  static final class Traffic {
    long rounds;
    long uploadBytes;
    long denseBytes;
    long sparseRounds;

    void add(Update u, int paramCount) {
      rounds++;
      uploadBytes += u.uploadBytes();
      denseBytes += 4L * paramCount * u.parts();
      if (u.touched() != null) {
        sparseRounds++;
      }
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("rounds", rounds);
      m.put("row_sparse_rounds", sparseRounds);
      m.put("upload_bytes_per_round", uploadBytes / (double) rounds);
      m.put("dense_upload_bytes_per_round", denseBytes / (double) rounds);
      return m;
    }
  }

  /** The configuration: as given, or, after a fit, resolved for its data ({@link TrainConfig#resolve}). */
  public TrainConfig config() {
    return config;
  }

  /** Rounds in one epoch for data of {@code partitionRows}. */
  public long roundsPerEpoch(long[] partitionRows) {
    long n = 0;
    long max = 0;
    for (long r : partitionRows) {
      n += r;
      max = Math.max(max, r);
    }
    TrainConfig config = this.config.resolve(n, Long.MAX_VALUE, partitionRows, network.layout().size());
    if (config.mode() == Mode.SYNC) {
      return Math.max(1, ceilDiv(n, config.batchSize()));
    }
    return Math.max(1, ceilDiv(max, (long) config.batchSize() * config.localSteps()));
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  /** Checks that the data fits the network: feature count, label width and classes. */
  public void checkData(TrainingData data, String what) {
    checkData(network, data, what);
  }

  /**
   * Checks that {@code data} fits {@code network}: feature count, categorical columns (one per
   * embedding table, in order, each of its table's buckets, dim and combiner), label width and classes.
   */
  public static void checkData(Network network, TrainingData data, String what) {
    if (data.numFeatures() != network.inputs()) {
      throw new InvalidInputException(what + " features: expected " + network.inputs()
          + " values per row (the input width of layer 0), found " + data.numFeatures());
    }
    List<CategoricalColumn> cats = data.spec().categorical();
    if (cats.size() != network.categorical()) {
      throw new InvalidInputException(what + " categorical columns: expected " + network.categorical() + " (one per"
          + " embedding table of " + network + "), found " + cats.size() + " " + cats);
    }
    for (int c = 0; c < cats.size(); c++) {
      if (!cats.get(c).embedding().equals(network.embedding(c))) {
        throw new InvalidInputException(what + " categorical column '" + cats.get(c).column() + "' (column " + c
            + "): expected the network's table " + c + ", " + network.embedding(c) + ", found "
            + cats.get(c).embedding());
      }
    }
    if (!data.labeled()) {
      throw new InvalidInputException(what + ": expected a label column (" + network.labelWidth() + " value(s) per"
          + " row for loss " + network.loss() + "), found data decoded without labels (InputSpec.unlabeled(), the"
          + " unlabeled rows of pretraining)");
    }
    if (data.labelWidth() != network.labelWidth()) {
      throw new InvalidInputException(what + " label column '" + data.spec().labelCol()
          + "': expected " + network.labelWidth() + " value(s) per row for loss " + network.loss() + " with "
          + network.outputs() + " outputs, found " + data.labelWidth());
    }
    if (data.spec().task() == InputSpec.Task.CLASSIFICATION) {
      int k = data.numClasses();
      Loss.Kind loss = network.loss().kind();
      if (loss == Loss.Kind.SOFTMAX_CROSS_ENTROPY && k > network.outputs()) {
        throw new InvalidInputException(what + " label column '" + data.spec().labelCol()
            + "': expected class indices 0.." + (network.outputs() - 1) + " (the output layer has "
            + network.outputs() + " units), found " + k + " classes");
      }
      if (loss == Loss.Kind.BINARY_CROSS_ENTROPY && network.outputs() == 1 && k > 2) {
        throw new InvalidInputException(what + " label column '" + data.spec().labelCol()
            + "': expected 0/1 labels for binary_cross_entropy, found " + k + " classes");
      }
    }
  }

  /**
   * Checks that {@code data} can be reconstructed by {@code autoencoder} (a reconstruction run,
   * {@link TrainConfig#reconstruction()}): dense numeric features of the autoencoder's input width.
   * The labels, if the data has any, are not looked at.
   */
  public static void checkReconstructionData(Network autoencoder, TrainingData data, String what) {
    List<CategoricalColumn> cats = data.spec().categorical();
    if (!cats.isEmpty()) {
      throw new InvalidInputException("training.pretrain (" + what + "): expected numeric features only, found"
          + " categorical columns " + cats + " (embedding tables are not pretrained; leave training.pretrain null)");
    }
    if (data.sparsePartitions() > 0) {
      throw new InvalidInputException("training.pretrain (" + what + "): expected dense feature vectors, found"
          + " sparse (CSR) vectors in " + data.sparsePartitions() + " of " + data.numPartitions() + " partitions;"
          + " reconstructing all " + data.numFeatures() + " inputs of every row is not supported for sparse data");
    }
    if (data.numFeatures() != autoencoder.inputs() || autoencoder.outputs() != autoencoder.inputs()) {
      throw new InvalidInputException("training.pretrain (" + what + ") features: expected " + autoencoder.inputs()
          + " values per row (the input and output width of " + autoencoder + "), found " + data.numFeatures());
    }
  }

  /** Trains from fresh parameters (seeded), or from a checkpoint when resuming. */
  public TrainResult fit(TrainingData train, TrainingData validation) {
    return fit(train, validation, null);
  }

  /**
   * Trains on {@code train}; {@code validation} (may be null) is evaluated after each epoch;
   * {@code initialParams} (may be null) replaces the seeded initialisation.
   */
  public TrainResult fit(TrainingData train, TrainingData validation, float[] initialParams) {
    return fit(train, validation, initialParams, null);
  }

  /**
   * As {@link #fit(TrainingData, TrainingData, float[])}; with {@link TrainConfig#standardize()},
   * {@code inputScaling} (may be null) is the scaling to apply instead of one fitted on {@code train}:
   * pretraining's ({@link Pretraining.Result#inputScaling()}), so that the pretrained hidden layers
   * see the features as they learned them. A resumed checkpoint's scaling still comes first (it is
   * the one its parameters were trained with). In a reconstruction run ({@link TrainConfig#reconstruction()})
   * {@code train} may be unlabeled ({@link io.sparktrain.data.InputSpec#unlabeled()}), its labels are
   * never read, and there is no validation data.
   */
  public TrainResult fit(TrainingData train, TrainingData validation, float[] initialParams,
      InputScaling inputScaling) {
    traffic = new Traffic();
    if (requested.reconstruction() != null) {
      checkReconstructionData(network, train, "training data");
      if (validation != null) {
        throw new IllegalArgumentException("reconstruction run: expected no validation data (pretraining has no"
            + " labels to validate), found " + validation.rows() + " rows");
      }
    } else {
      checkData(train, "training data");
    }
    if (inputScaling != null && !(requested.standardize() && network.inputs() > 0)) {
      throw new IllegalArgumentException("input scaling: expected none for a run that does not standardize"
          + " (TrainConfig.standardize false), found " + inputScaling.size() + " features' scaling");
    }
    categorical = train.spec().categorical().isEmpty() ? "" : train.spec().categorical().toString();
    if (validation != null) {
      checkData(validation, "validation data");
    }
    if (requested.teacher() != null) {
      requested.teacher().check(network);
    }
    if (requested.earlyStopping().metric() != null && validation == null) {
      throw new IllegalArgumentException("early_stopping.metric: " + requested.earlyStopping().metric()
          + " needs validation data (a validation DataFrame or a validation fraction), found none");
    }
    config = requested.resolve(train.rows(), train.cachedBytes(), train.partitionRows(), network.layout().size());
    if (config != requested) {
      LOG.info("sparktrain: automatic settings for {} rows ({} bytes cached): epochs {}{}, batch_size {},"
          + " sync_engine {}", train.rows(), train.cachedBytes(), config.epochs(), config.autoEpochs()
          ? String.format(Locale.ROOT, " (at least %d steps, at most %d epochs; stops when the training loss"
          + " improves by less than %g for %d epochs)", Defaults.AUTO_MIN_STEPS, Defaults.AUTO_MAX_EPOCHS,
          config.plateauTol(), config.plateauPatience()) : "", config.batchSize(),
          config.syncEngine().name().toLowerCase(Locale.ROOT));
    }
    memoryPlan = MemoryPlan.checkTrainer(network, config, train, validation); // before anything model-sized
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(train.blocks().context());
    CheckpointStore store = RoundLoop.openStore(config.checkpoint().dir(), jsc.hadoopConfiguration(),
        config.checkpoint().keep());
    Optional<Checkpoint> resumed = Optional.empty();
    if (config.checkpoint().resume()) {
      resumed = RoundLoop.resumePoint(store, config.checkpoint().dir(), this::misfit, LOG, "sparktrain");
    }
    scaling = null;
    if (!standardizes()) {
      return distilled(train, validation, initialParams, jsc, store, resumed);
    }
    String stored = resumed.map(c -> c.extras().get(SCALING_KEY)).orElse(null);
    long s0 = System.nanoTime();
    scaling = stored != null ? InputScaling.decode(stored) : inputScaling != null ? inputScaling
        : train.fitScaling(config.aggregationDepth());
    LOG.info("sparktrain: standardizing {} features{} ({}; {} s)", scaling.size(), scaling.scaleOnly()
        ? " by their standard deviations only (sparse features are not centred)" : " to mean 0 and variance 1",
        stored != null ? "the resumed checkpoint's means and variances" : inputScaling != null
        ? "the given means and variances (pretraining's)" : "means and variances of the training data",
        String.format(Locale.ROOT, "%.2f", (System.nanoTime() - s0) / 1e9));
    TrainingData scaledTrain = train.scaled(scaling);
    TrainingData scaledValidation = validation == null ? null : validation.scaled(scaling);
    try {
      return distilled(scaledTrain, scaledValidation, initialParams, jsc, store, resumed);
    } finally {
      scaledTrain.unpersist();
      if (scaledValidation != null) {
        scaledValidation.unpersist();
      }
    }
  }

  /**
   * {@link #run}, with the configuration's teacher (if any) folded onto this fit's input scaling
   * ({@link Teacher#onInputs}) and broadcast for the fit's duration.
   */
  private TrainResult distilled(TrainingData train, TrainingData validation, float[] initialParams,
      JavaSparkContext jsc, CheckpointStore store, Optional<Checkpoint> resumed) {
    Teacher teacher = config.teacher();
    if (teacher == null) {
      return run(train, validation, initialParams, jsc, store, resumed);
    }
    Teacher shared = teacher.onInputs(scaling).broadcast(jsc);
    LOG.info("sparktrain: distilling from {}", shared);
    config = config.toBuilder().teacher(shared).build();
    try {
      return run(train, validation, initialParams, jsc, store, resumed);
    } finally {
      shared.destroy();
      // config() keeps the teacher as given: the folded one is this fit's alone.
      config = config.toBuilder().teacher(teacher).build();
    }
  }

  private TrainResult run(TrainingData train, TrainingData validation, float[] initialParams, JavaSparkContext jsc,
      CheckpointStore store, Optional<Checkpoint> resumed) {
    long[] partRows = train.partitionRows();
    long[] offsets = new long[partRows.length];
    for (int p = 1; p < partRows.length; p++) offsets[p] = offsets[p - 1] + partRows[p - 1];
    long n = train.rows();
    long roundsPerEpoch = roundsPerEpoch(partRows);
    int paramCount = network.layout().size();

    float[] params = initialParams != null ? initialParams.clone() : network.initParameters(config.seed());
    network.layout().check(params, "initial parameters");
    boolean serverOptimizer = config.mode() == Mode.SYNC || config.serverUpdate() == TrainConfig.ServerUpdate.OPTIMIZER;
    Optimizer server = serverOptimizer ? config.optimizer().create(paramCount) : null;

    EarlyStopping stopping = new EarlyStopping(config.earlyStopping());
    plateauBest = Double.POSITIVE_INFINITY;
    plateauBad = 0;
    List<Block> localBlocks = null;
    List<LocalWork> localWork = null;
    if (config.mode() == Mode.SYNC && config.syncEngine() == TrainConfig.SyncEngine.LOCAL) {
      localBlocks = train.blocks().collect();
      localWork = new ArrayList<>();
      for (int p = 0; p < localBlocks.size(); p++) {
        localWork.add(new LocalWork(network, config.l2(), config.teacher(), config.reconstruction()));
      }
    }
    int startEpoch = 0;
    long startRound = 0;
    long round = 0;
    if (config.checkpoint().resume()) {
      Optional<Checkpoint> latest = resumed;
      if (latest.isPresent()) {
        Checkpoint c = latest.get();
        float[] p = c.params();
        network.layout().check(p, "checkpoint " + config.checkpoint().dir() + " round " + c.round() + " parameters");
        params = p;
        if (server != null && c.optimizerState() != null) {
          server.restore(c.optimizerState());
        }
        startEpoch = c.epoch();
        startRound = c.roundInEpoch();
        round = c.round();
        stopping.restore(c.extras(), c.bestParams());
        String pl = c.extras().get(PLATEAU_KEY);
        if (pl != null) {
          String[] parts = pl.split(",");
          plateauBest = Double.parseDouble(parts[0]);
          plateauBad = Integer.parseInt(parts[1]);
        }
        LOG.info("sparktrain: resumed from checkpoint round {} (epoch {}, round {} of the epoch) in {}",
            round, startEpoch, startRound, config.checkpoint().dir());
      } else {
        LOG.info("sparktrain: no checkpoint in {}; starting fresh", config.checkpoint().dir());
      }
    }

    int firstKernel = network.layout().kernel(0).size();
    if (train.sparsePartitions() > 0 && firstKernel >= LAZY_HINT_SIZE
        && (config.mode() == Mode.SYNC ? config.optimizer() : config.localOptimizer()).kind()
            != OptimizerSpec.Kind.LAZY_ADAM) {
      LOG.info("sparktrain: sparse features into a first layer of {} weights: every {} step updates all of them;"
          + " optimizer lazy_adam steps only the rows a batch touches (README: sparse updates)", firstKernel,
          config.mode() == Mode.SYNC ? config.optimizer().kind() : config.localOptimizer().kind());
    }
    LOG.info("sparktrain: {} on {} rows in {} partitions, mode {}, {} rounds per epoch, {} epochs, {}",
        network, n, partRows.length, config.mode().name().toLowerCase(Locale.ROOT), roundsPerEpoch,
        config.epochs(), Blas.get().describe());
    long t0 = System.nanoTime();
    long[] validationNanosRef = {0}; // also read by the collective engine's step callback
    String stopReason = "epochs";
    int epochsDone = startEpoch;
    Map<String, Double> lastValidation = Collections.emptyMap();
    long totalRoundsPlanned = config.epochs() * roundsPerEpoch;
    String lastCheckpoint = null;
    RoundLoop loop = new RoundLoop(jsc, RoundLoop.Kind.TRAINER, LOG, config.logEveryRounds(), listeners);
    boolean collective = config.mode() == Mode.SYNC ? config.syncEngine() == TrainConfig.SyncEngine.COLLECTIVE
        : config.averageEngine() == TrainConfig.SyncEngine.COLLECTIVE;
    CollectiveEngine engine = null;
    try (loop) { // the loop puts the job description back, also when the engine refuses to start
      if (collective) {
        engine = new CollectiveEngine(train.blocks(), offsets, n, roundsPerEpoch, network, config)
            .sparseInputs(train.sparsePartitions() > 0 || network.categorical() > 0);
      }
      outer:
      for (int epoch = startEpoch; epoch < config.epochs(); epoch++) {
        long epochStart = System.nanoTime();
        double lossSum = 0;
        double weightSum = 0;
        long rowsSeen = 0;
        long r = epoch == startEpoch ? startRound : 0;
        while (r < roundsPerEpoch) {
          if (config.maxRounds() > 0 && round >= config.maxRounds()) {
            stopReason = "max_rounds";
            break outer;
          }
          // A span runs to the next boundary: epoch end, validation, checkpoint or max_rounds.
          long end = spanEnd(r, round, roundsPerEpoch, validation != null, store != null);
          double lastLoss;
          long lastRows;
          double lastSecs;
          if (engine != null) {
            loop.describe(CollectiveEngine.description(config.mode(), epoch, config.epochs(), r, end));
            int e = epoch;
            long base = round - r;
            CollectiveEngine.Outcome o = engine.run(epoch, r, end, round, params, server, (rd, loss, rows, secs) -> {
              long now = System.nanoTime();
              RoundEvent ev = new RoundEvent(e + 1, config.epochs(), rd, rd - base, roundsPerEpoch, loss, rows, secs,
                  (now - t0) / 1e9, (now - t0 - validationNanosRef[0]) / 1e9, Collections.emptyMap());
              loop.onRound(ev);
            });
            if (o.divergedRound > 0) {
              throw RoundLoop.diverged("round " + o.divergedRound, o.divergedWhat, divergedAdvice(lastCheckpoint));
            }
            lossSum += o.lossSum;
            weightSum += o.weightSum;
            rowsSeen += o.rows;
            round += end - r;
            lastLoss = o.lastLoss;
            lastRows = o.lastRows;
            lastSecs = o.lastSeconds;
          } else {
            lastLoss = Double.NaN;
            lastRows = 0;
            lastSecs = 0;
            for (long q = r; q < end; q++) {
              long roundStart = System.nanoTime();
              loop.describe(String.format(Locale.ROOT, "sparktrain epoch %d/%d round %d/%d",
                  epoch + 1, config.epochs(), q + 1, roundsPerEpoch));
              Update u;
              if (localBlocks != null) {
                u = localRound(localBlocks, localWork, params, config, offsets, n, epoch, q);
              } else {
                try (RoundLoop.ParamsBroadcast bc = loop.broadcast(params)) {
                  u = runRound(train.blocks(), bc.get(), network, config, offsets, n, epoch, q, roundsPerEpoch, round);
                }
              }
              round++;
              lastLoss = serverStep(params, u, server, round, lastCheckpoint);
              lossSum += u.lossSum();
              weightSum += u.weight();
              rowsSeen += u.rows();
              lastRows = u.rows();
              lastSecs = (System.nanoTime() - roundStart) / 1e9;
              if (q + 1 < end) {
                long now = System.nanoTime();
                RoundEvent ev = new RoundEvent(epoch + 1, config.epochs(), round, q + 1, roundsPerEpoch, lastLoss,
                    lastRows, lastSecs, (now - t0) / 1e9, (now - t0 - validationNanosRef[0]) / 1e9,
                    Collections.emptyMap());
                loop.onRound(ev);
              }
            }
          }
          r = end;
          // The boundary: validation, the span's last round event, then the checkpoint.
          Map<String, Double> roundVal = Collections.emptyMap();
          if (validation != null && config.validateEveryRounds() > 0 && round % config.validateEveryRounds() == 0
              && r < roundsPerEpoch) {
            long v0 = System.nanoTime();
            roundVal = validate(validation, params);
            validationNanosRef[0] += System.nanoTime() - v0;
          }
          long now = System.nanoTime();
          RoundEvent ev = new RoundEvent(epoch + 1, config.epochs(), round, r, roundsPerEpoch, lastLoss, lastRows,
              lastSecs, (now - t0) / 1e9, (now - t0 - validationNanosRef[0]) / 1e9, roundVal);
          loop.onRound(ev);
          if (store != null && config.checkpoint().everyRounds() > 0 && round % config.checkpoint().everyRounds() == 0
              && r < roundsPerEpoch) {
            lastCheckpoint = save(loop, store, round, epoch, r, params, server, stopping);
          }
        }
        epochsDone = epoch + 1;
        Map<String, Double> val = Collections.emptyMap();
        if (validation != null) {
          loop.describe(String.format(Locale.ROOT, "sparktrain epoch %d/%d validation", epoch + 1,
              config.epochs()));
          long v0 = System.nanoTime();
          val = validate(validation, params);
          validationNanosRef[0] += System.nanoTime() - v0;
          lastValidation = val;
        }
        boolean stop = stopping.update(epoch + 1, val, params);
        boolean plateau = !stop && config.autoEpochs() && plateau(weightSum > 0 ? lossSum / weightSum : Double.NaN);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long roundsThisRun = round - (long) startEpoch * roundsPerEpoch - startRound;
        double eta = roundsThisRun > 0 ? elapsed / roundsThisRun * Math.max(0, totalRoundsPlanned - round) : 0;
        EpochEvent ev = new EpochEvent(epoch + 1, config.epochs(), round, weightSum > 0 ? lossSum / weightSum
            : Double.NaN, val, (System.nanoTime() - epochStart) / 1e9, elapsed, eta, rowsSeen,
            elapsed - validationNanosRef[0] / 1e9);
        loop.onEpoch(ev);
        int everyEpochs = config.checkpoint().everyEpochs();
        if (store != null && everyEpochs > 0 && (epoch + 1) % everyEpochs == 0) {
          lastCheckpoint = save(loop, store, round, epoch + 1, 0, params, server, stopping);
        }
        if (stop) {
          stopReason = "early_stopping";
          loop.stoppedEarly(stopping, epoch + 1);
          break;
        }
        if (plateau) {
          stopReason = "training_loss_plateau";
          LOG.info("sparktrain: stopping after epoch {}: the training loss has not improved by {} for {} epochs"
              + " (epochs auto; best {})", epoch + 1, config.plateauTol(), plateauBad,
              String.format(Locale.ROOT, "%.6g", plateauBest));
          break;
        }
      }
    } finally {
      if (engine != null) {
        engine.close();
        collectiveProfile = engine.profile().toMap();
        LOG.info("sparktrain: collective engine: {}", collectiveProfile);
      }
    }
    // Early stopping needs validation data (checked above), so validation is set when it restores.
    RoundLoop.Weights out = loop.restoreBest(stopping, params, lastValidation, p -> validate(validation, p));
    return new TrainResult(out.params(), server == null ? null : server.state(), loop.history(), round, epochsDone,
        stopReason, (System.nanoTime() - t0) / 1e9, out.validation(), scaling);
  }

  /** Epochs auto: the plateau rule's best training loss and epochs without progress (checkpointed). */
  private double plateauBest;
  private int plateauBad;

  /**
   * Counts the epoch of mean training loss {@code loss} for the plateau rule (scikit-learn's MLP:
   * no progress unless the loss is below the best minus tol); true when training should stop.
   */
  private boolean plateau(double loss) {
    if (!(loss < plateauBest - config.plateauTol())) {
      plateauBad++;
    } else {
      plateauBad = 0;
    }
    if (loss < plateauBest) {
      plateauBest = loss;
    }
    return plateauBad >= config.plateauPatience();
  }

  /**
   * One sync round on the driver ({@link TrainConfig.SyncEngine#LOCAL}): each collected block's
   * gradient over its rows of the global mini-batch, as {@link #runRound} computes them on the
   * executors, summed in partition order.
   */
  private static Update localRound(List<Block> blocks, List<LocalWork> work, float[] params, TrainConfig cfg,
      long[] offsets, long n, int epoch, long r) {
    Update sum = new Update();
    for (int p = 0; p < blocks.size(); p++) {
      Block b = blocks.get(p);
      int[] rows = StepRows.of(b.rows(), offsets[p], n, Seeds.of(cfg.seed(), epoch), cfg.batchSize(), r, r + 1)
          .rows();
      sum = sum.merge(work.get(p).gradient(params, b, rows, 0, rows.length, cfg.microBatch(),
          Seeds.of(cfg.seed(), epoch, r, p)));
    }
    return sum;
  }

  /** The checkpoint extra naming the network whose parameters it holds ({@link Network#architecture}). */
  static final String NETWORK_KEY = "sparktrain.network";
  /** The checkpoint extra holding the run's input scaling ({@link InputScaling#encode}), when standardizing. */
  static final String SCALING_KEY = "sparktrain.input_scaling";
  /** The checkpoint extra naming the categorical columns of the embedding tables, in order. */
  static final String CATEGORICAL_KEY = "sparktrain.categorical";
  /** The checkpoint extra holding the plateau rule's state: "best,bad". */
  static final String PLATEAU_KEY = "sparktrain.plateau";

  /** Whether this run standardizes: when asked to and there are numeric features (categorical ones are not). */
  private boolean standardizes() {
    return config.standardize() && network.inputs() > 0;
  }

  /** Why checkpoint {@code c} cannot resume this run (another network, a federated run's), or null. */
  private CheckpointStore.Problem misfit(Checkpoint c) {
    String arch = c.extras().get(NETWORK_KEY);
    if (c.extras().containsKey("federated.network")) {
      return CheckpointStore.Problem.mismatch("written by a federated run");
    }
    boolean scaled = c.extras().containsKey(SCALING_KEY);
    if (scaled != standardizes()) {
      return CheckpointStore.Problem.mismatch("written with data.standardize " + scaled + ", this run has "
          + standardizes());
    }
    if (scaled && InputScaling.decode(c.extras().get(SCALING_KEY)).size() != network.inputs()) {
      return CheckpointStore.Problem.mismatch("its input scaling has another width: expected " + network.inputs()
          + " features, found " + InputScaling.decode(c.extras().get(SCALING_KEY)).size());
    }
    if (arch != null && !arch.equals(network.architecture())) {
      return CheckpointStore.Problem.mismatch("another network: expected " + network.architecture() + ", found "
          + arch);
    }
    String cats = c.extras().getOrDefault(CATEGORICAL_KEY, "");
    if (!cats.equals(categorical)) {
      return CheckpointStore.Problem.mismatch("other categorical columns: expected " + (categorical.isEmpty() ? "none"
          : categorical) + ", found " + (cats.isEmpty() ? "none" : cats));
    }
    int size = network.layout().size();
    if (c.params().length != size) {
      return CheckpointStore.Problem.mismatch("another network: expected " + size + " parameters ("
          + network.architecture() + "), found " + c.params().length);
    }
    OptimizerState st = c.optimizerState();
    if (st != null && st.slotCount() > 0 && st.slot(0).length != size) {
      return CheckpointStore.Problem.mismatch("its optimizer state has " + st.slot(0).length
          + " values per slot, expected " + size);
    }
    return null;
  }

  private String save(RoundLoop loop, CheckpointStore store, long round, int epoch, long roundInEpoch,
      float[] params, Optimizer server, EarlyStopping stopping) {
    Map<String, String> extras = new LinkedHashMap<>(stopping.extras());
    extras.put(NETWORK_KEY, network.architecture());
    if (!categorical.isEmpty()) {
      extras.put(CATEGORICAL_KEY, categorical);
    }
    if (scaling != null) {
      extras.put(SCALING_KEY, scaling.encode());
    }
    if (config.autoEpochs()) {
      extras.put(PLATEAU_KEY, plateauBest + "," + plateauBad);
    }
    Checkpoint c = new Checkpoint(round, epoch, roundInEpoch, config.seed(), params, stopping.bestParams(),
        server == null ? null : server.state(), config.toJson(), extras, System.currentTimeMillis());
    return loop.saveCheckpoint(store, config.checkpoint().dir(), c);
  }

  /**
   * One round on the executors: every partition's update, summed in partition order
   * ({@link OrderedAggregate}, a treeAggregate whose result does not depend on task timing).
   */
  static Update runRound(JavaRDD<Block> blocks, Broadcast<float[]> bc, Network net, TrainConfig cfg, long[] offsets,
      long n, int epoch, long r, long roundsPerEpoch, long globalRound) {
    JavaRDD<Update> updates = blocks.mapPartitionsWithIndex((p, it) -> {
      Block b = Block.only(it);
      TaskHook hook = cfg.taskHook();
      if (hook != null) {
        TaskContext tc = TaskContext.get();
        hook.beforeWork(globalRound, p, tc == null ? 0 : tc.attemptNumber());
      }
      long taskSeed = Seeds.of(cfg.seed(), epoch, r, p);
      LocalWork work = new LocalWork(net, cfg.l2(), cfg.teacher(), cfg.reconstruction());
      Update u;
      if (cfg.mode() == Mode.SYNC) {
        int[] rows = StepRows.of(b.rows(), offsets[p], n, Seeds.of(cfg.seed(), epoch), cfg.batchSize(), r,
            r + 1).rows();
        u = work.gradient(bc.value(), b, rows, 0, rows.length, cfg.microBatch(), taskSeed);
      } else {
        int rows = b.rows();
        int[] order = LocalWork.permutation(rows, Seeds.of(cfg.seed(), epoch, p));
        int from = (int) (r * rows / roundsPerEpoch);
        int to = (int) ((r + 1) * rows / roundsPerEpoch);
        u = work.localSteps(bc.value(), b, order, from, to, cfg.batchSize(), cfg.localOptimizer(), taskSeed);
      }
      return List.of(u).iterator();
    }, true);
    // In partition order, so the sum never depends on which task finished first.
    return OrderedAggregate.aggregate(updates, Update::new, Update::merge, cfg.aggregationDepth());
  }

  /** The server step; returns the round's mean loss (plus the L2 penalty in sync mode). */
  private double serverStep(float[] params, Update u, Optimizer server, long round, String lastCheckpoint) {
    if (u.isEmpty() || u.weight() <= 0) {
      throw new IllegalStateException("round " + round + ": no partition returned any rows (total weight "
          + u.weight() + ")");
    }
    double loss = u.meanLoss();
    float[] mean = u.mean();
    RoundLoop.requireFinite("round " + round, loss, mean, config.mode() == Mode.SYNC ? "gradient" : "update",
        divergedAdvice(lastCheckpoint));
    traffic.add(u, network.layout().size());
    // A row-sparse mean (a sparse first layer's touched rows) lets lazy_adam step only those rows.
    RowSet rows = u.touched() == null ? null : u.touched().toRowSet();
    if (config.mode() == Mode.SYNC) {
      if (rows != null && !server.lazy() && config.l2() != 0f) {
        rows = null; // dense L2: every row of the first kernel gets a gradient
      }
      loss += network.addL2(params, mean, config.l2(), rows);
      server.step(params, mean, 1f, rows);
    } else if (server == null) {
      for (int i = 0; i < params.length; i++) params[i] += mean[i];
    } else {
      for (int i = 0; i < mean.length; i++) mean[i] = -mean[i];
      server.step(params, mean, 1f, rows);
    }
    return loss;
  }

  /** What a {@link TrainingDivergedException} of this loop tells the user after what went wrong. */
  private static String divergedAdvice(String lastCheckpoint) {
    return "training stopped. Last good checkpoint: " + (lastCheckpoint == null ? "none" : lastCheckpoint)
        + ". Try a lower learning rate or clipping (optimizer clip_norm).";
  }

  /**
   * The end (exclusive) of the span that starts at round {@code r} of the epoch ({@code round} of
   * the run): the epoch's end, or the next round after which the loop validates, checkpoints or
   * stops (max_rounds), whichever comes first.
   */
  long spanEnd(long r, long round, long roundsPerEpoch, boolean validating, boolean checkpointing) {
    long end = roundsPerEpoch;
    if (config.maxRounds() > 0) {
      end = Math.min(end, r + (config.maxRounds() - round));
    }
    if (validating && config.validateEveryRounds() > 0) {
      end = Math.min(end, r + (config.validateEveryRounds() - round % config.validateEveryRounds()));
    }
    if (checkpointing && config.checkpoint().everyRounds() > 0) {
      end = Math.min(end, r + (config.checkpoint().everyRounds() - round % config.checkpoint().everyRounds()));
    }
    return Math.min(end, r + (Integer.MAX_VALUE - 1) / config.batchSize()); // StepRows' limit per span
  }

  /**
   * Validation metrics with keys prefixed val_: val_loss (the data loss, without L2) and the
   * task's metrics (classification: accuracy, precision/recall/F1, log loss, AUC when binary;
   * regression: mse, rmse, mae, r2).
   */
  public Map<String, Double> validate(TrainingData data, float[] params) {
    return Evaluator.validation(data.blocks(), network, params, config.aggregationDepth()).toValidationMap();
  }
}
