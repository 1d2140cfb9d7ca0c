package io.sparktrain.examples;

import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import java.util.Locale;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Fashion-MNIST with the Spark ML API: a {@link NeuralNetClassifier} (784-256-128-10, ReLU,
 * softmax) fitted on the Parquet training set and evaluated on the test set.
 * Run: {@code scripts/example.sh FashionMnistClassifier [parquet dir] [epochs]} (the script gets
 * the data first).
 */
public final class FashionMnistClassifier {
  private FashionMnistClassifier() {
  }

  public static void main(String[] args) {
    String dir = args.length > 0 ? args[0] : "data/fashion-mnist";
    int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    SparkSession spark = SparkSession.builder().master("local[*]").appName("fashion-mnist-classifier")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      Dataset<Row> train = FashionMnist.load(spark, dir, "train");
      Dataset<Row> test = FashionMnist.load(spark, dir, "test");
      NeuralNetClassifier clf = new NeuralNetClassifier()
          .setHiddenLayers(new int[] {256, 128})
          .setActivation("relu")
          .setMode("average")          // local steps between averaging: few Spark jobs per epoch
          .setLocalSteps(235)          // one pass over a partition of 30,000 rows per round
          .setBatchSize(128)
          .setLearningRate(1e-3)
          .setMaxEpochs(epochs)
          .setValidationFraction(0.05)
          .setSeed(1L);
      NeuralNetClassificationModel model = clf.fit(train.coalesce(2));
      double acc = new MulticlassClassificationEvaluator().setMetricName("accuracy")
          .evaluate(model.transform(test));
      System.out.printf(Locale.ROOT, "epochs %d, final validation %s%n", model.summary().epochs(),
          model.summary().finalValidation());
      System.out.printf(Locale.ROOT, "test accuracy %.4f%n", acc);
    } finally {
      spark.stop();
    }
  }
}
