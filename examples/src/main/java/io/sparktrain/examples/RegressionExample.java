package io.sparktrain.examples;

import io.sparktrain.ml.NeuralNetRegressionModel;
import io.sparktrain.ml.NeuralNetRegressor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Regression on a non-linear target, y = sin(2 x1) + x2^2 - x1 x3 + noise: a
 * {@link NeuralNetRegressor} (3-64-64-1, tanh, MSE) against Spark's LinearRegression, which cannot
 * represent the curvature. Run: {@code scripts/example.sh RegressionExample}.
 */
public final class RegressionExample {
  private RegressionExample() {
  }

  static Dataset<Row> data(SparkSession spark, int n, long seed) {
    Random r = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double x1 = 2 * r.nextDouble() - 1;
      double x2 = 2 * r.nextDouble() - 1;
      double x3 = 2 * r.nextDouble() - 1;
      double y = Math.sin(2 * x1) + x2 * x2 - x1 * x3 + 0.05 * r.nextGaussian();
      rows.add(RowFactory.create(Vectors.dense(x1, x2, x3), y));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    return spark.createDataFrame(rows, schema).repartition(2);
  }

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().master("local[*]").appName("regression-example")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      Dataset<Row> train = data(spark, 4000, 1);
      Dataset<Row> test = data(spark, 1000, 2);
      NeuralNetRegressionModel net = new NeuralNetRegressor()
          .setHiddenLayers(new int[] {64, 64})
          .setActivation("tanh")
          .setLoss("mse")
          .setMode("average")          // 8 local steps per round: 4 rounds per epoch, not 63
          .setLocalSteps(8)
          .setBatchSize(64)
          .setLearningRate(3e-3)
          .setMaxEpochs(30)
          .setSeed(7L)
          .fit(train);
      RegressionEvaluator rmse = new RegressionEvaluator().setMetricName("rmse");
      double nnRmse = rmse.evaluate(net.transform(test));
      double linRmse = rmse.evaluate(new LinearRegression().fit(train).transform(test));
      System.out.printf(Locale.ROOT, "test rmse: network %.4f, linear regression %.4f (noise 0.05)%n", nnRmse,
          linRmse);
    } finally {
      spark.stop();
    }
  }
}
