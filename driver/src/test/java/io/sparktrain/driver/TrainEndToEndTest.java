package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.ml.NeuralNetClassificationModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain train / evaluate / predict end to end on tiny synthetic data (local[2], 127.0.0.1, no UI):
 * the first train run starts and stops its own Spark session; the rest share one.
 */
class TrainEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** 3 classes from the sign pattern of two of four features: learnable in a few epochs. */
  private static List<double[]> rows(int n, long seed) {
    Random r = new Random(seed);
    List<double[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] x = new double[5];
      for (int j = 0; j < 4; j++) x[j] = r.nextGaussian();
      x[4] = x[0] + 0.5 * x[1] > 0.5 ? 2 : x[0] + 0.5 * x[1] < -0.5 ? 1 : 0;
      out.add(x);
    }
    return out;
  }

  private static void writeCsv(Path file, List<double[]> rows) throws IOException {
    StringBuilder sb = new StringBuilder("f1,f2,f3,f4,label\n");
    for (double[] x : rows) {
      sb.append(Stream.of(x[0], x[1], x[2], x[3]).map(String::valueOf).collect(Collectors.joining(",")))
          .append(',').append((int) x[4]).append('\n');
    }
    Files.writeString(file, sb.toString());
  }

  private static Dataset<Row> vectors(SparkSession spark, List<double[]> rows) {
    StructType schema = new StructType().add("features", new VectorUDT(), false)
        .add("label", DataTypes.DoubleType, false);
    List<Row> out = new ArrayList<>();
    for (double[] x : rows) out.add(RowFactory.create(Vectors.dense(x[0], x[1], x[2], x[3]), x[4]));
    return spark.createDataFrame(out, schema);
  }

  private static SparkSession session() {
    return SparkSession.builder().master("local[2]").appName("sparktrain-driver-test")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
  }

  private static long t0 = System.nanoTime();

  private static void mark(String what) {
    System.err.printf("[TrainEndToEndTest] %.1f s: %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  @Test
  void trainEvaluatePredict(@TempDir Path dir) throws IOException {
    t0 = System.nanoTime();
    // ---- CSV (numeric feature columns), a test split: Main starts (and stops) its own session
    Path csv = dir.resolve("train.csv");
    writeCsv(csv, rows(800, 3));
    Path out = dir.resolve("run");
    Path cfg = dir.resolve("job.yaml");
    Files.writeString(cfg, String.join("\n",
        "name: tiny",
        "data:",
        "  format: csv",
        "  train: " + csv,
        "  options: {header: \"true\", inferSchema: \"true\"}",
        "  features: [f1, f2, f3, f4]",
        "  validation_fraction: 0.15",
        "  test_fraction: 0.25",
        "model: {hidden: [16], activation: relu}",
        "training: {mode: average, local_steps: 8, epochs: 4, batch_size: 32,"
            + " optimizer: {name: adam, learning_rate: 0.03}}",
        "output: {dir: " + out + "}",
        "spark: {master: \"local[2]\", conf: {spark.ui.enabled: \"false\"}}", ""));
    MainTest.Run r = MainTest.run("train", "--config", cfg.toString(), "--set", "training.seed=7");
    mark("csv train done");
    assertEquals(0, r.code, r.err);
    assertTrue(SparkSession.getDefaultSession().isEmpty(), "train should stop the session it started");
    List<String> lines = r.out.lines().collect(Collectors.toList());
    int n = lines.size();
    assertTrue(lines.get(n - 3).matches("test accuracy 0\\.\\d{4}"), r.out);
    assertEquals("model: " + out.resolve("model"), lines.get(n - 2));
    assertEquals("report: " + out.resolve("report.html"), lines.get(n - 1));
    double acc = Double.parseDouble(lines.get(n - 3).substring("test accuracy ".length()));
    assertTrue(acc > 0.8, r.out);
    for (String f : List.of("model/metadata", "model/data/network.bin", "metrics.jsonl", "summary.json",
        "test_metrics.json", "report.html")) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }
    try (Stream<Path> files = Files.list(out)) {
      assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith("._tmp")), "temporary files left");
    }
    List<JsonNode> epochs = new ArrayList<>();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      JsonNode j = JSON.readTree(line);
      if (j.get("type").asText().equals("epoch")) {
        epochs.add(j);
      }
    }
    assertEquals(4, epochs.size());
    assertTrue(epochs.get(3).has("val_accuracy"));
    JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
    assertEquals("tiny", summary.get("name").asText());
    assertEquals(7, summary.get("config").get("training").get("seed").asInt());
    JsonNode data = summary.get("data");
    assertEquals(800, data.get("train_rows").asInt() + data.get("validation_rows").asInt()
        + data.get("test_rows").asInt());
    assertEquals(3, data.get("num_classes").asInt());
    for (String t : List.of("decode_s", "train_s", "validation_s", "test_s", "write_s", "total_s")) {
      assertNotNull(summary.get("timings").get(t), t);
    }
    assertEquals(acc, JSON.readTree(out.resolve("test_metrics.json").toFile()).get("accuracy").asDouble(), 1e-4);

    // ---- the rest share one session (Main uses it and leaves it running)
    SparkSession spark = session();
    try {
      NeuralNetClassificationModel model = NeuralNetClassificationModel.load(out.resolve("model").toString());
      assertEquals(3, model.getNumClasses());
      assertEquals(4, model.numFeatures());
      assertEquals(2.0, model.predict(Vectors.dense(3, 0, 0, 0)));

      String[] csvRead = {"--format", "csv", "--features", "f1,f2,f3,f4", "--option", "header=true",
          "--option", "inferSchema=true"};
      MainTest.Run ce = MainTest.run(concat(new String[] {"evaluate", "--model", out.resolve("model").toString(),
          "--data", csv.toString()}, csvRead));
      assertEquals(0, ce.code, ce.err);
      assertTrue(ce.out.contains("accuracy 0."), ce.out);
      MainTest.Run cp = MainTest.run(concat(new String[] {"predict", "--model", out.resolve("model").toString(),
          "--data", csv.toString(), "--output", dir.resolve("pred-csv").toString(), "--output-format", "csv"},
          csvRead));
      assertEquals(0, cp.code, cp.err);
      Dataset<Row> pc = spark.read().option("header", "true").csv(dir.resolve("pred-csv").toString());
      assertEquals(800, pc.count());
      assertTrue(List.of(pc.columns()).containsAll(List.of("f1", "label", "probability", "prediction")));
      mark("csv evaluate/predict done");

      // ---- Parquet (Vector features), test and validation paths, sync mode
      Path train = dir.resolve("train.parquet");
      Path test = dir.resolve("test.parquet");
      vectors(spark, rows(600, 1)).repartition(2).write().parquet(train.toString());
      vectors(spark, rows(200, 2)).repartition(2).write().parquet(test.toString());
      Path out2 = dir.resolve("run-parquet");
      MainTest.Run c = MainTest.run("train", "--config", cfg.toString(),
          "--set", "data={format: parquet, train: " + train + ", test: " + test + ", validation: " + test + "}",
          "--set", "output.dir=" + out2, "--set", "training.mode=sync", "--set", "training.batch_size=100",
          "--set", "training.epochs=3");
      assertEquals(0, c.code, c.err);
      assertTrue(c.out.contains("test accuracy 0."), c.out);
      assertTrue(Files.exists(out2.resolve("summary.json")));
      assertTrue(Files.exists(out2.resolve("test_metrics.json")));
      mark("parquet train done");
      MainTest.Run ev = MainTest.run("evaluate", "--model", out2.resolve("model").toString(), "--data",
          test.toString(), "--output", dir.resolve("eval.json").toString());
      assertEquals(0, ev.code, ev.err);
      assertTrue(Files.exists(dir.resolve("eval.json")));
      double acc2 = JSON.readTree(out2.resolve("test_metrics.json").toFile()).get("accuracy").asDouble();
      assertTrue(ev.out.contains(String.format(Locale.ROOT, "accuracy %.4f", acc2)), ev.out);
      MainTest.Run pr = MainTest.run("predict", "--model", out2.resolve("model").toString(), "--data",
          test.toString(), "--output", dir.resolve("pred").toString());
      assertEquals(0, pr.code, pr.err);
      Dataset<Row> pred = spark.read().parquet(dir.resolve("pred").toString());
      assertEquals(200, pred.count());
      assertTrue(List.of(pred.columns()).containsAll(List.of("features", "label", "rawPrediction", "probability",
          "prediction")));
      mark("parquet evaluate/predict done");

      // ---- a runtime failure: exit 1, one line; the stack trace only with --verbose
      MainTest.Run bad = MainTest.run("train", "--config", cfg.toString(), "--set",
          "data.train=" + dir.resolve("nope.csv"));
      assertEquals(1, bad.code, bad.err);
      assertTrue(bad.err.startsWith("sparktrain: error: "), bad.err);
      assertFalse(bad.err.contains("\tat "), bad.err);
      MainTest.Run badV = MainTest.run("train", "--verbose", "--config", cfg.toString(), "--set",
          "data.train=" + dir.resolve("nope.csv"));
      assertEquals(1, badV.code);
      assertTrue(badV.err.contains("\tat "), badV.err);
      mark("failures done");
    } finally {
      spark.stop();
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
