package io.sparktrain.examples.bench;

import io.sparktrain.util.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Spark MLlib's multinomial {@code LogisticRegression} on the LibSVM files of {@link TextCorpus}, in its own
 * JVM as {@code sparktrain train} runs in its own: {@code scripts/bench.sh text} prints its JSON line.
 *
 * <p>Options: {@code --train F --test F --features 262144 --partitions 2 --master local[2] --max-iter 100
 * --reg 0.0}. MLlib's defaults otherwise (L-BFGS, standardization on, tol 1e-6). The training data is
 * repartitioned to {@code --partitions} (the libsvm file reads as one partition) and cached before the
 * clock starts; {@code train_seconds} is {@code fit} alone.
 */
public final class TextMllib {
  private TextMllib() {
  }

  public static void main(String[] args) {
    Map<String, String> opt = new LinkedHashMap<>();
    opt.put("train", "");
    opt.put("test", "");
    opt.put("features", "262144");
    opt.put("partitions", "2");
    opt.put("master", "local[2]");
    opt.put("max-iter", "100");
    opt.put("reg", "0.0");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--") || !opt.containsKey(a.substring(2)) || i + 1 >= args.length) {
        System.err.println("usage: TextMllib --train F --test F [options]; options: " + opt.keySet());
        System.exit(2);
      }
      opt.put(a.substring(2), args[++i]);
    }
    SparkSession spark = SparkSession.builder().master(opt.get("master")).appName("sparktrain-text-mllib")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      long w0 = System.nanoTime();
      int parts = Integer.parseInt(opt.get("partitions"));
      Dataset<Row> train = spark.read().format("libsvm").option("numFeatures", opt.get("features"))
          .load(opt.get("train")).repartition(parts).cache();
      Dataset<Row> test = spark.read().format("libsvm").option("numFeatures", opt.get("features"))
          .load(opt.get("test")).cache();
      long rows = train.count();
      test.count();
      double loadSeconds = (System.nanoTime() - w0) / 1e9;
      LogisticRegression lr = new LogisticRegression().setFamily("multinomial")
          .setMaxIter(Integer.parseInt(opt.get("max-iter"))).setRegParam(Double.parseDouble(opt.get("reg")));
      long t0 = System.nanoTime();
      LogisticRegressionModel model = lr.fit(train);
      double secs = (System.nanoTime() - t0) / 1e9;
      double acc = new MulticlassClassificationEvaluator().setMetricName("accuracy")
          .evaluate(model.transform(test));
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("bench", "text");
      out.put("system", "mllib_lr");
      out.put("model", "LogisticRegression(multinomial, l-bfgs, maxIter " + opt.get("max-iter") + ", regParam "
          + opt.get("reg") + ", standardization true)");
      out.put("num_features", Integer.parseInt(opt.get("features")));
      out.put("partitions", train.rdd().getNumPartitions());
      out.put("train_rows", rows);
      out.put("iterations", model.summary().totalIterations());
      out.put("test_accuracy", acc);
      out.put("train_seconds", secs);
      out.put("load_and_cache_seconds", loadSeconds);
      out.put("wall_seconds_in_jvm", (System.nanoTime() - w0) / 1e9);
      System.out.println(Json.object(out));
      train.unpersist();
      test.unpersist();
    } finally {
      spark.stop();
    }
  }
}
