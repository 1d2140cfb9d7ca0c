package io.sparktrain.federated;

import io.sparktrain.data.Block;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.ClassificationAccumulator;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.eval.Predictions;
import io.sparktrain.nn.Network;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.MetricsHistory;
import io.sparktrain.train.ProgressLogger;
import io.sparktrain.train.RoundEvent;
import io.sparktrain.train.Trainer;
import io.sparktrain.train.TrainingListener;
import io.sparktrain.train.Update;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * depends on (seed, round, silo) only, so a retried task returns the identical update.
 */
public final class FederatedTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(FederatedTrainer.class);

  private final Network network;
  private final FederatedConfig config;
  private final List<TrainingListener> listeners = new ArrayList<>();

  public FederatedTrainer(Network network, FederatedConfig config) {
    this.network = network;
    this.config = config;
  }

  public FederatedTrainer addListener(TrainingListener l) {
    listeners.add(l);
    return this;
  }

  /** Trains on the silos (one per partition of {@code silos}); {@code validation} may be null. */
  public FederatedResult fit(TrainingData silos, TrainingData validation) {
    io.sparktrain.train.TrainConfig shape = io.sparktrain.train.TrainConfig.builder().build();
    Trainer checker = new Trainer(network, shape);
    checker.checkData(silos, "silo data");
    if (validation != null) {
      checker.checkData(validation, "validation data");
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(silos.blocks().context());
    long[] siloRows = silos.partitionRows();
    float[] params = network.initParameters(config.seed());
    ServerOptimizer server = config.newServerOptimizer();
    MetricsHistory history = new MetricsHistory();
    List<TrainingListener> all = new ArrayList<>();
    all.add(history);
    all.add(new ProgressLogger(config.logEveryRounds()));
    all.addAll(listeners);
    LocalityAudit audit = new LocalityAudit();
    jsc.sc().addSparkListener(audit);
    LOG.info("sparktrain federated: {} on {} silos ({} rows), {}", network, siloRows.length, silos.rows(),
        config.toMap());
    long t0 = System.nanoTime();
    long evalNanos = 0;
    Map<String, Double> lastVal = Collections.emptyMap();
    String previous = jsc.getLocalProperty("spark.job.description");
    try {
      for (int round = 1; round <= config.rounds(); round++) {
        long r0 = System.nanoTime();
        boolean[] sampled = ClientSampler.sample(siloRows, config.clientFraction(), config.sampling(),
            config.seed(), round);
        jsc.setJobDescription("sparktrain federated round " + round + "/" + config.rounds());
        Broadcast<float[]> bc = jsc.broadcast(params);
        Update u;
        try {
          u = runRound(silos.blocks(), bc, network, config, sampled, round);
        } finally {
          bc.destroy();
        }
        if (u.isEmpty() || u.weight() <= 0) {
          throw new IllegalStateException("federated round " + round + ": no sampled silo returned an update");
        }
        float[] delta = u.mean();
        for (float v : delta) {
          if (!Float.isFinite(v)) {
            throw new io.sparktrain.train.TrainingDivergedException("federated round " + round
                + ": the aggregated update is not finite; lower the client learning rate or clip (dp clip_norm)");
          }
        }
        server.apply(params, delta);
        double loss = u.lossSum() / (u.weight() * config.localEpochs());
        double secs = (System.nanoTime() - r0) / 1e9;
        Map<String, Double> val = Collections.emptyMap();
        boolean evalNow = validation != null && config.evalEveryRounds() > 0
            && (round % config.evalEveryRounds() == 0 || round == config.rounds());
        if (evalNow) {
          long e0 = System.nanoTime();
          jsc.setJobDescription("sparktrain federated evaluation after round " + round);
          val = evaluate(validation, params);
          evalNanos += System.nanoTime() - e0;
          lastVal = val;
        }
        long now = System.nanoTime();
        Map<String, Double> extra = new LinkedHashMap<>(val);
        extra.put("silos", (double) u.parts());
        RoundEvent ev = new RoundEvent(1, 1, round, round, config.rounds(), loss, u.rows(), secs, (now - t0) / 1e9,
            (now - t0 - evalNanos) / 1e9, extra);
        for (TrainingListener l : all) l.onRound(ev);
      }
    } finally {
      jsc.setJobDescription(previous);
      try {
        jsc.sc().listenerBus().waitUntilEmpty(10_000); // the audit must have seen every task
      } catch (java.util.concurrent.TimeoutException e) {
        LOG.warn("sparktrain federated: Spark's listener bus did not drain in 10 s; the audit may be incomplete");
      }
      jsc.sc().removeSparkListener(audit);
    }
    Map<String, Object> auditMap = audit.toMap(config.rounds());
    LOG.info("sparktrain federated locality audit:\n{}", audit.summary(config.rounds()));
    if (audit.rowsMoved() != 0) {
      LOG.error("sparktrain federated: {} rows moved between silos during training", audit.rowsMoved());
    }
    return new FederatedResult(params, history, config.rounds(), auditMap, lastVal, Double.NaN,
        (System.nanoTime() - t0 - evalNanos) / 1e9);
  }

  /** One round on the executors: sampled silos' updates, summed by treeAggregate. */
  static Update runRound(JavaRDD<Block> blocks, Broadcast<float[]> bc, Network net, FederatedConfig cfg,
      boolean[] sampled, long round) {
    return blocks.mapPartitionsWithIndex((p, it) -> {
      Block b = Block.only(it);
      Trainer.TaskHook hook = Trainer.taskHook;
      if (hook != null) {
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        hook.beforeWork(round, p, tc == null ? 0 : tc.attemptNumber());
      }
      if (!sampled[p] || b.rows() == 0) {
        return List.of(new Update()).iterator();
      }
      LocalWork work = new LocalWork(net, cfg.l2());
      Update u = work.localEpochs(bc.value(), b, cfg.localEpochs(), cfg.localBatch(), cfg.localOptimizer(),
          cfg.proxMu(), LocalWork.seed(cfg.seed(), round, p));
      return List.of(u).iterator();
    }, true).treeAggregate(new Update(), Update::merge, Update::merge, cfg.aggregationDepth());
  }

  /**
   * Validation metrics of the global model: overall (val_loss, val_accuracy, ... as
   * {@link Trainer#validate}) and, for classifiers, per silo of the validation data (one per
   * partition): val_accuracy_silo_min / _median / _max.
   */
  public Map<String, Double> evaluate(TrainingData validation, float[] params) {
    Trainer t = new Trainer(network, io.sparktrain.train.TrainConfig.builder()
        .aggregationDepth(config.aggregationDepth()).build());
    Map<String, Double> out = new LinkedHashMap<>(t.validate(validation, params));
    if (Predictions.isClassifier(network) && validation.numPartitions() > 1) {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(validation.blocks().context());
      Broadcast<float[]> bc = jsc.broadcast(params);
      try {
        Network net = network;
        int k = Predictions.numClasses(network);
        List<Double> acc = validation.blocks().map(b -> {
          if (b.rows() == 0) {
            return Double.NaN;
          }
          ClassificationAccumulator a = new ClassificationAccumulator(k);
          Evaluator.accumulate(net, bc.value(), b, net.newWorkspace(), a);
          return a.result().accuracy();
        }).collect();
        double[] v = acc.stream().filter(d -> !d.isNaN()).mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length > 0) {
          out.put("val_accuracy_silo_min", v[0]);
          out.put("val_accuracy_silo_median", v[v.length / 2]);
          out.put("val_accuracy_silo_max", v[v.length - 1]);
        }
      } finally {
        bc.destroy();
      }
    }
    return out;
  }
}
