package io.sparktrain.federated;

import io.sparktrain.data.Block;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.eval.Predictions;
import io.sparktrain.nn.Network;
import io.sparktrain.train.EarlyStopping;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.MemoryPlan;
import io.sparktrain.train.OrderedAggregate;
import io.sparktrain.train.RoundEvent;
import io.sparktrain.train.RoundLoop;
import io.sparktrain.train.TaskHook;
import io.sparktrain.train.Teacher;
import io.sparktrain.train.Trainer;
import io.sparktrain.train.TrainingListener;
import io.sparktrain.train.Update;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Federated training: each partition of the data is a silo whose rows never leave it.
 *
 * <p>Each round: sample silos ({@link ClientSampler}); broadcast the global model and the sample;
 * every sampled silo runs E local epochs with batch B ({@link LocalWork#localEpochs}, with the
 * FedProx term when mu > 0) and returns only its weight delta and example count; the server forms
 * the example-weighted mean (or a robust aggregate) and applies its rule ({@link ServerOptimizer}).
 * Stages contain no shuffle; a {@link LocalityAudit} proves it for every run. What a silo computes
 * depends on (seed, round, silo) only, so a retried task returns the identical update. The parts of
 * the loop it shares with {@link Trainer} are in {@link RoundLoop}.
 */
public final class FederatedTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(FederatedTrainer.class);

  private final Network network;
  private final FederatedConfig config;
  private final List<TrainingListener> listeners = new ArrayList<>();
  private MemoryPlan memoryPlan;
  /** The per-silo figures of the last {@link #evaluate} with {@link FederatedConfig#siloValidation()}. */
  private List<SiloEvaluation> lastSilos = List.of();

  public FederatedTrainer(Network network, FederatedConfig config) {
    this.network = network;
    this.config = config;
  }

  /** The last fit's memory plan ({@link FederatedMemoryPlan}), or null before a fit. */
  public MemoryPlan memoryPlan() {
    return memoryPlan;
  }

  public FederatedTrainer addListener(TrainingListener l) {
    listeners.add(l);
    return this;
  }

  /** Trains on the silos (one per partition of {@code silos}); {@code validation} may be null. */
  public FederatedResult fit(TrainingData silos, TrainingData validation) {
    return fit(silos, validation, null);
  }

  /**
   * As {@link #fit(TrainingData, TrainingData)}, from {@code initialParams} (may be null: the seeded
   * initialisation) instead, e.g. pretrained hidden layers; a resumed checkpoint's parameters come
   * first. In a reconstruction run ({@link FederatedConfig#reconstruction()}) the silos' labels are
   * never read and there is no validation data.
   */
  public FederatedResult fit(TrainingData silos, TrainingData validation, float[] initialParams) {
    if (config.reconstruction() != null) {
      Trainer.checkReconstructionData(network, silos, "silo data");
      if (validation != null) {
        throw new IllegalArgumentException("reconstruction run: expected no validation data (pretraining has no"
            + " labels to validate), found " + validation.rows() + " rows");
      }
    } else {
      Trainer.checkData(network, silos, "silo data");
    }
    if (config.teacher() != null) {
      config.teacher().check(network);
    }
    if (validation != null) {
      Trainer.checkData(network, validation, "validation data");
      if (config.siloValidation() && validation.numPartitions() != silos.numPartitions()) {
        throw new IllegalArgumentException("validation data: expected one partition per silo (" + silos.numPartitions()
            + ", partition k = silo k's held-out rows) with siloValidation, found " + validation.numPartitions());
      }
    } else if (config.earlyStopping().metric() != null) {
      throw new IllegalArgumentException("early_stopping.metric: " + config.earlyStopping().metric()
          + " needs validation data, found none");
    }
    memoryPlan = FederatedMemoryPlan.check(network, config, silos, validation); // before anything model-sized
    lastSilos = List.of();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(silos.blocks().context());
    long[] siloRows = silos.partitionRows();
    int nonEmptySilos = countNonEmpty(siloRows);
    float[] params = initialParams != null ? initialParams.clone() : network.initParameters(config.seed());
    network.layout().check(params, "initial parameters");
    LocalityAudit audit = new LocalityAudit();
    FederatedCheckpoints checkpoints = new FederatedCheckpoints(config, network, siloRows, jsc.hadoopConfiguration());
    SiloResiduals residuals = config.errorFeedback() ? new SiloResiduals(silos.blocks(), params.length) : null;
    ServerOptimizer server;
    RdpAccountant accountant;
    EarlyStopping stopping;
    FederatedCheckpoints.Resumed resumed;
    while (true) {
      server = config.newServerOptimizer();
      accountant = new RdpAccountant();
      stopping = new EarlyStopping(config.earlyStopping());
      resumed = checkpoints.resume(server, accountant, stopping).orElse(null);
      if (resumed == null || resumed.stopped() || resumed.round() >= config.rounds()) {
        break;
      }
      try {
        resumed.loadResiduals(residuals, jsc.hadoopConfiguration()); // each silo reads its own file, if any
        break;
      } catch (ResidualFiles.Corrupt e) {
        // A silo's residual with damaged bytes (the listing found it whole): this checkpoint cannot
        // continue the run; set it aside like a damaged checkpoint and try the one before.
        checkpoints.setAside(resumed.round(), e.getMessage());
      }
    }
    int startRound = resumed == null ? 0 : resumed.round();
    int lastRound = resumed != null && resumed.stopped() ? startRound : Math.max(startRound, config.rounds());
    if (resumed != null) {
      params = resumed.params();
    }
    String stopReason = resumed != null && resumed.stopped() ? "early_stopping" : "rounds";
    jsc.sc().addSparkListener(audit);
    LOG.info("sparktrain federated: {} on {} silos ({} rows), {}", network, siloRows.length, silos.rows(),
        config.toMap());
    long t0 = System.nanoTime();
    long evalNanos = 0;
    Map<String, Double> lastVal = resumed == null ? Collections.emptyMap() : resumed.lastValidation();
    RoundLoop loop = new RoundLoop(jsc, RoundLoop.Kind.FEDERATED, LOG, config.logEveryRounds(), listeners);
    // Summed over rounds: compression's payload bytes and their float32 size; plain uploads' wire
    // bytes (row-sparse where smaller) and their dense size.
    long[] payload = new long[4];
    Teacher teacher = null;
    FederatedConfig siloConfig = config;
    try (loop) {
      if (config.teacher() != null) { // distillation: broadcast once; each silo scores its own rows with it
        teacher = config.teacher().onInputs(null).broadcast(jsc);
        siloConfig = config.withTeacher(teacher);
      }
      for (int round = startRound + 1; round <= lastRound; round++) {
        long r0 = System.nanoTime();
        int[] sampled = ClientSampler.silos(siloRows, config.clientFraction(), config.sampling(), config.seed(),
            round);
        int m = sampled.length;
        // Simulated stragglers: dropped ones leave the round (keys, masks and DP count only the others).
        Stragglers.Plan plan = Stragglers.plan(config, siloRows, sampled, round);
        int[] working = plan.workingSilos(); // only these silos' partitions get a task this round
        int w = working.length;
        boolean noUpdate = w == 0;
        if (noUpdate) {
          LOG.info("sparktrain federated round {}: all {} sampled silos straggled and were dropped"
              + " (straggler_policy drop): no update this round, the model stays", round, m);
        }
        Map<Integer, byte[]> keys = config.secureAggregation() && !noUpdate
            ? publicKeys(loop, silos.blocks(), working, round) : Map.of();
        loop.describe("sparktrain federated round " + round + "/" + config.rounds());
        Aggregate agg;
        try (RoundLoop.ParamsBroadcast bc = loop.broadcast(params)) {
          try {
            agg = noUpdate ? Aggregate.none(params.length) : aggregate(silos.blocks(), bc.get(), network,
                siloConfig, working, plan.workingSteps(), round, keys, residuals);
          } catch (Exception e) { // Spark throws its SparkException undeclared; precise rethrow keeps it
            if (residuals != null) {
              residuals.abort(); // the residuals stay those before the round
            }
            throw e;
          }
          if (residuals != null && !noUpdate) {
            residuals.commit(); // this round's residuals replace the previous round's on the executors
          }
        }
        if (!(agg.weight > 0) && !noUpdate) {
          throw new IllegalStateException("federated round " + round + ": no sampled silo returned an update");
        }
        float[] delta = agg.delta;
        payload[0] += agg.payloadBytes;
        payload[1] += agg.float32Bytes;
        payload[2] += agg.uploadBytes;
        payload[3] += agg.denseBytes;
        if (config.dp() && !noUpdate) {
          // Fixed denominator: the expected number of sampled silos (McMahan et al. 2018, the unbiased estimator).
          double expected = config.sampling() == FederatedConfig.Sampling.POISSON
              ? config.clientFraction() * nonEmptySilos : w;
          float inv = (float) (1.0 / expected);
          for (int i = 0; i < delta.length; i++) delta[i] *= inv;
          double q = config.sampling() == FederatedConfig.Sampling.POISSON ? config.clientFraction()
              : (double) w / nonEmptySilos;
          accountant.step(q, config.dpNoiseMultiplier(), 1);
        }
        RoundLoop.requireFinite("federated round " + round, delta, "update",
            "lower the client learning rate or clip (dp clip_norm)");
        if (!noUpdate) {
          server.apply(params, delta);
        }
        double loss = noUpdate ? Double.NaN : agg.lossSum / Math.max(1e-12, agg.exampleWeight);
        double secs = (System.nanoTime() - r0) / 1e9;
        Map<String, Double> val = Collections.emptyMap();
        boolean evalRound = config.evalEveryRounds() > 0
            && (round % config.evalEveryRounds() == 0 || round == config.rounds());
        boolean evalNow = validation != null && evalRound;
        if (evalNow) {
          long e0 = System.nanoTime();
          loop.describe("sparktrain federated evaluation after round " + round);
          val = evaluate(validation, params);
          evalNanos += System.nanoTime() - e0;
          lastVal = val;
        }
        Map<String, Double> extra = new LinkedHashMap<>(val);
        if (config.evalTrainLoss() && evalRound) {
          long e0 = System.nanoTime();
          loop.describe("sparktrain federated training-data evaluation after round " + round);
          extra.putAll(evaluateTraining(silos, params));
          evalNanos += System.nanoTime() - e0;
        }
        long now = System.nanoTime();
        extra.put("silos", (double) m);
        // What the round's silos uploaded: compressed payloads, else float32 (row-sparse where smaller).
        extra.put("upload_bytes", (double) (config.compress() ? agg.payloadBytes : agg.uploadBytes));
        if (config.stragglers() > 0) {
          extra.put("stragglers", (double) plan.stragglers());
          extra.put("dropped", (double) plan.dropped());
        }
        if (config.dp() && config.dpNoiseMultiplier() > 0) {
          extra.put("dp_epsilon", accountant.epsilon(config.dpDelta()));
        }
        RoundEvent ev = new RoundEvent(1, 1, round, round, config.rounds(), loss, agg.rows, secs, (now - t0) / 1e9,
            (now - t0 - evalNanos) / 1e9, extra);
        loop.onRound(ev);
        boolean stop = evalNow && stopping.enabled() && stopping.update(round, val, params);
        if (checkpoints.due(round, stop || round == lastRound)) {
          checkpoints.save(round, params, server, accountant, stopping, lastVal, stop, loop, residuals);
        }
        if (stop) {
          loop.stoppedEarly(stopping, round);
          stopReason = "early_stopping";
          lastRound = round;
        }
      }
    } finally {
      if (teacher != null) {
        teacher.destroy();
      }
      if (residuals != null) {
        residuals.close();
      }
      try {
        jsc.sc().listenerBus().waitUntilEmpty(10_000); // the audit must have seen every task
      } catch (TimeoutException e) {
        LOG.warn("sparktrain federated: Spark's listener bus did not drain in 10 s; the audit may be incomplete");
      }
      jsc.sc().removeSparkListener(audit);
    }
    long roundsRun = Math.max(1, lastRound - startRound);
    Map<String, Object> auditMap = audit.toMap(roundsRun);
    LOG.info("sparktrain federated locality audit:\n{}", audit.summary(roundsRun));
    if (config.compress() && payload[1] > 0) {
      auditMap.put("compressed_payload_bytes_per_round", payload[0] / roundsRun);
      auditMap.put("float32_payload_bytes_per_round", payload[1] / roundsRun);
      LOG.info("sparktrain federated compression ({}): {} payload bytes per round instead of {} as float32 ({}%"
          + " saved)", config.toMap().get("compression"), payload[0] / roundsRun, payload[1] / roundsRun,
          String.format(Locale.ROOT, "%.1f", 100.0 * (payload[1] - payload[0]) / payload[1]));
    }
    if (payload[2] < payload[3]) {
      auditMap.put("row_sparse_upload_bytes_per_round", payload[2] / roundsRun);
      auditMap.put("dense_upload_bytes_per_round", payload[3] / roundsRun);
      LOG.info("sparktrain federated: row-sparse uploads (a sparse first layer's touched rows) took {} bytes per"
          + " round instead of {} dense", payload[2] / roundsRun, payload[3] / roundsRun);
    }
    if (audit.rowsMoved() != 0) {
      LOG.error("sparktrain federated: {} records were shuffled in training stages{}", audit.rowsMoved(),
          config.aggregationDepth() > 1 ? " (with aggregation_depth " + config.aggregationDepth()
              + " these can be treeAggregate's partial aggregates; depth 1 shuffles nothing)" : "");
    }
    double epsilon = config.dp() && config.dpNoiseMultiplier() > 0 ? accountant.epsilon(config.dpDelta())
        : Double.NaN;
    if (!Double.isNaN(epsilon)) {
      LOG.info("sparktrain federated: ({}, {})-DP after {} rounds (RDP accountant, z = {}, S = {})", epsilon,
          config.dpDelta(), lastRound, config.dpNoiseMultiplier(), config.dpClipNorm());
    }
    RoundLoop.Weights out = loop.restoreBest(stopping, params, lastVal, p -> evaluate(validation, p));
    return new FederatedResult(out.params(), loop.history(), lastRound, auditMap, out.validation(), epsilon,
        (System.nanoTime() - t0 - evalNanos) / 1e9, stopReason, config.siloValidation() ? lastSilos : List.of());
  }

  private static int countNonEmpty(long[] rows) {
    int n = 0;
    for (long r : rows) n += r > 0 ? 1 : 0;
    return n;
  }

  /** The round's aggregate: the mean delta the server applies, and bookkeeping. */
  static final class Aggregate {
    float[] delta;
    double weight;
    double exampleWeight;
    double lossSum;
    long rows;
    /** Compression: the payloads' bytes and the float32 bytes they replace. */
    long payloadBytes;
    long float32Bytes;
    /** Plain uploads: what they took on the wire (row-sparse where smaller), and as dense float32. */
    long uploadBytes;
    long denseBytes;

    /** A round without any update (every sampled silo straggled and was dropped). */
    static Aggregate none(int size) {
      Aggregate a = new Aggregate();
      a.delta = new float[size];
      return a;
    }
  }

  /** Secure aggregation, step 1: the working silos' public keys for this round (32 bytes each). */
  static Map<Integer, byte[]> publicKeys(RoundLoop loop, JavaRDD<Block> blocks, int[] silos, long round) {
    loop.describe("sparktrain federated key exchange round " + round);
    List<Map.Entry<Integer, byte[]>> keys = SampledPartitions.of(blocks, silos).mapPartitionsWithIndex((i, it) -> {
      Block b = Block.only(it);
      List<Map.Entry<Integer, byte[]>> out = new ArrayList<>();
      if (b.rows() > 0) {
        out.add(new AbstractMap.SimpleEntry<>(silos[i], SiloWork.publicKey(b, round)));
      }
      return out.iterator();
    }, true).collect();
    Map<Integer, byte[]> m = new TreeMap<>();
    for (Map.Entry<Integer, byte[]> e : keys) m.put(e.getKey(), e.getValue());
    return m;
  }

  /**
   * One round on the executors. Plain mean: the silos' example-weighted deltas are summed by an
   * ordered tree aggregation ({@code OrderedAggregate}): the sum does not depend on task timing.
   * Secure aggregation: masked fixed-point vectors are summed modulo 2^32 by treeAggregate, so the
   * driver and every combiner see only masked vectors. Robust aggregation and compression: the
   * silos' (small, or quantized) updates are collected and combined on the driver.
   */
  static Aggregate aggregate(JavaRDD<Block> blocks, Broadcast<float[]> bc, Network net, FederatedConfig cfg,
      int[] silos, int[] budgets, long round, Map<Integer, byte[]> keys, SiloResiduals residuals) {
    TaskHook hook = cfg.taskHook();
    int sampledCount = silos.length;
    JavaRDD<SiloWork.Result> results = residuals != null
        ? residuals.uploads(round, silos, budgets, hook, (p, steps, b, residual) ->
            SiloWork.run(net, cfg, bc.value(), b, p, round, sampledCount, keys, residual, steps))
        : SampledPartitions.of(blocks, silos).mapPartitionsWithIndex((i, it) -> {
          Block b = Block.only(it);
          int p = silos[i];
          SiloWork.beforeWork(hook, round, p);
          List<SiloWork.Result> out = new ArrayList<>();
          if (b.rows() > 0) {
            out.add(SiloWork.run(net, cfg, bc.value(), b, p, round, sampledCount, keys, null, budgets[i]));
          }
          return out.iterator();
        }, true);
    Aggregate a = new Aggregate();
    if (cfg.secureAggregation()) {
      int[] sum = results.map(r -> r.masked).treeAggregate(null, FederatedTrainer::addMasked,
          FederatedTrainer::addMasked, cfg.aggregationDepth());
      float[] plain = SecureAggregation.unmaskSum(sum, SiloWork.SECURE_SCALE);
      int d = plain.length - 3;
      a.weight = plain[d];
      a.lossSum = plain[d + 1];
      a.exampleWeight = plain[d + 2];
      a.delta = Arrays.copyOf(plain, d);
      a.uploadBytes = 4L * sum.length * sampledCount; // each silo's masked vector: one int per value
      a.denseBytes = a.uploadBytes;
      if (!cfg.dp()) {
        scale(a.delta, 1.0 / a.weight);
      }
      return a;
    }
    boolean collect = cfg.compress() || cfg.aggregation() != FederatedConfig.Aggregation.MEAN;
    if (!collect) {
      // Under DP the weights are 1 per silo; the loss is normalised by the rows (unweighted examples).
      // In silo order, so the sum never depends on which task finished first.
      Update u = OrderedAggregate.aggregate(
          results.map(r -> new Update(r.vector, r.weight, r.lossSum, r.rows, r.steps).withRows(r.touched)),
          Update::new, Update::merge, cfg.aggregationDepth());
      if (u.isEmpty()) {
        return a;
      }
      a.weight = u.weight();
      a.exampleWeight = cfg.dp() ? u.rows() / (double) cfg.localEpochs() : u.weight();
      a.lossSum = u.lossSum();
      a.rows = u.rows();
      a.delta = cfg.dp() ? u.vector() : u.mean();
      a.uploadBytes = u.uploadBytes();
      a.denseBytes = 4L * u.vector().length * u.parts();
      return a;
    }
    List<SiloWork.Result> list = new ArrayList<>(results.collect());
    list.sort(Comparator.comparingInt(r -> r.silo)); // silo order, however the round's partitions were laid out
    List<float[]> deltas = new ArrayList<>();
    double[] weights = new double[list.size()];
    for (int i = 0; i < list.size(); i++) {
      SiloWork.Result r = list.get(i);
      float[] v = r.compressed != null ? r.compressed.decode() : r.vector;
      if (r.compressed != null) {
        a.payloadBytes += r.compressed.payloadBytes();
        a.float32Bytes += r.compressed.float32Bytes();
      } else {
        a.uploadBytes += 4L * v.length; // robust rules collect dense float32 updates
        a.denseBytes += 4L * v.length;
      }
      a.weight += r.weight;
      a.exampleWeight += r.examples;
      a.lossSum += r.lossSum;
      a.rows += r.rows;
      weights[i] = r.weight;
      if (!cfg.dp()) {
        scale(v, 1.0 / r.weight); // per-silo mean delta (v is the driver's own copy of the upload)
      }
      deltas.add(v);
    }
    if (deltas.isEmpty()) {
      return a;
    }
    switch (cfg.aggregation()) {
      case MEDIAN:
        a.delta = RobustAggregation.median(deltas, weights);
        break;
      case TRIMMED_MEAN:
        a.delta = RobustAggregation.trimmedMean(deltas, weights, cfg.trimFraction());
        break;
      case MULTI_KRUM:
        a.delta = RobustAggregation.multiKrum(deltas, weights, cfg.krumByzantine(),
            cfg.krumSelect() == 0 ? Math.max(1, deltas.size() - cfg.krumByzantine()) : cfg.krumSelect()).aggregate();
        break;
      default:
        // Mean of compressed updates: DP sums (the server divides by the expected count), else weights.
        a.delta = cfg.dp() ? sumOf(deltas) : RobustAggregation.mean(deltas, weights);
    }
    if (cfg.dp() && cfg.aggregation() != FederatedConfig.Aggregation.MEAN) {
      scale(a.delta, list.size()); // robust rules return a mean; the DP path divides a sum
    }
    return a;
  }

  private static int[] addMasked(int[] acc, int[] v) {
    if (acc == null) {
      return v == null ? null : v.clone();
    }
    return v == null ? acc : SecureAggregation.add(acc, v);
  }

  private static float[] sumOf(List<float[]> vs) {
    float[] s = new float[vs.get(0).length];
    for (float[] v : vs) {
      for (int i = 0; i < s.length; i++) s[i] += v[i];
    }
    return s;
  }

  private static void scale(float[] v, double f) {
    float s = (float) f;
    for (int i = 0; i < v.length; i++) v[i] *= s;
  }

  /**
   * Validation metrics of the global model: overall (val_loss, val_accuracy, ... as
   * {@link Trainer#validate}) and, with {@link FederatedConfig#siloValidation()} (partition k of
   * {@code validation} = silo k's held-out rows), for classifiers the spread over the silos that
   * have held-out rows: val_accuracy_silo_min / _median / _max (the upper median for an even count).
   * The per-silo figures come from the same job and forward pass, as one small accumulator per silo.
   */
  public Map<String, Double> evaluate(TrainingData validation, float[] params) {
    if (!config.siloValidation()) {
      return Evaluator.validation(validation.blocks(), network, params, config.aggregationDepth())
          .toValidationMap();
    }
    // One job, one forward pass: each silo's accumulators, merged for the overall figures.
    List<Evaluator.Validation> bySilo = Evaluator.validationByPartition(validation.blocks(), network, params);
    long[] rows = validation.partitionRows();
    List<SiloEvaluation> silos = new ArrayList<>(bySilo.size());
    for (int k = 0; k < bySilo.size(); k++) {
      Evaluator.Validation v = bySilo.get(k);
      silos.add(new SiloEvaluation(k, rows[k], v.loss(), v.weight() > 0 ? v.metrics() : Map.of()));
    }
    lastSilos = silos;
    Map<String, Double> out = new LinkedHashMap<>(Evaluator.Validation.merged(network, bySilo).toValidationMap());
    if (Predictions.isClassifier(network)) {
      double[] v = silos.stream().mapToDouble(SiloEvaluation::accuracy).filter(a -> !Double.isNaN(a)).sorted()
          .toArray();
      if (v.length > 0) {
        out.put("val_accuracy_silo_min", v[0]);
        out.put("val_accuracy_silo_median", v[v.length / 2]);
        out.put("val_accuracy_silo_max", v[v.length - 1]);
      }
    }
    return out;
  }

  /**
   * The global model on all silos' training rows, each silo's block scored in its own task (one job,
   * nothing moves): {@code global_train_loss} (the network's loss, inference mode, no L2 term, weighted
   * by the rows' weights) and, for a classifier, {@code global_train_accuracy}.
   */
  public Map<String, Double> evaluateTraining(TrainingData silos, float[] params) {
    Evaluator.Validation v = Evaluator.validation(silos.blocks(), network, params, config.aggregationDepth());
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("global_train_loss", v.loss());
    if (Predictions.isClassifier(network) && v.weight() > 0) {
      out.put("global_train_accuracy", v.metrics().get("accuracy"));
    }
    return out;
  }
}
