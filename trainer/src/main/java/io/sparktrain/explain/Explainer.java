package io.sparktrain.explain;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Network;
import io.sparktrain.train.OrderedAggregate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Feature attributions of a network over a whole DataFrame, computed where the rows are.
 *
 * <p><b>How it runs.</b> The DataFrame is decoded once into cached {@link Block}s (as for training
 * and evaluation, with the same input checks and error messages); the parameters are broadcast; each
 * partition explains its own block with one workspace ({@link GradientAttribution} or
 * {@link PermutationImportance}) into one small accumulator (per-unit sums, per-class sums, a sample
 * of rows; or metric sums per unit and repeat), and the accumulators are merged in partition order
 * with a tree of {@code depth} levels ({@link OrderedAggregate}), so the result does not depend on
 * task timing. Rows never leave their partition: with {@code perPartition} each partition's
 * accumulator is also kept, which for a federated model's silos is the per-silo explanation. The
 * broadcast is destroyed afterwards, also on failure.
 *
 * <p><b>Cost</b>, n rows of D features: gradient x input, one forward and one input-gradient pass per
 * row; integrated gradients, m (m + 1 for the trapezoid rule) of each per row, plus one pass over
 * the blocks for the means baseline; permutation importance, R x D forward passes through layers
 * 1..L-1 per row, all in one pass over each block (the first layer is updated by a rank-one term, see
 * {@link PermutationImportance}).
 *
 * <p>Refused, before any Spark job, with a message naming the part: models with categorical
 * (embedding) inputs, sparse (CSR) features, permutation without a label column, a feature group or
 * target out of range, a baseline row of the wrong length.
 */
public final class Explainer {
  private Explainer() {
  }

  /**
   * Decodes {@code df} with {@code spec} (features, label; its numFeatures should be the model's, so
   * that a row of the wrong width stops the decoding with the usual message), explains it with the
   * network and its input scaling (null when it takes raw features), and releases the cache.
   * The label column may be missing for the gradient methods.
   */
  public static Explanation explain(Dataset<Row> df, InputSpec spec, Network net, float[] params,
      InputScaling scaling, ExplainOptions o) {
    checkModel(net, params, scaling);
    // What can be checked on the driver is checked before the decoding job.
    ModelOutput.of(net, o.output(), o.target());
    Units.of(featureNames(spec, net.inputs()), o.groups());
    checkBaseline(net.inputs(), o);
    boolean hasLabels = Arrays.asList(df.columns()).contains(spec.labelCol());
    if (!hasLabels) {
      if (o.method() == ExplainOptions.Method.PERMUTATION) {
        throw new InvalidInputException("label column '" + spec.labelCol() + "': not found; permutation importance"
            + " needs the labels; the DataFrame has columns " + Arrays.toString(df.columns()));
      }
      int lw = net.labelWidth();
      Column zero = functions.lit(0.0);
      Column[] zeros = new Column[lw];
      Arrays.fill(zeros, zero);
      // The gradient methods read no label: a placeholder lets the decoder run as for evaluation.
      df = df.withColumn(spec.labelCol(), lw == 1 || spec.task() == InputSpec.Task.CLASSIFICATION ? zero
          : functions.array(zeros));
    }
    TrainingData data = TrainingData.decode(df, spec, "explained");
    try {
      return explain(data, net, params, scaling, featureNames(spec, data.numFeatures()), hasLabels, o);
    } finally {
      data.unpersist();
    }
  }

  /** The features' names: the columns when there are several, else {@code col[j]}. */
  public static List<String> featureNames(InputSpec spec, int d) {
    List<String> cols = spec.featureCols();
    if (cols.size() == d && d > 1) {
      return List.copyOf(cols);
    }
    List<String> names = new ArrayList<>(d);
    for (int j = 0; j < d; j++) names.add(cols.get(0) + "[" + j + "]");
    return names;
  }

  /**
   * Explains the cached rows of {@code data} (raw features; {@code scaling} is applied inside, as the
   * model does) with {@code net} and {@code params}. {@code hasLabels}: whether the blocks' labels are
   * real (permutation needs them).
   */
  public static Explanation explain(TrainingData data, Network net, float[] params, InputScaling scaling,
      List<String> featureNames, boolean hasLabels, ExplainOptions o) {
    long t0 = System.nanoTime();
    checkModel(net, params, scaling);
    int d = net.inputs();
    if (data.numFeatures() != d) {
      throw new InvalidInputException("features: expected " + d + " values per row (the model's numFeatures), found "
          + data.numFeatures());
    }
    if (featureNames.size() != d) {
      throw new IllegalArgumentException("feature names: expected " + d + ", found " + featureNames.size());
    }
    if (data.sparsePartitions() > 0) {
      throw new InvalidInputException("explain: expected dense features, found sparse vectors (CSR) in "
          + data.sparsePartitions() + " partitions; attributions of every feature need dense rows");
    }
    if (o.method() == ExplainOptions.Method.PERMUTATION && !hasLabels) {
      throw new InvalidInputException("permutation importance needs labels; the data has none");
    }
    ModelOutput f = ModelOutput.of(net, o.output(), o.target());
    Units units = Units.of(featureNames, o.groups());
    Explanation e;
    if (o.method() == ExplainOptions.Method.PERMUTATION) {
      e = permutation(data, net, params, scaling, f, units, featureNames, o);
    } else {
      float[] baseline = null;
      if (o.method() == ExplainOptions.Method.INTEGRATED_GRADIENTS) {
        baseline = baseline(data, d, o);
      }
      e = gradients(data, net, params, scaling, f, units, featureNames, baseline, hasLabels, o);
    }
    e.setSeconds((System.nanoTime() - t0) / 1e9);
    return e;
  }

  private static void checkModel(Network net, float[] params, InputScaling scaling) {
    if (net.categorical() > 0) {
      throw new InvalidInputException("explain: expected a model of numeric features only, found " + net.categorical()
          + " categorical columns (embedding tables); their attributions are not supported");
    }
    if (net.inputs() == 0) {
      throw new InvalidInputException("explain: expected a model with numeric features, found none");
    }
    net.layout().check(params, "model parameters");
    if (scaling != null && scaling.size() != net.inputs()) {
      throw new IllegalArgumentException("input scaling: expected " + net.inputs() + " features, found "
          + scaling.size());
    }
  }

  private static void checkBaseline(int d, ExplainOptions o) {
    if (o.baseline() == ExplainOptions.Baseline.ROW && o.baselineRow().length != d) {
      throw new InvalidInputException("baseline row: expected " + d + " values (the model's numFeatures), found "
          + o.baselineRow().length);
    }
  }

  private static float[] baseline(TrainingData data, int d, ExplainOptions o) {
    switch (o.baseline()) {
      case ZEROS:
        return new float[d];
      case ROW:
        checkBaseline(d, o);
        return o.baselineRow();
      case MEANS: {
        double[] mean = data.featureMoments(o.depth()).mean();
        float[] row = new float[d];
        for (int j = 0; j < d; j++) row[j] = (float) mean[j];
        return row;
      }
      default:
        throw new AssertionError(o.baseline());
    }
  }

  private static Explanation gradients(TrainingData data, Network net, float[] params, InputScaling scaling,
      ModelOutput f, Units units, List<String> names, float[] baseline, boolean hasLabels, ExplainOptions o) {
    JavaRDD<Block> blocks = data.blocks();
    Broadcast<float[]> bc = JavaSparkContext.fromSparkContext(blocks.context()).broadcast(params);
    int u = units.size();
    int k = f.classes();
    int limit = o.sampleRows();
    try {
      blocks.context().setJobDescription("sparktrain explain: " + o.method().key() + " over "
          + data.numPartitions() + " partitions");
      JavaRDD<AttributionSums> parts = blocks.mapPartitionsWithIndex((p, it) -> {
        AttributionSums acc = new AttributionSums(u, k, limit);
        GradientAttribution work = new GradientAttribution(net, bc.value(), scaling, f, units, o, baseline);
        while (it.hasNext()) work.run(p, it.next(), hasLabels, acc);
        return List.of(acc).iterator();
      }, true);
      AttributionSums all;
      List<Explanation> per = new ArrayList<>();
      if (o.perPartition()) {
        List<AttributionSums> list = parts.collect();
        all = new AttributionSums(u, k, limit);
        for (int p = 0; p < list.size(); p++) {
          per.add(Explanation.ofAttributions(o, f, names, units, p, list.get(p), baseline));
          all.merge(list.get(p));
        }
      } else {
        all = OrderedAggregate.aggregate(parts, () -> new AttributionSums(u, k, limit), AttributionSums::merge,
            o.depth());
      }
      Explanation e = Explanation.ofAttributions(o, f, names, units, -1, all, baseline);
      e.setPartitions(per);
      return e;
    } finally {
      blocks.context().setJobDescription(null);
      bc.destroy();
    }
  }

  private static Explanation permutation(TrainingData data, Network net, float[] params, InputScaling scaling,
      ModelOutput f, Units units, List<String> names, ExplainOptions o) {
    JavaRDD<Block> blocks = data.blocks();
    Broadcast<float[]> bc = JavaSparkContext.fromSparkContext(blocks.context()).broadcast(params);
    int u = units.size();
    int reps = o.repeats();
    long[] partRows = data.partitionRows();
    try {
      blocks.context().setJobDescription("sparktrain explain: permutation importance of " + u + " units x " + reps
          + " repeats over " + data.numPartitions() + " partitions");
      JavaRDD<PermutationImportance.Sums> parts = blocks.mapPartitionsWithIndex((p, it) -> {
        PermutationImportance.Sums acc = new PermutationImportance.Sums(u, reps);
        PermutationImportance work = new PermutationImportance(net, bc.value(), scaling, units, o);
        while (it.hasNext()) work.run(p, it.next(), acc);
        return List.of(acc).iterator();
      }, true);
      PermutationImportance.Sums all;
      List<Explanation> per = new ArrayList<>();
      if (o.perPartition()) {
        List<PermutationImportance.Sums> list = parts.collect();
        all = new PermutationImportance.Sums(u, reps);
        for (int p = 0; p < list.size(); p++) {
          per.add(Explanation.ofPermutation(o, f, names, units, p, list.get(p), partRows[p]));
          all.merge(list.get(p));
        }
      } else {
        all = OrderedAggregate.aggregate(parts, () -> new PermutationImportance.Sums(u, reps),
            PermutationImportance.Sums::merge, o.depth());
      }
      Explanation e = Explanation.ofPermutation(o, f, names, units, -1, all, data.rows());
      e.setPartitions(per);
      return e;
    } finally {
      blocks.context().setJobDescription(null);
      bc.destroy();
    }
  }
}
