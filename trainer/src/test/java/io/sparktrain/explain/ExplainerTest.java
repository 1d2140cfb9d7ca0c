package io.sparktrain.explain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.ml.NeuralNetRegressor;
import io.sparktrain.ml.NeuralNetRegressionModel;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Network;
import io.sparktrain.nn.ParameterLayout;
import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Explainer} on a classifier trained (with standardization) on synthetic data where only
 * features 0, 1 and 2 drive the label (the class is the largest of the three; features 3..7 are
 * noise, the features are on different scales). Checked against independent references: a naive
 * permutation importance on the driver (whole rows through {@link Network#predict}), a
 * double-precision forward pass of the model (with its input scaling) whose finite differences give
 * the gradients for integrated gradients and gradient x input, and the completeness axiom.
 */
class ExplainerTest {
  private static final int D = 8;
  private static final double[] SCALES = {1, 10, 0.1, 1, 5, 0.5, 2, 1};
  private static SparkSession spark;
  private static Dataset<Row> data;
  private static Dataset<Row> test;
  private static NeuralNetClassificationModel model;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "ExplainerTest");
    data = synthetic(spark, 900, 7, D).cache();
    test = synthetic(spark, 900, 8, D).cache();
    model = new NeuralNetClassifier().setHiddenLayers(12).setActivation("tanh").setLearningRate(0.03)
        .setBatchSize(64).setMaxEpochs(12).setSeed(3).fit(data);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Rows of {@code d} features (feature j scaled by SCALES[j]); label = argmax of the first three, unscaled. */
  static Dataset<Row> synthetic(SparkSession spark, int n, long seed, int d) {
    return synthetic(spark, n, seed, d, 0);
  }

  /** As above, with each value then set to 0 with probability {@code zeros} (as the blank pixels of images). */
  static Dataset<Row> synthetic(SparkSession spark, int n, long seed, int d, double zeros) {
    Random r = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] x = new double[d];
      for (int j = 0; j < d; j++) x[j] = r.nextGaussian();
      int label = x[0] >= x[1] && x[0] >= x[2] ? 0 : x[1] >= x[2] ? 1 : 2;
      for (int j = 0; j < d; j++) x[j] *= zeros > 0 && r.nextDouble() < zeros ? 0 : SCALES[j % SCALES.length];
      rows.add(RowFactory.create(Vectors.dense(x), (double) label));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    return spark.createDataFrame(rows, schema);
  }

  private static Explanation explain(ExplainOptions o) {
    return model.explain(data, o);
  }

  private static Set<Integer> top(Explanation e, int k) {
    Set<Integer> s = new TreeSet<>();
    for (int i = 0; i < k; i++) s.add(e.ranking()[i]);
    return s;
  }

  @Test
  void theModelLearnedTheData() {
    Dataset<Row> scored = model.transform(data);
    long ok = scored.filter("prediction = label").count();
    assertTrue(ok > 0.9 * 900, "training accuracy " + ok / 900.0);
  }

  @Test
  void everyMethodRanksTheThreeFeaturesThatDriveTheLabelOnTop() {
    for (ExplainOptions.Method m : ExplainOptions.Method.values()) {
      Explanation e = explain(ExplainOptions.builder().method(m).build());
      assertEquals(Set.of(0, 1, 2), top(e, 3), m + ": " + e);
      double[] s = e.scores();
      double weakestDriver = Math.min(s[0], Math.min(s[1], s[2]));
      for (int j = 3; j < D; j++) {
        assertTrue(s[j] < 0.25 * weakestDriver, m + ": noise feature " + j + " scores " + s[j] + " against "
            + weakestDriver);
      }
      assertEquals(900, e.rows());
      assertEquals("features[4]", e.unitName(4));
    }
  }

  @Test
  void perClassAttributionsPointAtTheFeatureThatMakesTheClass() {
    Explanation e = explain(ExplainOptions.builder().steps(16).build());
    long total = 0;
    for (int c = 0; c < 3; c++) {
      double[] mean = e.classMean(c);
      int best = 0;
      for (int j = 1; j < D; j++) {
        if (mean[j] > mean[best]) {
          best = j;
        }
      }
      assertEquals(c, best, "class " + c + ": mean attributions " + Arrays.toString(mean));
      total += e.classCounts()[c];
    }
    assertEquals(900, total);
  }

  @Test
  void permutationImportanceOfANoiseFeatureIsZeroWithinItsNoise() {
    // On held-out rows a noise feature's values are one more draw of what the shuffles draw (it is independent
    // of everything), so the drop's mean over R repeats is 0 up to the spread of one draw: std * sqrt(1 + 1/R).
    Explanation e = model.explain(test, ExplainOptions.builder().method(ExplainOptions.Method.PERMUTATION).repeats(8)
        .build());
    double[] mean = e.dropMean();
    double[] std = e.dropStd();
    for (int j = 3; j < D; j++) {
      assertTrue(Math.abs(mean[j]) <= 4 * std[j] * Math.sqrt(1 + 1.0 / 8) + 1.0 / 900 && Math.abs(mean[j]) < 0.015,
          "feature " + j + ": drop " + mean[j] + " +- " + std[j]);
    }
    for (int j = 0; j < 3; j++) {
      assertTrue(mean[j] > 0.15, "feature " + j + ": drop " + mean[j]);
      assertTrue(std[j] < mean[j] / 3, "feature " + j + ": drop " + mean[j] + " +- " + std[j]);
      assertEquals(8, e.drops(j).length);
      assertTrue(Explanation.meanOf(e.logLossIncreases(j)) > 0.1, "feature " + j);
    }
  }

  @Test
  void aFeatureWhoseWeightsAreZeroHasExactlyZeroImportanceAndTheBaseIsTheEvaluatorsAccuracy() {
    Network net = model.network();
    float[] p = model.parameters();
    ParameterLayout.Entry k = net.layout().kernel(0);
    int h1 = net.sizes()[1];
    Arrays.fill(p, k.offset() + 5 * h1, k.offset() + 6 * h1, 0f); // feature 5 no longer reaches the network
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(3).withNumFeatures(D);
    TrainingData td = TrainingData.decode(data, spec);
    try {
      ExplainOptions o = ExplainOptions.builder().method(ExplainOptions.Method.PERMUTATION).repeats(3).build();
      Explanation e = Explainer.explain(td, net, p, model.inputScaling(), Explainer.featureNames(spec, D), true, o);
      assertArrayEquals(new double[3], e.drops(5), 0.0);
      assertArrayEquals(new double[3], e.logLossIncreases(5), 0.0);
      TrainingData scaled = td.scaled(model.inputScaling());
      try {
        assertEquals(Evaluator.classification(scaled.blocks(), net, p, 2).accuracy(), e.baseMetric(), 1e-12);
      } finally {
        scaled.unpersist();
      }
    } finally {
      td.unpersist();
    }
  }

  @Test
  void permutationImportanceMatchesANaiveReferenceOnTheDriver() {
    permutationMatchesTheReference(data);
    // Where many values are 0, a shuffle leaves many rows as they are, and only the others are run again.
    permutationMatchesTheReference(synthetic(spark, 900, 11, D, 0.6));
  }

  private static void permutationMatchesTheReference(Dataset<Row> rows) {
    ExplainOptions o = ExplainOptions.builder().method(ExplainOptions.Method.PERMUTATION).repeats(2).seed(9).build();
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(3).withNumFeatures(D);
    TrainingData td = TrainingData.decode(rows, spec);
    try {
      Network net = model.network();
      float[] p = model.parameters();
      InputScaling sc = model.inputScaling();
      Explanation e = Explainer.explain(td, net, p, sc, Explainer.featureNames(spec, D), true, o);
      List<Block> blocks = td.blocks().collect();
      assertEquals(2, blocks.size());
      double[] base = correctAndLogLoss(net, p, sc, blocks, -1, -1, 9);
      assertEquals(base[0] / 900, e.baseMetric(), 1e-12);
      assertEquals(base[1] / 900, e.baseLogLoss(), 1e-6);
      for (int j = 0; j < D; j++) {
        for (int r = 0; r < 2; r++) {
          double[] m = correctAndLogLoss(net, p, sc, blocks, j, r, 9);
          // Floats summed in another order may flip a near-tie: allow one row.
          assertEquals(base[0] / 900 - m[0] / 900, e.drops(j)[r], 1.0 / 900 + 1e-12, "feature " + j + " repeat " + r);
          assertEquals(m[1] / 900 - base[1] / 900, e.logLossIncreases(j)[r], 1e-5, "feature " + j + " repeat " + r);
        }
      }
    } finally {
      td.unpersist();
    }
  }

  /** Correct count and log-loss sum over all blocks with feature j shuffled by repeat r's order (j = -1: none). */
  private static double[] correctAndLogLoss(Network net, float[] p, InputScaling sc, List<Block> blocks, int j, int r,
      long seed) {
    double correct = 0;
    double ll = 0;
    for (int part = 0; part < blocks.size(); part++) {
      Block b = blocks.get(part);
      int n = b.rows();
      float[] x = b.features().clone();
      if (j >= 0) {
        int[] pi = PermutationImportance.permutation(seed, part, r, n);
        for (int i = 0; i < n; i++) x[i * D + j] = b.features()[pi[i] * D + j];
      }
      sc.applyDense(x, 0, n);
      float[] out = net.predict(p, x, n, net.newWorkspace());
      for (int i = 0; i < n; i++) {
        int c = (int) b.labels()[i];
        int best = 0;
        for (int q = 1; q < 3; q++) {
          if (out[i * 3 + q] > out[i * 3 + best]) {
            best = q;
          }
        }
        correct += best == c ? 1 : 0;
        ll -= Math.log(Math.max(out[i * 3 + c], 1e-15));
      }
    }
    return new double[] {correct, ll};
  }

  @Test
  void integratedGradientsAreCompleteWithin1e3AtM64() {
    double[] first = ((Vector) test.first().get(0)).toArray();
    float[] row = new float[D];
    for (int j = 0; j < D; j++) row[j] = (float) first[j];
    List<ExplainOptions> settings = List.of(
        ExplainOptions.builder().steps(64).sampleRows(40).build(),
        ExplainOptions.builder().steps(64).meansBaseline().sampleRows(40).build(),
        ExplainOptions.builder().steps(64).output(ExplainOptions.Output.LOGIT).sampleRows(40).build(),
        // From another row a class's probability can cross a sharp boundary on the way (m = 128 is needed for
        // class 2 here); its logit is smooth.
        ExplainOptions.builder().steps(64).baselineRow(row).target(2).output(ExplainOptions.Output.LOGIT)
            .sampleRows(40).build());
    for (ExplainOptions o : settings) {
      assertEquals(ExplainOptions.Rule.GAUSS_LEGENDRE, o.rule());
      Explanation e = explain(o);
      assertTrue(e.completenessGapMax() <= 1e-3, o + ": largest gap " + e.completenessGapMax());
      assertEquals(40, e.sample().size());
      for (Explanation.ExplainedRow r : e.sample()) {
        double sum = Arrays.stream(r.attributions()).sum();
        assertEquals(r.fx() - r.fBaseline(), sum, 1e-3, o + ": row " + r.row() + " of partition " + r.partition());
      }
      // The gap is small against what is being explained.
      assertTrue(Math.abs(e.meanDelta()) > 0.05, o + ": mean F(x) - F(b) " + e.meanDelta());
    }
  }

  /** The second output of a two-output regressor: complete, and the first output's attributions differ. */
  @Test
  void aRegressorsSecondOutputIsExplained() {
    Random r = new Random(4);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      double[] x = new double[D];
      for (int j = 0; j < D; j++) x[j] = r.nextGaussian();
      rows.add(RowFactory.create(Vectors.dense(x), Vectors.dense(x[0] + 0.5 * x[1], 2 * x[2])));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", new VectorUDT());
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    NeuralNetRegressionModel reg = new NeuralNetRegressor().setHiddenLayers(8).setActivation("tanh")
        .setLearningRate(0.03).setBatchSize(64).setMaxEpochs(8).setSeed(5).fit(df);
    for (ExplainOptions.Method m : ExplainOptions.Method.values()) {
      if (m == ExplainOptions.Method.PERMUTATION) {
        continue;
      }
      Explanation second = reg.explain(df, ExplainOptions.builder().method(m).target(1).steps(64).sampleRows(10)
          .build());
      assertEquals(2, second.ranking()[0], m + ": output 1 is 2 x[2]: feature 2 leads");
      if (m == ExplainOptions.Method.INTEGRATED_GRADIENTS) {
        assertTrue(second.completenessGapMax() <= 1e-3, "largest gap " + second.completenessGapMax());
      }
    }
  }

  @Test
  void theRiemannRulesConvergeAsOneOverMSquared() {
    // Midpoint and trapezoid sums err by O(1/m^2) on a smooth path: doubling m quarters the gap. (This model's
    // probability paths are steep enough that midpoint needs m = 128 for 1e-3; Gauss-Legendre is at 1e-6 by m = 32,
    // but from a baseline far from the data, where a path crosses a sharp step, it needed m = 128 too.)
    for (ExplainOptions.Rule rule : List.of(ExplainOptions.Rule.MIDPOINT, ExplainOptions.Rule.TRAPEZOID)) {
      double g32 = explain(ExplainOptions.builder().rule(rule).steps(32).sampleRows(0).build()).completenessGapMean();
      double g64 = explain(ExplainOptions.builder().rule(rule).steps(64).sampleRows(0).build()).completenessGapMean();
      assertTrue(g64 < 0.3 * g32 && g64 > 0.2 * g32 && g64 < 1e-3, rule + ": mean gap " + g32 + " at m = 32, " + g64
          + " at m = 64");
    }
  }

  @Test
  void tiedScoresShareTheirMeanRank() {
    assertArrayEquals(new double[] {1.5, 4, 1.5, 3}, Explanation.averageRanks(new double[] {0, 5, 0, 2}), 0);
    assertArrayEquals(new double[] {2, 2, 2, 4, 5}, Explanation.averageRanks(new double[] {1, 1, 1, 7, 9}), 0);
    assertArrayEquals(new double[] {1, 2}, Explanation.averageRanks(new double[] {Double.NaN, -3}), 0);
  }

  @Test
  void gaussLegendreIntegratesPolynomialsOfDegree2mMinus1Exactly() {
    for (int m : new int[] {1, 2, 5, 16, 64}) {
      double[][] nw = GradientAttribution.gaussLegendre(m);
      for (int k = 0; k <= 2 * m - 1; k++) {
        double s = 0;
        for (int i = 0; i < m; i++) s += nw[1][i] * Math.pow(nw[0][i], k);
        assertEquals(1.0 / (k + 1), s, 1e-12, "m = " + m + ", x^" + k);
      }
      for (int i = 1; i < m; i++) assertTrue(nw[0][i] > nw[0][i - 1] && nw[0][i] < 1 && nw[0][0] > 0);
    }
  }

  @Test
  void integratedGradientsAgreeWithFiniteDifferencesOfTheModel() {
    int m = 16;
    for (ExplainOptions.Output out : ExplainOptions.Output.values()) {
      ExplainOptions o = ExplainOptions.builder().rule(ExplainOptions.Rule.MIDPOINT).steps(m).meansBaseline()
          .output(out).sampleRows(6).build();
      Explanation e = explain(o);
      float[] b = e.baseline();
      Reference ref = new Reference(model, out == ExplainOptions.Output.LOGIT);
      for (Explanation.ExplainedRow r : e.sample()) {
        double[] x = toDoubles(r.features());
        int c = r.target();
        assertEquals(ref.predictedClass(x), c, "row " + r.row());
        assertEquals(ref.f(x, c), r.fx(), 2e-5, "F at row " + r.row());
        assertEquals(ref.f(toDoubles(b), c), r.fBaseline(), 2e-5, "F at the baseline");
        double[] a = r.attributions();
        for (int j = 0; j < D; j++) {
          double g = 0;
          for (int k = 0; k < m; k++) {
            double alpha = (k + 0.5) / m;
            double[] pt = new double[D];
            for (int q = 0; q < D; q++) pt[q] = b[q] + alpha * (x[q] - b[q]);
            g += ref.derivative(pt, c, j) / m;
          }
          double want = (x[j] - b[j]) * g;
          assertEquals(want, a[j], 1e-4 + 1e-3 * Math.abs(want), out + ": row " + r.row() + " feature " + j);
        }
      }
    }
  }

  @Test
  void gradientTimesInputIsTheRawInputTimesTheFiniteDifferenceGradient() {
    Explanation e = explain(ExplainOptions.builder().method(ExplainOptions.Method.GRADIENT_X_INPUT).sampleRows(6)
        .build());
    Reference ref = new Reference(model, false);
    for (Explanation.ExplainedRow r : e.sample()) {
      double[] x = toDoubles(r.features());
      for (int j = 0; j < D; j++) {
        double want = x[j] * ref.derivative(x, r.target(), j);
        assertEquals(want, r.attributions()[j], 1e-5 + 1e-3 * Math.abs(want), "row " + r.row() + " feature " + j);
      }
    }
  }

  @Test
  void groupsAreExplainedAsOneUnit() {
    ExplainOptions.Builder ig = ExplainOptions.builder().steps(8).sampleRows(5);
    Explanation single = explain(ig.build());
    Explanation grouped = explain(ig.group("drivers", 0, 1, 2).group("noise", 3, 4, 5, 6, 7).group("first", 0)
        .build());
    assertEquals(3, grouped.numUnits());
    assertEquals("drivers", grouped.unitName(0));
    for (int i = 0; i < 5; i++) {
      double[] a = single.sample().get(i).attributions();
      double[] g = grouped.sample().get(i).attributions();
      assertEquals(a[0] + a[1] + a[2], g[0], 1e-9);
      assertEquals(a[3] + a[4] + a[5] + a[6] + a[7], g[1], 1e-9);
      assertEquals(a[0], g[2], 1e-12);
    }
    assertEquals(single.meanAbs()[0], grouped.meanAbs()[2], 1e-12);
    Explanation perm = explain(ExplainOptions.builder().method(ExplainOptions.Method.PERMUTATION).repeats(2)
        .group("noise", 3, 4, 5, 6, 7).group("drivers", 0, 1, 2).build());
    assertEquals(List.of(1, 0), List.of(perm.ranking()[0], perm.ranking()[1]));
    assertTrue(perm.dropMean()[1] > 0.4, "drivers shuffled together: " + perm.dropMean()[1]);
  }

  @Test
  void perPartitionResultsAddUpToTheWhole() {
    for (ExplainOptions.Method m : ExplainOptions.Method.values()) {
      ExplainOptions.Builder b = ExplainOptions.builder().method(m).steps(4).repeats(2);
      Explanation whole = explain(b.build());
      Explanation split = explain(b.perPartition(true).build());
      assertEquals(2, split.partitions().size());
      assertArrayEquals(whole.scores(), split.scores(), 1e-12, m.key());
      long rows = 0;
      double[] weighted = new double[D];
      for (Explanation p : split.partitions()) {
        rows += p.rows();
        double[] s = m == ExplainOptions.Method.PERMUTATION ? null : p.meanAbs();
        for (int j = 0; s != null && j < D; j++) weighted[j] += s[j] * p.rows();
        assertEquals(Set.of(0, 1, 2), top(p, 3), m + " partition " + p.partition());
      }
      assertEquals(900, rows);
      if (m != ExplainOptions.Method.PERMUTATION) {
        for (int j = 0; j < D; j++) assertEquals(whole.meanAbs()[j] * 900, weighted[j], 1e-9);
      }
      assertTrue(split.toJson().contains("\"partitions\":[{\"partition\":0"), m.key());
    }
  }

  @Test
  void badInputGetsTheUsualClearErrorBeforeAnyWork() {
    Dataset<Row> narrow = synthetic(spark, 20, 1, D - 1);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> model.explain(narrow, ExplainOptions.builder().build()));
    assertTrue(e.getMessage().matches("features column 'features': expected 8 values \\(numFeatures\\), found 7"
        + " at partition [01] row 0"), e.getMessage());

    Dataset<Row> renamed = data.withColumnRenamed("features", "pixels");
    spark.sparkContext().setJobGroup("explain-checks", "checks", false);
    try {
      e = assertThrows(InvalidInputException.class, () -> model.explain(renamed, ExplainOptions.builder().build()));
      assertEquals("features column 'features': not found; the DataFrame has columns [pixels, label]", e.getMessage());
      e = assertThrows(InvalidInputException.class, () -> model.explain(data.drop("label"),
          ExplainOptions.builder().method(ExplainOptions.Method.PERMUTATION).build()));
      assertTrue(e.getMessage().startsWith("label column 'label': not found; permutation importance needs the labels"),
          e.getMessage());
      e = assertThrows(InvalidInputException.class, () -> model.explain(data, ExplainOptions.builder()
          .group("g", 2, 8).build()));
      assertEquals("group 'g': expected feature indices in 0..7 (the model's 8 features), found 8", e.getMessage());
      e = assertThrows(InvalidInputException.class, () -> model.explain(data, ExplainOptions.builder().target(3)
          .build()));
      assertEquals("target: expected a class in 0..2 (or -1, the predicted class), found 3", e.getMessage());
      e = assertThrows(InvalidInputException.class, () -> model.explain(data, ExplainOptions.builder()
          .baselineRow(new float[3]).build()));
      assertEquals("baseline row: expected 8 values (the model's numFeatures), found 3", e.getMessage());
      assertEquals(0, spark.sparkContext().statusTracker().getJobIdsForGroup("explain-checks").length,
          "these checks run before any Spark job");
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    // The gradient methods need no label column.
    Explanation ok = model.explain(data.drop("label"), ExplainOptions.builder().method(
        ExplainOptions.Method.GRADIENT_X_INPUT).sampleRows(2).build());
    assertTrue(Float.isNaN(ok.sample().get(0).label()));
    assertEquals(Set.of(0, 1, 2), top(ok, 3));
  }

  private static double[] toDoubles(float[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) d[i] = v[i];
    return d;
  }

  /**
   * The model in double precision, written out here: the input scaling, tanh hidden layers, a softmax
   * (or logits) output; F = the probability (or logit) of a class, and its centred finite differences.
   */
  static final class Reference {
    private final Network net;
    private final double[] p;
    private final double[] shift;
    private final double[] scale;
    private final boolean logit;

    Reference(NeuralNetClassificationModel m, boolean logit) {
      this.net = m.network();
      float[] params = m.parameters();
      this.p = new double[params.length];
      for (int i = 0; i < p.length; i++) p[i] = params[i];
      InputScaling s = m.inputScaling();
      this.shift = new double[net.inputs()];
      this.scale = new double[net.inputs()];
      for (int j = 0; j < shift.length; j++) {
        shift[j] = s.shift()[j];
        scale[j] = s.scale()[j];
      }
      this.logit = logit;
    }

    /** The output layer's pre-activations of raw row x. */
    double[] logits(double[] x) {
      int[] sizes = net.sizes();
      double[] a = new double[x.length];
      for (int j = 0; j < x.length; j++) a[j] = (x[j] - shift[j]) * scale[j];
      double[] z = null;
      for (int l = 0; l < net.depth(); l++) {
        ParameterLayout.Entry k = net.layout().kernel(l);
        int bOff = net.layout().bias(l).offset();
        z = new double[sizes[l + 1]];
        for (int o = 0; o < z.length; o++) {
          double s = p[bOff + o];
          for (int i = 0; i < sizes[l]; i++) s += a[i] * p[k.offset() + i * z.length + o];
          z[o] = s;
        }
        if (l < net.depth() - 1) {
          assertEquals(Activation.Kind.TANH, net.layer(l).activation().kind());
          a = new double[z.length];
          for (int o = 0; o < z.length; o++) a[o] = Math.tanh(z[o]);
        }
      }
      return z;
    }

    double f(double[] x, int c) {
      double[] z = logits(x);
      if (logit) {
        return z[c];
      }
      double max = Arrays.stream(z).max().getAsDouble();
      double sum = 0;
      for (double v : z) sum += Math.exp(v - max);
      return Math.exp(z[c] - max) / sum;
    }

    int predictedClass(double[] x) {
      double[] z = logits(x);
      int best = 0;
      for (int i = 1; i < z.length; i++) {
        if (z[i] > z[best]) {
          best = i;
        }
      }
      return best;
    }

    /** dF/dx_j by centred differences, with a step relative to the feature's scale. */
    double derivative(double[] x, int c, int j) {
      double h = 1e-5 / scale[j];
      double[] q = x.clone();
      q[j] = x[j] + h;
      double plus = f(q, c);
      q[j] = x[j] - h;
      double minus = f(q, c);
      return (plus - minus) / (2 * h);
    }
  }
}
