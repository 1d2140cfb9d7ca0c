package io.sparktrain.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Our accumulators against Spark ML's own evaluators on the same (random, weighted) predictions. */
class SparkEvaluatorComparisonTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = SparkSession.builder().master("local[2]").appName("SparkEvaluatorComparisonTest")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        // Tiny data: interpreting the query plans is faster than compiling them (test-only setting).
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
  }

  /** Random classification predictions: labels, K probabilities per row, weights. */
  static final class ClassData {
    final int n;
    final int k;
    final int[] label;
    final float[] probs;
    final double[] weight;

    ClassData(int n, int k, long seed) {
      this.n = n;
      this.k = k;
      Random r = new Random(seed);
      label = new int[n];
      probs = new float[n * k];
      weight = new double[n];
      float[] z = new float[k];
      for (int i = 0; i < n; i++) {
        label[i] = r.nextInt(k);
        weight[i] = i % 97 == 5 ? 0.0 : 0.1 + 2 * r.nextDouble();
        for (int j = 0; j < k; j++) z[j] = (float) (1.5 * r.nextGaussian());
        z[label[i]] += 1f;
        double s = 0;
        for (int j = 0; j < k; j++) s += Math.exp(z[j]);
        for (int j = 0; j < k; j++) probs[i * k + j] = (float) (Math.exp(z[j]) / s);
        if (i % 211 == 3) {
          // A confident, wrong row: p(label) = 0, clipped to 1e-15 by the log-loss.
          for (int j = 0; j < k; j++) probs[i * k + j] = 0f;
          probs[i * k + (label[i] + 1) % k] = 1f;
        }
      }
    }

    int predicted(int i) {
      int best = 0;
      for (int j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
      return best;
    }

    /** Accumulators over a random split of the rows into {@code parts}. */
    ClassificationAccumulator[] split(int parts, long seed) {
      ClassificationAccumulator[] a = new ClassificationAccumulator[parts];
      for (int p = 0; p < parts; p++) a[p] = new ClassificationAccumulator(k);
      Random r = new Random(seed);
      for (int i = 0; i < n; i++) a[r.nextInt(parts)].add(label[i], probs, i * k, weight[i]);
      return a;
    }

    Dataset<Row> frame() {
      List<Row> rows = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        double[] p = new double[k];
        for (int j = 0; j < k; j++) p[j] = probs[i * k + j];
        rows.add(RowFactory.create((double) label[i], (double) predicted(i), Vectors.dense(p), weight[i]));
      }
      StructType schema = new StructType(new StructField[] {
          new StructField("label", DataTypes.DoubleType, false, Metadata.empty()),
          new StructField("prediction", DataTypes.DoubleType, false, Metadata.empty()),
          new StructField("probability", SQLDataTypes.VectorType(), false, Metadata.empty()),
          new StructField("weight", DataTypes.DoubleType, false, Metadata.empty())});
      return spark.createDataFrame(rows, schema).coalesce(1).cache();
    }
  }

  private static ClassificationMetrics mergedInOrder(ClassificationAccumulator[] parts, int[] order) {
    ClassificationAccumulator acc = new ClassificationAccumulator(parts[0].numClasses());
    for (int i : order) acc.merge(parts[i]);
    return acc.result();
  }

  private static void assertClose(double expected, double actual, double tol, String what) {
    assertEquals(expected, actual, tol * Math.max(1, Math.abs(expected)), what);
  }

  private static double spark(Dataset<Row> df, String metric, double label) {
    return new MulticlassClassificationEvaluator().setLabelCol("label").setPredictionCol("prediction")
        .setProbabilityCol("probability").setWeightCol("weight").setMetricName(metric)
        .setMetricLabel(label).evaluate(df);
  }

  private void compareClassification(int k, long seed) throws Exception {
    ClassData d = new ClassData(3000, k, seed);
    ClassificationMetrics m = mergedInOrder(d.split(4, seed + 1), new int[] {0, 1, 2, 3});
    // The same rows split differently and merged in another order, with an empty accumulator.
    ClassificationAccumulator[] other = d.split(5, seed + 2);
    ClassificationAccumulator acc = other[4].merge(new ClassificationAccumulator(k));
    acc = new ClassificationAccumulator(k).merge(other[2]).merge(acc);
    acc = other[0].merge(other[3]).merge(acc).merge(other[1]);
    ClassificationMetrics m2 = acc.result();
    for (Map.Entry<String, Double> e : m.toMap().entrySet()) {
      assertClose(e.getValue(), m2.toMap().get(e.getKey()), 1e-12, "merge order: " + e.getKey());
    }

    Dataset<Row> df = d.frame();
    try {
      assertClose(spark(df, "accuracy", 0), m.accuracy(), 1e-9, "accuracy");
      assertClose(spark(df, "weightedPrecision", 0), m.precisionWeighted(), 1e-9, "weightedPrecision");
      assertClose(spark(df, "weightedRecall", 0), m.recallWeighted(), 1e-9, "weightedRecall");
      assertClose(spark(df, "f1", 0), m.f1Weighted(), 1e-9, "f1 (weighted)");
      assertClose(spark(df, "logLoss", 0), m.logLoss(), 1e-9, "logLoss");
      // Per-class metrics, one Spark evaluation each, rotating over the classes (each Spark call
      // costs a job; all classes are checked against the direct computation below).
      assertClose(spark(df, "precisionByLabel", 0), m.precision(0), 1e-9, "precision 0");
      assertClose(spark(df, "recallByLabel", 1), m.recall(1), 1e-9, "recall 1");
      assertClose(spark(df, "fMeasureByLabel", k - 1), m.f1(k - 1), 1e-9, "f1 " + (k - 1));
      if (k == 2) {
        double sparkAuc = new BinaryClassificationEvaluator().setLabelCol("label")
            .setRawPredictionCol("probability").setWeightCol("weight").setNumBins(0)
            .setMetricName("areaUnderROC").evaluate(df);
        assertEquals(sparkAuc, m.auc(), 1e-3, "areaUnderROC");
        assertTrue(m.auc() > 0.6, "a signal in the data: " + m.auc());
      } else {
        assertTrue(Double.isNaN(m.auc()));
      }
    } finally {
      df.unpersist();
    }

    // Per-class and macro metrics against a direct computation over the rows.
    double[] tp = new double[k];
    double[] predicted = new double[k];
    double[] actual = new double[k];
    double total = 0;
    for (int i = 0; i < d.n; i++) {
      int p = d.predicted(i);
      predicted[p] += d.weight[i];
      actual[d.label[i]] += d.weight[i];
      if (p == d.label[i]) tp[p] += d.weight[i];
      total += d.weight[i];
    }
    double f1Sum = 0;
    double pSum = 0;
    double rSum = 0;
    for (int c = 0; c < k; c++) {
      double prec = predicted[c] == 0 ? 0 : tp[c] / predicted[c];
      double rec = tp[c] / actual[c];
      double f = prec + rec == 0 ? 0 : 2 * prec * rec / (prec + rec);
      assertClose(prec, m.precision(c), 1e-12, "precision " + c);
      assertClose(rec, m.recall(c), 1e-12, "recall " + c);
      assertClose(f, m.f1(c), 1e-12, "f1 " + c);
      pSum += prec;
      rSum += rec;
      f1Sum += f;
    }
    assertClose(f1Sum / k, m.f1Macro(), 1e-12, "f1_macro");
    assertClose(pSum / k, m.precisionMacro(), 1e-12, "precision_macro");
    assertClose(rSum / k, m.recallMacro(), 1e-12, "recall_macro");
    assertClose(total, m.weightedCount(), 1e-12, "weighted count");

    // toJson is valid JSON carrying the same numbers.
    JsonNode json = new ObjectMapper().readTree(m.toJson());
    for (Map.Entry<String, Double> e : m.toMap().entrySet()) {
      assertEquals(e.getValue(), json.get(e.getKey()).asDouble(), 0.0, "json " + e.getKey());
    }
    assertEquals(k, json.get("num_classes").asInt());
    assertEquals(k, json.get("confusion_matrix").size());
    assertEquals(m.confusionMatrix()[k - 1][0], json.get("confusion_matrix").get(k - 1).get(0).asDouble(), 0.0);
    assertEquals(m.f1(1), json.get("f1").get(1).asDouble(), 0.0);
  }

  @Test
  void multiclassMatchesSpark() throws Exception {
    compareClassification(3, 11);
  }

  @Test
  void binaryMatchesSparkIncludingAuc() throws Exception {
    compareClassification(2, 23);
  }

  @Test
  void regressionMatchesSpark() throws Exception {
    int n = 2000;
    int outs = 2;
    Random r = new Random(5);
    float[] y = new float[n * outs];
    float[] p = new float[n * outs];
    double[] w = new double[n];
    List<Row> rows = new ArrayList<>(n);
    List<Row> unit = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      w[i] = 0.2 + 1.5 * r.nextDouble();
      for (int j = 0; j < outs; j++) {
        y[i * outs + j] = (float) (3 * j + (1 + j) * r.nextGaussian());
        p[i * outs + j] = (float) (0.8 * y[i * outs + j] + 0.5 * r.nextGaussian());
      }
      rows.add(RowFactory.create((double) y[i * 2], (double) p[i * 2], (double) y[i * 2 + 1],
          (double) p[i * 2 + 1], w[i]));
      unit.add(RowFactory.create((double) y[i * 2], (double) p[i * 2], (double) y[i * 2 + 1],
          (double) p[i * 2 + 1], 1.0));
    }
    RegressionAccumulator[] parts = new RegressionAccumulator[3];
    RegressionAccumulator[] unitParts = new RegressionAccumulator[3];
    for (int q = 0; q < 3; q++) {
      parts[q] = new RegressionAccumulator(outs);
      unitParts[q] = new RegressionAccumulator(outs);
    }
    for (int i = 0; i < n; i++) {
      parts[i % 3].add(y, i * outs, p, i * outs, w[i]);
      unitParts[(i * 7) % 3].add(y, i * outs, p, i * outs, 1.0);
    }
    RegressionMetrics m = new RegressionAccumulator(outs).merge(parts[2]).merge(parts[0]).merge(parts[1]).result();
    RegressionMetrics mu = unitParts[1].merge(unitParts[0]).merge(new RegressionAccumulator(outs))
        .merge(unitParts[2]).result();

    StructType schema = new StructType(new StructField[] {
        new StructField("y0", DataTypes.DoubleType, false, Metadata.empty()),
        new StructField("p0", DataTypes.DoubleType, false, Metadata.empty()),
        new StructField("y1", DataTypes.DoubleType, false, Metadata.empty()),
        new StructField("p1", DataTypes.DoubleType, false, Metadata.empty()),
        new StructField("weight", DataTypes.DoubleType, false, Metadata.empty())});
    Dataset<Row> df = spark.createDataFrame(rows, schema).coalesce(1).cache();
    Dataset<Row> dfu = spark.createDataFrame(unit, schema).coalesce(1).cache();
    try {
      double[] sparkMse = new double[outs];
      for (int j = 0; j < outs; j++) {
        RegressionEvaluator ev = new RegressionEvaluator().setLabelCol("y" + j).setPredictionCol("p" + j)
            .setWeightCol("weight");
        sparkMse[j] = ev.setMetricName("mse").evaluate(df);
        assertClose(sparkMse[j], m.mse(j), 1e-9, "mse " + j);
        if (j == 0) {
          assertClose(ev.setMetricName("rmse").evaluate(df), m.rmse(j), 1e-9, "rmse " + j);
        }
        assertClose(ev.setMetricName("mae").evaluate(df), m.mae(j), 1e-9, "mae " + j);
        assertClose(ev.setMetricName("r2").evaluate(dfu), mu.r2(j), 1e-9, "r2 (unit weights) " + j);

        // Weighted r2 against the direct two-pass definition 1 - sum w (y-p)^2 / sum w (y - ybar_w)^2.
        double sw = 0;
        double sw2 = 0;
        double swy = 0;
        for (int i = 0; i < n; i++) {
          sw += w[i];
          sw2 += w[i] * w[i];
          swy += w[i] * y[i * outs + j];
        }
        double mean = swy / sw;
        double res = 0;
        double tot = 0;
        for (int i = 0; i < n; i++) {
          double yi = y[i * outs + j];
          res += w[i] * (yi - p[i * outs + j]) * (yi - p[i * outs + j]);
          tot += w[i] * (yi - mean) * (yi - mean);
        }
        assertClose(1 - res / tot, m.r2(j), 1e-9, "weighted r2 " + j);
        // Spark's weighted r2 differs: its SStot is the unbiased weighted variance times (W - 1),
        // i.e. tot * (W - 1) / (W - sum w^2 / W); equal to ours for unit weights only.
        if (j == 0) {
          double sparkTot = tot * (sw - 1) / (sw - sw2 / sw);
          assertClose(1 - res / sparkTot, ev.setMetricName("r2").evaluate(df), 1e-9, "Spark's weighted r2");
        }
      }
      assertClose((sparkMse[0] + sparkMse[1]) / 2, m.mse(), 1e-9, "mse, uniform average");
      assertClose((m.rmse(0) + m.rmse(1)) / 2, m.rmse(), 1e-12, "rmse, uniform average");
      assertClose((m.r2(0) + m.r2(1)) / 2, m.r2(), 1e-12, "r2, uniform average");
    } finally {
      df.unpersist();
      dfu.unpersist();
    }
    JsonNode json = new ObjectMapper().readTree(m.toJson());
    assertEquals(m.r2(), json.get("r2").asDouble(), 0.0);
    assertEquals(m.mae(1), json.get("mae_per_output").get(1).asDouble(), 0.0);
    assertEquals(List.of("mse", "rmse", "mae", "r2"), new ArrayList<>(m.toMap().keySet()));
  }
}
