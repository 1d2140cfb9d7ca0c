package io.sparktrain.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Evaluator over a JavaRDD of Blocks equals the same accumulation done in-process, row by row. */
class EvaluatorTest {
  private static SparkSession spark;
  private static JavaSparkContext jsc;

  @BeforeAll
  static void start() {
    spark = SparkSession.builder().master("local[2]").appName("EvaluatorTest")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
  }

  /** A block of random features; labels from {@code labeler} (class index, 0/1 or targets). */
  private static Block block(int rows, int inputs, int labelWidth, int classes, boolean weighted, long seed) {
    Random r = new Random(seed);
    float[] x = new float[rows * inputs];
    float[] y = new float[rows * labelWidth];
    float[] w = weighted ? new float[rows] : null;
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    for (int i = 0; i < y.length; i++) y[i] = classes > 0 ? r.nextInt(classes) : (float) r.nextGaussian();
    if (w != null) for (int i = 0; i < rows; i++) w[i] = 0.25f + r.nextFloat();
    return new Block(rows, inputs, labelWidth, x, y, w);
  }

  /**
   * Blocks of 2500 (more than one predict chunk), 300, 0 and 77 rows, over 5 partitions: one
   * partition holds no block at all, one holds an empty block.
   */
  private static List<Block> blocks(int inputs, int labelWidth, int classes, long seed) {
    return Arrays.asList(block(2500, inputs, labelWidth, classes, true, seed),
        block(300, inputs, labelWidth, classes, true, seed + 1), Block.empty(inputs, labelWidth, true),
        block(77, inputs, labelWidth, classes, true, seed + 2));
  }

  private static JavaRDD<Block> rdd(List<Block> blocks) {
    JavaRDD<Block> rdd = jsc.parallelize(blocks, 5);
    List<Integer> sizes = rdd.glom().map(List::size).collect();
    assertTrue(sizes.contains(0), "an empty partition: " + sizes);
    return rdd;
  }

  private static void assertSame(Map<String, Double> expected, Map<String, Double> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    for (Map.Entry<String, Double> e : expected.entrySet()) {
      double x = e.getValue();
      assertEquals(x, actual.get(e.getKey()), 1e-9 * Math.max(1, Math.abs(x)), e.getKey());
    }
  }

  /** In-process reference: predicts each whole block at once and adds row by row. */
  private static ClassificationMetrics local(Network net, float[] params, List<Block> blocks) {
    int k = Predictions.numClasses(net);
    ClassificationAccumulator acc = new ClassificationAccumulator(k);
    Network.Workspace ws = net.newWorkspace();
    for (Block b : blocks) {
      float[] probs = Predictions.classProbabilities(net, net.predict(params, b.features(), b.rows(), ws), b.rows());
      for (int i = 0; i < b.rows(); i++) acc.add((int) b.labels()[i], probs, i * k, b.weights()[i]);
    }
    return acc.result();
  }

  @Test
  void multiclassOverPartitionsEqualsInProcess() {
    Network net = Network.builder(5).dense(8, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    float[] params = net.initParameters(3);
    List<Block> blocks = blocks(5, 1, 3, 100);
    JavaRDD<Block> rdd = rdd(blocks);
    ClassificationMetrics dist = Evaluator.classification(rdd, net, params, 2);
    ClassificationMetrics ref = local(net, params, blocks);
    assertSame(ref.toMap(), dist.toMap());
    assertEquals(ref.weightedCount(), dist.weightedCount(), 1e-9);
    double[][] a = ref.confusionMatrix();
    double[][] b = dist.confusionMatrix();
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) assertEquals(a[i][j], b[i][j], 1e-9);
    }

    // The weighted mean loss: the network's own loss over all rows, in one in-process batch.
    double lossSum = 0;
    double weight = 0;
    Network.Workspace ws = net.newWorkspace();
    for (Block blk : blocks) {
      MiniBatch mb = MiniBatch.wrap(5, 1, blk.features(), blk.labels(), blk.weights(), blk.rows());
      lossSum += net.loss(params, mb, ws);
      weight += mb.weightSum();
    }
    assertEquals(lossSum / weight, Evaluator.loss(rdd, net, params, 2), 1e-6);
    // For softmax cross-entropy the mean loss is the (unclipped) log-loss.
    assertEquals(dist.logLoss(), lossSum / weight, 1e-5);
  }

  @Test
  void validationByPartitionGivesEachPartitionsOwnMetricsInOneJob() {
    Network net = Network.builder(5).dense(8, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    float[] params = net.initParameters(4);
    List<Block> blocks = blocks(5, 1, 3, 200);
    JavaRDD<Block> rdd = rdd(blocks);
    List<List<Block>> byPartition = rdd.glom().collect();
    List<Evaluator.Validation> parts = Evaluator.validationByPartition(rdd, net, params);
    assertEquals(byPartition.size(), parts.size(), "one Validation per partition, in partition order");
    for (int p = 0; p < parts.size(); p++) {
      List<Block> own = byPartition.get(p);
      double rows = own.stream().mapToInt(Block::rows).sum();
      if (rows == 0) {
        assertEquals(0.0, parts.get(p).weight(), "partition " + p + " has no rows");
        continue;
      }
      // Against the in-process reference on that partition's blocks alone.
      assertSame(local(net, params, own).toMap(), parts.get(p).metrics());
    }
    // Merged, they are the one-pass validation of the whole RDD.
    Map<String, Double> all = Evaluator.Validation.merged(net, parts).toValidationMap();
    assertSame(Evaluator.validation(rdd, net, params, 2).toValidationMap(), all);
    assertEquals(Evaluator.loss(rdd, net, params, 2), all.get("val_loss"), 1e-9);
  }

  @Test
  void binaryLogitOverPartitionsEqualsInProcess() {
    Network net = Network.builder(4).dense(6, Activation.RELU).dense(1, Activation.IDENTITY)
        .loss(Loss.BINARY_CROSS_ENTROPY).build();
    float[] params = net.initParameters(9);
    List<Block> blocks = blocks(4, 1, 2, 200);
    ClassificationMetrics dist = Evaluator.classification(rdd(blocks), net, params, 3);
    ClassificationMetrics ref = local(net, params, blocks);
    assertSame(ref.toMap(), dist.toMap());
    assertTrue(ref.toMap().containsKey("auc"));
  }

  @Test
  void regressionOverPartitionsEqualsInProcess() {
    Network net = Network.builder(4).dense(6, Activation.GELU).dense(2, Activation.IDENTITY)
        .loss(Loss.MSE).build();
    float[] params = net.initParameters(4);
    List<Block> blocks = blocks(4, 2, 0, 300);
    RegressionMetrics dist = Evaluator.regression(rdd(blocks), net, params, 2);
    RegressionAccumulator acc = new RegressionAccumulator(2);
    Network.Workspace ws = net.newWorkspace();
    for (Block b : blocks) {
      float[] out = net.predict(params, b.features(), b.rows(), ws);
      for (int i = 0; i < b.rows(); i++) acc.add(b.labels(), 2 * i, out, 2 * i, b.weights()[i]);
    }
    assertSame(acc.result().toMap(), dist.toMap());
    // Loss.MSE is the mean over outputs of the squared error, so its weighted mean equals mse().
    assertEquals(dist.mse(), Evaluator.loss(rdd(blocks), net, params, 2), 1e-5);
  }

  @Test
  void rejectsMismatchedInputs() {
    Network net = Network.builder(4).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    JavaRDD<Block> rdd = jsc.parallelize(Arrays.asList(block(10, 4, 1, 3, false, 1)), 1);
    assertThrows(IllegalArgumentException.class, () -> Evaluator.classification(rdd, net, new float[3], 2));
    assertThrows(IllegalArgumentException.class,
        () -> Evaluator.classification(rdd, net, net.initParameters(1), 0));
    Network reg = Network.builder(4).dense(2, Activation.IDENTITY).loss(Loss.MSE).build();
    assertThrows(IllegalArgumentException.class,
        () -> Evaluator.classification(rdd, reg, reg.initParameters(1), 2));
  }
}
