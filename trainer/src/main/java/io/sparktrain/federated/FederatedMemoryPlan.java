package io.sparktrain.federated;

import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Network;
import io.sparktrain.train.MemoryPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The {@link MemoryPlan} of a federated run, at a coarse level, in floats of P (the parameter
 * count):
 * <ul>
 *   <li>driver: the parameters, the server rule's slots (FedAvgM 1, the adaptive ones 2), the
 *       broadcast's pieces, and the aggregation: the ordered tree aggregation's last level of
 *       results and the mean (mean), the masked int sums and their unmasked copy (secure
 *       aggregation), or every sampled silo's update at once (robust rules and compression collect
 *       them: m x P floats, plus the compressed payloads); a checkpoint's bytes, early stopping's best;
 *   <li>per task (a sampled silo): the local copy, the gradient, the local optimizer's slots, the
 *       masked copy and its ints (secure aggregation), the compressed upload and the residual's copy
 *       (compression, error feedback), the partial sum, the serialized result, and the workspace of
 *       the local batch (0: the largest silo);
 *   <li>per executor: the broadcast (on a cluster);
 *   <li>cached: the silos' blocks and, with error feedback, each silo's residual and upload, kept in
 *       Spark's cache for two rounds while the next one is computed.
 * </ul>
 */
public final class FederatedMemoryPlan {
  private FederatedMemoryPlan() {
  }

  /** The plan of {@link FederatedTrainer#fit} on silos of {@code data} in {@code cluster}. */
  public static MemoryPlan of(Network net, FederatedConfig cfg, MemoryPlan.Data data, MemoryPlan.Cluster cluster) {
    long p = 4L * net.layout().size();
    int silos = Math.max(1, data.partitions());
    int s = serverSlots(cfg.server());
    int sl = MemoryPlan.slots(cfg.localOptimizer());
    int m = sampled(silos, cfg.clientFraction(), cfg.sampling());
    long upload = cfg.compression().payloadBytes(net.layout().size()); // one compressed upload
    boolean collect = !cfg.secureAggregation()
        && (cfg.compress() || cfg.aggregation() != FederatedConfig.Aggregation.MEAN);

    List<MemoryPlan.Item> d = new ArrayList<>();
    d.add(new MemoryPlan.Item("parameters", p));
    if (s > 0) {
      d.add(new MemoryPlan.Item("server state (" + s + " slots)", s * p));
    }
    d.add(new MemoryPlan.Item("broadcast pieces", p));
    int last = MemoryPlan.lastLevel(m, cfg.aggregationDepth());
    if (cfg.secureAggregation()) {
      d.add(new MemoryPlan.Item(last + " masked task results", last * p));
      d.add(new MemoryPlan.Item("masked sum and unmasked copies", 3 * p));
    } else if (collect) {
      d.add(new MemoryPlan.Item(m + " silo updates", m * p + (cfg.compress() ? m * upload : 0)));
      d.add(new MemoryPlan.Item("aggregate", p + 8L * m * m));
    } else {
      d.add(new MemoryPlan.Item(last + " task results", last * p));
      d.add(new MemoryPlan.Item("aggregate and mean", 2 * p));
    }
    if (cfg.checkpoint().dir() != null) {
      d.add(new MemoryPlan.Item("checkpoint bytes", (1 + s) * p));
    }
    if (cfg.earlyStopping().metric() != null) {
      d.add(new MemoryPlan.Item("best parameters", p));
    }

    List<MemoryPlan.Item> t = new ArrayList<>();
    t.add(new MemoryPlan.Item("local copy", p));
    t.add(new MemoryPlan.Item("gradient", p));
    if (sl > 0) {
      t.add(new MemoryPlan.Item("local optimizer state", sl * p));
    }
    if (cfg.secureAggregation()) {
      t.add(new MemoryPlan.Item("masked copy and ints", 2 * p));
    } else if (cfg.compress()) {
      t.add(new MemoryPlan.Item(cfg.compression().label() + " upload", upload));
      if (cfg.errorFeedback()) {
        t.add(new MemoryPlan.Item("residual copy", p));
      }
    }
    if (!collect) {
      t.add(new MemoryPlan.Item("partial sum", p));
    }
    t.add(new MemoryPlan.Item("serialized result", cfg.compress() && !cfg.secureAggregation() ? upload : p));
    int rows = cfg.localBatch() > 0 ? cfg.localBatch() : (int) Math.min(Integer.MAX_VALUE,
        Math.max(1, data.largestPartitionRows()));
    t.add(new MemoryPlan.Item("workspace (" + rows + " rows)", MemoryPlan.workspaceBytes(net, rows,
        data.nonzerosPerRow())));

    List<MemoryPlan.Item> e = new ArrayList<>();
    if (!cluster.local()) {
      e.add(new MemoryPlan.Item("broadcast (object and pieces)", 2 * p));
    }
    MemoryPlan.addTeacher(cfg.teacher(), rows, data.nonzerosPerRow(), cluster.local(), d, t, e);
    long cached = MemoryPlan.cachedShare(data, cluster);
    if (cfg.compress() && cfg.errorFeedback()) {
      int perExecutor = cluster.local() ? silos
          : (int) Math.min(silos, Math.ceil(1.25 * silos / Math.max(1, cluster.executors())));
      cached += 2L * perExecutor * (p + upload); // two rounds' residuals and uploads, in Spark's cache
    }
    int tasks = Math.min(m, cluster.slotsPerExecutor());
    String run = "federated/" + cfg.algorithmName().toLowerCase(Locale.ROOT);
    return new MemoryPlan(cluster, run, net.layout().size(), d, t, e, tasks, cached,
        data.largestPartitionBytes());
  }

  /** Slots of the server rule: FedAvg none, FedAvgM its velocity, the adaptive rules two moments. */
  static int serverSlots(ServerOptimizer.Kind kind) {
    switch (kind) {
      case FEDAVG: return 0;
      case FEDAVGM: return 1;
      default: return 2;
    }
  }

  /** Silos sampled in a round: uniform max(1, round(C n)); Poisson C n plus three standard deviations. */
  static int sampled(int silos, double c, FederatedConfig.Sampling sampling) {
    if (sampling == FederatedConfig.Sampling.POISSON) {
      double mean = c * silos;
      return (int) Math.max(1, Math.min(silos, Math.ceil(mean + 3 * Math.sqrt(mean * (1 - c)))));
    }
    return Math.max(1, Math.min(silos, (int) Math.round(c * silos)));
  }

  /** Plans and checks a federated run ({@link MemoryPlan#check}). */
  static MemoryPlan check(Network net, FederatedConfig cfg, TrainingData silos, TrainingData validation) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(silos.blocks().context());
    return of(net, cfg, MemoryPlan.Data.of(silos, validation), MemoryPlan.Cluster.of(jsc)).check(jsc);
  }
}
