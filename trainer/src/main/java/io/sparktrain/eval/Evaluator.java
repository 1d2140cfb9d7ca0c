package io.sparktrain.eval;

import io.sparktrain.data.Block;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Distributed evaluation of a network over cached {@link Block}s: the parameters are broadcast,
 * each partition predicts its blocks in chunks of at most {@link #CHUNK_ROWS} rows (one
 * {@link Network.Workspace} per partition) into one accumulator, and the accumulators are merged
 * with {@code treeAggregate} of the given depth. The broadcast is destroyed afterwards, also on
 * failure.
 *
 * <p>The {@code accumulate} helpers do the per-partition work and can be used in-process.
 */
public final class Evaluator {
  /** Rows per {@link Network#predict} call. */
  public static final int CHUNK_ROWS = 1024;

  private Evaluator() {
  }

  /** Classification metrics of {@code net} with {@code params} over {@code blocks} (class-index labels). */
  public static ClassificationMetrics classification(JavaRDD<Block> blocks, Network net, float[] params, int depth) {
    int k = Predictions.numClasses(net);
    check(net, params, depth);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = jsc.broadcast(params);
    try {
      ClassificationAccumulator acc = blocks.mapPartitions((Iterator<Block> it) -> {
        ClassificationAccumulator a = new ClassificationAccumulator(k);
        Network.Workspace ws = net.newWorkspace();
        float[] p = bc.value();
        while (it.hasNext()) accumulate(net, p, it.next(), ws, a);
        return Collections.singletonList(a).iterator();
      }).treeAggregate(new ClassificationAccumulator(k), ClassificationAccumulator::merge,
          ClassificationAccumulator::merge, depth);
      return acc.result();
    } finally {
      bc.destroy();
    }
  }

  /** Regression metrics of {@code net} with {@code params} over {@code blocks} (targets, one per output). */
  public static RegressionMetrics regression(JavaRDD<Block> blocks, Network net, float[] params, int depth) {
    int outputs = net.outputs();
    check(net, params, depth);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = jsc.broadcast(params);
    try {
      RegressionAccumulator acc = blocks.mapPartitions((Iterator<Block> it) -> {
        RegressionAccumulator a = new RegressionAccumulator(outputs);
        Network.Workspace ws = net.newWorkspace();
        float[] p = bc.value();
        while (it.hasNext()) accumulate(net, p, it.next(), ws, a);
        return Collections.singletonList(a).iterator();
      }).treeAggregate(new RegressionAccumulator(outputs), RegressionAccumulator::merge,
          RegressionAccumulator::merge, depth);
      return acc.result();
    } finally {
      bc.destroy();
    }
  }

  /**
   * The weighted mean of the network's own loss ({@link Network#loss}, inference mode, no L2 term)
   * over {@code blocks}; NaN when the total weight is 0.
   */
  public static double loss(JavaRDD<Block> blocks, Network net, float[] params, int depth) {
    check(net, params, depth);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = jsc.broadcast(params);
    try {
      double[] sums = blocks.mapPartitions((Iterator<Block> it) -> {
        double[] s = new double[2];
        Network.Workspace ws = net.newWorkspace();
        float[] p = bc.value();
        while (it.hasNext()) {
          double[] b = lossSums(net, p, it.next(), ws);
          s[0] += b[0];
          s[1] += b[1];
        }
        return Collections.singletonList(s).iterator();
      }).treeAggregate(new double[2], Evaluator::add, Evaluator::add, depth);
      return sums[1] > 0 ? sums[0] / sums[1] : Double.NaN;
    } finally {
      bc.destroy();
    }
  }

  private static double[] add(double[] a, double[] b) {
    a[0] += b[0];
    a[1] += b[1];
    return a;
  }

  private static void check(Network net, float[] params, int depth) {
    if (params.length != net.layout().size()) {
      throw new IllegalArgumentException("parameters: expected " + net.layout().size() + " values for "
          + net + ", found " + params.length);
    }
    if (depth < 1) {
      throw new IllegalArgumentException("treeAggregate depth: expected >= 1, found " + depth);
    }
  }

  private static void checkBlock(Network net, Block b, int labelWidth, String what) {
    if (b.inputs() != net.inputs()) {
      throw new IllegalArgumentException("block: expected " + net.inputs() + " features per row (the"
          + " network's inputs), found " + b.inputs());
    }
    if (b.labelWidth() != labelWidth) {
      throw new IllegalArgumentException("block: expected " + labelWidth + " label values per row ("
          + what + "), found " + b.labelWidth());
    }
    if (b.categorical() != net.categorical()) {
      throw new IllegalArgumentException("block: expected " + net.categorical() + " categorical columns per row (the"
          + " network's embedding tables), found " + b.categorical());
    }
  }

  /** The network's outputs for rows [start, start + n) of {@code b}: dense through buf, sparse through mb. */
  private static float[] predict(Network net, float[] params, Block b, int start, int n, float[] buf, MiniBatch mb,
      Network.Workspace ws) {
    if (mb != null) {
      b.copyRows(null, start, start + n, mb);
      return net.predict(params, mb, ws);
    }
    return net.predict(params, features(b, start, n, buf), n, ws);
  }

  /**
   * A reusable mini-batch for {@code b}'s rows when they need one (CSR features or categorical
   * columns), else null (dense rows are read in place or through a buffer).
   */
  private static MiniBatch batchFor(Block b) {
    return b.isSparse() || b.categorical() > 0 ? new MiniBatch(b.inputs(), b.labelWidth(), b.categorical()) : null;
  }

  /** Features of rows [start, start + n) of {@code b}, starting at index 0 (copied into buf unless whole). */
  private static float[] features(Block b, int start, int n, float[] buf) {
    if (start == 0 && n == b.rows()) {
      return b.features();
    }
    int in = b.inputs();
    System.arraycopy(b.features(), start * in, buf, 0, n * in);
    return buf;
  }

  /** Predicts {@code b} and adds its rows to {@code acc}; labels are class indices (0/1 for binary). */
  public static void accumulate(Network net, float[] params, Block b, Network.Workspace ws,
      ClassificationAccumulator acc) {
    if (b.rows() == 0) {
      return; // an empty partition (a silo without rows) has no shape to check and nothing to add
    }
    checkBlock(net, b, 1, "one class index per row");
    int rows = b.rows();
    MiniBatch mb = batchFor(b);
    float[] buf = mb != null ? null : new float[Math.min(rows, CHUNK_ROWS) * b.inputs()];
    for (int start = 0; start < rows; start += CHUNK_ROWS) {
      int n = Math.min(CHUNK_ROWS, rows - start);
      addClassified(net, predict(net, params, b, start, n, buf, mb, ws), b, start, n, acc);
    }
  }

  /** Adds rows [start, start + n) of {@code b}, whose network outputs are {@code out}, to {@code acc}. */
  private static void addClassified(Network net, float[] out, Block b, int start, int n,
      ClassificationAccumulator acc) {
    float[] y = b.labels();
    float[] w = b.weights();
    int k = acc.numClasses();
    float[] probs = Predictions.classProbabilities(net, out, n);
    for (int r = 0; r < n; r++) {
      float label = y[start + r];
      int c = (int) label;
      if (c != label) {
        throw new IllegalArgumentException("label of row " + (start + r) + ": expected a class index"
            + " in [0, " + k + "), found " + label);
      }
      acc.add(c, probs, r * k, w == null ? 1.0 : w[start + r]);
    }
  }

  /** Predicts {@code b} and adds its rows to {@code acc}; labels are the targets, one per output. */
  public static void accumulate(Network net, float[] params, Block b, Network.Workspace ws,
      RegressionAccumulator acc) {
    if (b.rows() == 0) {
      return;
    }
    int outs = net.outputs();
    checkBlock(net, b, outs, "one target per output");
    int rows = b.rows();
    MiniBatch mb = batchFor(b);
    float[] buf = mb != null ? null : new float[Math.min(rows, CHUNK_ROWS) * b.inputs()];
    for (int start = 0; start < rows; start += CHUNK_ROWS) {
      int n = Math.min(CHUNK_ROWS, rows - start);
      addRegressed(net, predict(net, params, b, start, n, buf, mb, ws), b, start, n, acc);
    }
  }

  /** Adds rows [start, start + n) of {@code b}, whose network outputs are {@code out}, to {@code acc}. */
  private static void addRegressed(Network net, float[] out, Block b, int start, int n, RegressionAccumulator acc) {
    int outs = net.outputs();
    float[] w = b.weights();
    for (int r = 0; r < n; r++) {
      acc.add(b.labels(), (start + r) * outs, out, r * outs, w == null ? 1.0 : w[start + r]);
    }
  }

  /** {loss sum, weight sum} of {@code b} under the network's loss, in chunks. */
  public static double[] lossSums(Network net, float[] params, Block b, Network.Workspace ws) {
    return lossSums(net, params, b, ws, null);
  }

  /**
   * Validation in one job and one forward pass per chunk: the weighted mean loss and the task's
   * metrics (classification for classifiers, else regression).
   */
  public static Validation validation(JavaRDD<Block> blocks, Network net, float[] params, int depth) {
    check(net, params, depth);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = jsc.broadcast(params);
    try {
      return perPartition(blocks, net, bc).treeAggregate(new Validation(net), Validation::merge, Validation::merge,
          depth);
    } finally {
      bc.destroy();
    }
  }

  /**
   * One {@link Validation} per partition, in partition order, from one job and one forward pass:
   * merged they give {@link #validation}'s result; apart, the metrics of each partition (a federated
   * silo's own validation rows, say). The accumulators are small (a k x k confusion matrix, or a few
   * sums per output), so they are collected.
   */
  public static List<Validation> validationByPartition(JavaRDD<Block> blocks, Network net, float[] params) {
    check(net, params, 1);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = jsc.broadcast(params);
    try {
      return perPartition(blocks, net, bc).collect();
    } finally {
      bc.destroy();
    }
  }

  /** One Validation per partition: the loss sums and the metrics' accumulators of its rows. */
  private static JavaRDD<Validation> perPartition(JavaRDD<Block> blocks, Network net, Broadcast<float[]> bc) {
    return blocks.mapPartitions((Iterator<Block> it) -> {
      Validation v = new Validation(net);
      Network.Workspace ws = net.newWorkspace();
      float[] p = bc.value();
      while (it.hasNext()) {
        double[] s = lossSums(net, p, it.next(), ws, v);
        v.lossSum += s[0];
        v.weight += s[1];
      }
      return Collections.singletonList(v).iterator();
    });
  }

  /** The loss and the metrics of one validation pass; mergeable. */
  public static final class Validation implements Serializable {
    private static final long serialVersionUID = 1L;
    private final ClassificationAccumulator classification;
    private final RegressionAccumulator regression;
    private double lossSum;
    private double weight;

    Validation(Network net) {
      boolean cls = Predictions.isClassifier(net);
      classification = cls ? new ClassificationAccumulator(Predictions.numClasses(net)) : null;
      regression = cls ? null : new RegressionAccumulator(net.outputs());
    }

    Validation merge(Validation o) {
      lossSum += o.lossSum;
      weight += o.weight;
      if (classification != null) {
        classification.merge(o.classification);
      } else {
        regression.merge(o.regression);
      }
      return this;
    }

    /** A new Validation holding the merge of {@code parts} (which are left as they are). */
    public static Validation merged(Network net, List<Validation> parts) {
      Validation all = new Validation(net);
      for (Validation v : parts) all.merge(v);
      return all;
    }

    /** The example weight behind it (0 for a partition without rows). */
    public double weight() {
      return weight;
    }

    /** val_loss and the metrics, each prefixed val_: what validation reports after a round or an epoch. */
    public Map<String, Double> toValidationMap() {
      Map<String, Double> out = new LinkedHashMap<>();
      out.put("val_loss", loss());
      metrics().forEach((k, m) -> out.put("val_" + k, m));
      return out;
    }

    /** Weighted mean loss; NaN when the total weight is 0. */
    public double loss() {
      return weight > 0 ? lossSum / weight : Double.NaN;
    }

    /** The task's metrics by name (ClassificationMetrics or RegressionMetrics toMap()). */
    public Map<String, Double> metrics() {
      return classification != null ? classification.result().toMap() : regression.result().toMap();
    }
  }

  private static double[] lossSums(Network net, float[] params, Block b, Network.Workspace ws, Validation v) {
    if (b.rows() == 0) {
      return new double[2]; // an empty partition (a silo without rows): decoded without a row width
    }
    checkBlock(net, b, net.labelWidth(), "the label width of loss " + net.loss());
    int rows = b.rows();
    int in = b.inputs();
    int lw = b.labelWidth();
    double loss = 0;
    double weight = 0;
    MiniBatch mb = new MiniBatch(in, lw, b.categorical());
    for (int start = 0; start < rows; start += CHUNK_ROWS) {
      int n = Math.min(CHUNK_ROWS, rows - start);
      b.copyRows(null, start, start + n, mb);
      loss += net.loss(params, mb, ws);
      weight += mb.weightSum();
      if (v != null) { // the metrics from the same forward pass
        float[] out = net.lastOutputs(ws, n);
        if (v.classification != null) {
          addClassified(net, out, b, start, n, v.classification);
        } else {
          addRegressed(net, out, b, start, n, v.regression);
        }
      }
    }
    return new double[] {loss, weight};
  }
}
