package io.sparktrain.driver.report;

import io.sparktrain.eval.ClassificationMetrics;
import io.sparktrain.eval.RegressionMetrics;
import io.sparktrain.train.MetricsHistory;
import io.sparktrain.train.TestEvents;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Realistic run reports made up for the tests: the history goes through MetricsHistory as in a run. */
final class SyntheticRuns {
  static final int EPOCHS = 5;
  static final int ROUNDS_PER_EPOCH = 40;
  static final int VALIDATE_EVERY = 20;
  static final List<String> LABELS = List.of("T-shirt/top", "Trouser & co", "Pullover");

  private SyntheticRuns() {
  }

  static RunReport classification(String name) {
    MetricsHistory h = history(false);
    double[][] confusion = {{871, 45, 84}, {12, 968, 20}, {95, 18, 887}};
    ClassificationMetrics test = new ClassificationMetrics(confusion, 0.3127, 3000, Double.NaN);
    return new RunReport(name, "classification", config(name, "classification"), data(true), blas(), timings(),
        h.records(), test, null, LABELS);
  }

  /** Ten classes with Fashion-MNIST's long labels, large counts: for the heat map's layout. */
  static RunReport tenClasses(String name) {
    List<String> labels = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
        "Sneaker", "Bag", "Ankle boot with a very long label");
    Random rnd = new Random(3);
    double[][] confusion = new double[10][10];
    for (int i = 0; i < 10; i++) {
      int left = 12000;
      for (int j = 0; j < 10; j++) {
        if (j != i) {
          int c = (i == 6 || j == 6) ? rnd.nextInt(900) : rnd.nextInt(120);
          confusion[i][j] = c;
          left -= c;
        }
      }
      confusion[i][i] = left;
    }
    ClassificationMetrics test = new ClassificationMetrics(confusion, 0.3127, 120000, Double.NaN);
    return new RunReport(name, "classification", config(name, "classification"), data(true), blas(), timings(),
        history(false).records(), test, null, labels);
  }

  static RunReport regression(String name) {
    MetricsHistory h = history(true);
    RegressionMetrics test = new RegressionMetrics(new double[] {0.2481, 0.1032}, new double[] {0.3810, 0.2417},
        new double[] {0.8123, 0.9011}, 3000);
    return new RunReport(name, "regression", config(name, "regression"), data(false), blas(), timings(),
        h.records(), null, test, List.of());
  }

  private static String blas() {
    return "dev.ludovic.netlib.blas.VectorBLAS (Java Vector API), 2 cores";
  }

  private static Map<String, Object> data(boolean classification) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("train_rows", 54000L);
    d.put("validation_rows", 6000L);
    d.put("test_rows", 3000L);
    d.put("num_features", 784);
    d.put(classification ? "num_classes" : "outputs", classification ? 3 : 2);
    return d;
  }

  private static Map<String, Double> timings() {
    Map<String, Double> t = new LinkedHashMap<>();
    t.put("decode_s", 4.21);
    t.put("train_s", 38.7);
    t.put("validation_s", 6.12);
    t.put("test_s", 1.93);
    t.put("write_s", 0.84);
    t.put("total_s", 53.4);
    return t;
  }

  /** 5 epochs of 40 rounds, 1350 rows a round, validation every 20 rounds and after each epoch. */
  private static MetricsHistory history(boolean regression) {
    MetricsHistory h = new MetricsHistory();
    Random rnd = new Random(7);
    double elapsed = 0;
    long round = 0;
    for (int e = 1; e <= EPOCHS; e++) {
      double epochLoss = 0;
      double epochSeconds = 0;
      Map<String, Double> val = Map.of();
      for (int r = 1; r <= ROUNDS_PER_EPOCH; r++) {
        round++;
        double loss = trainLoss(round, regression) * (1 + 0.12 * rnd.nextGaussian());
        double secs = 0.19 + 0.03 * rnd.nextDouble();
        elapsed += secs;
        epochLoss += loss;
        epochSeconds += secs;
        Map<String, Double> rv = round % VALIDATE_EVERY == 0 ? validation(round, regression) : Map.of();
        if (!rv.isEmpty()) {
          val = rv;
        }
        h.onRound(TestEvents.round(e, EPOCHS, round, r, ROUNDS_PER_EPOCH, loss, 1350, secs, elapsed, rv));
      }
      h.onEpoch(TestEvents.epoch(e, EPOCHS, round, epochLoss / ROUNDS_PER_EPOCH, val, epochSeconds, elapsed,
          elapsed / e * (EPOCHS - e), 1350L * ROUNDS_PER_EPOCH));
    }
    return h;
  }

  private static double trainLoss(long round, boolean regression) {
    return regression ? 0.22 + 1.6 * Math.exp(-round / 30.0) : 0.29 + 0.81 * Math.exp(-round / 38.0);
  }

  private static Map<String, Double> validation(long round, boolean regression) {
    Map<String, Double> v = new LinkedHashMap<>();
    double t = Math.exp(-round / 45.0);
    if (regression) {
      double mse = 0.24 + 1.5 * t;
      v.put("val_loss", mse);
      v.put("val_mse", mse);
      v.put("val_rmse", Math.sqrt(mse));
      v.put("val_mae", 0.8 * Math.sqrt(mse));
      v.put("val_r2", 1 - mse / 1.4);
    } else {
      v.put("val_loss", 0.31 + 0.72 * t);
      v.put("val_accuracy", 0.905 - 0.33 * t);
      v.put("val_precision_macro", 0.903 - 0.34 * t);
      v.put("val_recall_macro", 0.905 - 0.33 * t);
      v.put("val_f1_macro", 0.902 - 0.36 * t);
      v.put("val_log_loss", 0.31 + 0.72 * t);
    }
    return v;
  }

  private static Map<String, Object> config(String name, String task) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("name", name);
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("format", "parquet");
    data.put("train", "data/fashion-mnist/train.parquet");
    data.put("test", "data/fashion-mnist/test.parquet");
    data.put("validation", null);
    data.put("validation_fraction", 0.1);
    data.put("features", "features");
    data.put("label", "label");
    data.put("options", Map.of());
    c.put("data", data);
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("task", task);
    model.put("hidden", List.of(256, 128));
    model.put("activation", "relu");
    model.put("loss", "auto");
    c.put("model", model);
    Map<String, Object> training = new LinkedHashMap<>();
    training.put("mode", "sync");
    training.put("epochs", EPOCHS);
    training.put("batch_size", 128);
    training.put("seed", 42);
    training.put("validate_every_rounds", VALIDATE_EVERY);
    Map<String, Object> opt = new LinkedHashMap<>();
    opt.put("name", "adam");
    opt.put("learning_rate", 0.001);
    opt.put("beta1", 0.9);
    opt.put("beta2", 0.999);
    training.put("optimizer", opt);
    training.put("early_stopping", null);
    c.put("training", training);
    Map<String, Object> spark = new LinkedHashMap<>();
    spark.put("master", "local[2]");
    spark.put("conf", Map.of("spark.sql.shuffle.partitions", "4"));
    c.put("spark", spark);
    return c;
  }
}
