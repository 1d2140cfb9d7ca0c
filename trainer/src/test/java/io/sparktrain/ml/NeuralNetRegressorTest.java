package io.sparktrain.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.testing.Spark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NeuralNetRegressorTest {
  private static SparkSession spark;
  private static Dataset<Row> train;
  private static Dataset<Row> test;
  private static NeuralNetRegressionModel model;

  static final double NOISE = 0.3;

  /** y = 1.5 x0 - 2 x1 + 0.5 x2 + 3 + noise; y2 = x3 - x0 (for the two-output label). */
  static Dataset<Row> linear(int n, long seed) {
    Random r = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] x = new double[4];
      for (int j = 0; j < 4; j++) x[j] = r.nextGaussian();
      double y = 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + 3 + NOISE * r.nextGaussian();
      double y2 = x[3] - x[0] + NOISE * r.nextGaussian();
      rows.add(RowFactory.create(Vectors.dense(x), y, new double[] {y, y2}));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType)
        .add("targets", DataTypes.createArrayType(DataTypes.DoubleType, false));
    return spark.createDataFrame(rows, schema).repartition(2);
  }

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "NeuralNetRegressorTest");
    train = linear(400, 1).cache();
    test = linear(200, 2).cache();
    model = new NeuralNetRegressor().setHiddenLayers(16).setLearningRate(0.03).setBatchSize(64).setMaxEpochs(12)
        .setSeed(5).fit(train);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static double rmse(Dataset<Row> predictions) {
    return new RegressionEvaluator().setMetricName("rmse").evaluate(predictions);
  }

  @Test
  void reachesTheRmseOfLinearRegression() {
    double nn = rmse(model.transform(test));
    double lr = rmse(new LinearRegression().fit(train).transform(test));
    assertTrue(lr < NOISE * 1.2, "linear regression rmse " + lr);
    System.out.printf("rmse: network %.4f, LinearRegression %.4f%n", nn, lr);
    assertTrue(nn < 2 * lr, "network rmse " + nn + " vs linear regression " + lr);
    assertEquals(DataTypes.DoubleType, model.transform(test).schema().apply("prediction").dataType());
    double[] loss = model.summary().lossHistory();
    assertTrue(loss[loss.length - 1] < loss[0] / 10, "mse must fall: " + loss[0] + " -> " + loss[loss.length - 1]);
  }

  @Test
  void saveLoadGivesIdenticalPredictions(@TempDir Path dir) throws Exception {
    String path = dir.resolve("reg").toString();
    model.write().save(path);
    NeuralNetRegressionModel loaded = NeuralNetRegressionModel.load(path);
    assertEquals("mse", loaded.getLoss());
    List<Row> a = model.transform(test).select("prediction").collectAsList();
    List<Row> b = loaded.transform(test).select("prediction").collectAsList();
    for (int i = 0; i < a.size(); i++) assertEquals(a.get(i).getDouble(0), b.get(i).getDouble(0));
  }

  @Test
  void arrayLabelGivesVectorPredictions() {
    NeuralNetRegressor reg = new NeuralNetRegressor().setLabelCol("targets").setHiddenLayers(16)
        .setLearningRate(0.03).setBatchSize(64).setMaxEpochs(8).setSeed(5).setLoss("huber")
        .setValidationFraction(0.2);
    assertEquals(new VectorUDT(), reg.transformSchema(test.schema()).apply("prediction").dataType());
    NeuralNetRegressionModel m = reg.fit(train);
    assertEquals(2, m.numOutputs());
    NeuralNetTrainingSummary s = m.summary();
    assertTrue(s.validationRows() > 40 && s.validationRows() < 120, "validation rows " + s.validationRows());
    assertEquals(400, s.trainRows() + s.validationRows());
    assertTrue(s.finalValidation().containsKey("val_loss"), s.toString());
    Dataset<Row> out = m.transform(test);
    assertEquals(new VectorUDT(), out.schema().apply("prediction").dataType());
    double se = 0;
    List<Row> rows = out.select("targets", "prediction").collectAsList();
    for (Row r : rows) {
      List<Double> t = r.getList(0);
      double[] p = ((Vector) r.get(1)).toArray();
      assertEquals(2, p.length);
      for (int j = 0; j < 2; j++) se += (t.get(j) - p[j]) * (t.get(j) - p[j]);
    }
    double rmse = Math.sqrt(se / (2 * rows.size()));
    System.out.printf("two-output rmse %.4f%n", rmse);
    assertTrue(rmse < 0.6, "two-output rmse " + rmse);
  }

  @Test
  void badLossAndLabelAreRejected() {
    NeuralNetClassifierTest.assertMessage(() -> new NeuralNetRegressor().setLoss("cross_entropy"), "loss",
        "'cross_entropy'", "mse, mae, huber");
    NeuralNetClassifierTest.assertMessage(() -> new NeuralNetRegressor().setLoss("quantile"), "loss", "'quantile'");
    NeuralNetClassifierTest.assertMessage(() -> new NeuralNetRegressor().setLabelCol("nope").fit(train),
        "labelCol 'nope'", "not found");
    assertArrayEquals(new int[] {64}, new NeuralNetRegressor().getHiddenLayers());
  }
}
