package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain train on a LibSVM file of 2^20 dimensions (a few nonzeros a row): it trains from CSR
 * blocks, where dense rows would need 4 MB each, and summary.json reports the nonzeros.
 */
class SparseTrainTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-sparse-train-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void aLibsvmFileOfAMillionDimensionsTrainsFromCsrBlocks(@TempDir Path dir) throws Exception {
    int dim = 1 << 20;
    Random r = new Random(3);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 400; i++) {
      int label = i % 2;
      sb.append(label);
      TreeSet<Integer> idx = new TreeSet<>();
      idx.add(1 + label); // the label's own feature
      while (idx.size() < 8) idx.add(1 + r.nextInt(dim));
      for (int j : idx) sb.append(' ').append(j).append(':').append(j <= 2 ? 1.0 : r.nextGaussian());
      sb.append('\n');
    }
    Path data = dir.resolve("train.libsvm");
    Files.writeString(data, sb.toString());
    Path out = dir.resolve("out");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + data,
        "--set", "data.format=libsvm", "--set", "data.options={numFeatures: \"" + dim + "\"}",
        "--set", "data.test_fraction=0.25", "--set", "model.hidden=[8]", "--set", "training.epochs=2",
        "--set", "training.batch_size=32", "--set", "training.optimizer={name: adam, learning_rate: 0.05}",
        "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    JsonNode d = summary.get("data");
    assertEquals(dim, d.get("num_features").asInt());
    assertTrue(d.get("train_sparse_partitions").asInt() >= 1, d.toString());
    long rows = d.get("train_rows").asLong();
    assertEquals(8 * rows, d.get("train_nonzeros").asLong(), d.toString());
    assertTrue(d.get("train_cached_bytes").asLong() < 100L * rows * 4, "cached " + d.get("train_cached_bytes"));
    Matcher m = Pattern.compile("test accuracy (\\d\\.\\d+)").matcher(run.out);
    assertTrue(m.find(), run.out);
    assertTrue(Double.parseDouble(m.group(1)) > 0.9, run.out); // each row carries its label's own feature
  }

  @Test
  void lazyAdamSendsTouchedRowsAndTheModelEvaluatesAndPredictsTheLibsvmFile(@TempDir Path dir) throws Exception {
    int dim = 1 << 20;
    Random r = new Random(5);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      int label = i % 2;
      sb.append(label);
      TreeSet<Integer> idx = new TreeSet<>();
      idx.add(1 + label);
      while (idx.size() < 6) idx.add(1 + r.nextInt(dim));
      for (int j : idx) sb.append(' ').append(j).append(':').append(j <= 2 ? 1.0 : r.nextGaussian());
      sb.append('\n');
    }
    Path data = dir.resolve("train.libsvm");
    Files.writeString(data, sb.toString());
    Path out = dir.resolve("out");
    String numFeatures = "numFeatures=" + dim;
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + data,
        "--set", "data.format=libsvm", "--set", "data.options={numFeatures: \"" + dim + "\"}",
        "--set", "model.hidden=[8]", "--set", "training.epochs=3", "--set", "training.batch_size=32",
        "--set", "training.optimizer={name: lazy_adam, learning_rate: 0.05}", "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    JsonNode c = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("collective");
    // 2 x 16 rows x 6 nonzeros of 2^20 x 8 floats: every step row-sparse, a few KiB instead of 32 MiB.
    assertEquals(c.get("steps").asLong(), c.get("row_sparse_steps").asLong(), c.toString());
    assertTrue(c.get("bytes_sent_per_step").asDouble() < 64 * 1024, c.toString());
    // evaluate and predict read the same LibSVM file through the saved model (CSR first layer).
    Path metrics = dir.resolve("metrics.json");
    MainTest.Run ev = MainTest.run("evaluate", "--model", out.resolve("model").toString(), "--data",
        data.toString(), "--format", "libsvm", "--option", numFeatures, "--output", metrics.toString());
    assertEquals(0, ev.code, ev.err + ev.out);
    double accuracy = new ObjectMapper().readTree(metrics.toFile()).get("accuracy").asDouble();
    assertTrue(accuracy > 0.9, ev.out);
    Path preds = dir.resolve("preds");
    MainTest.Run pr = MainTest.run("predict", "--model", out.resolve("model").toString(), "--data",
        data.toString(), "--format", "libsvm", "--option", numFeatures, "--output", preds.toString(),
        "--output-format", "csv");
    assertEquals(0, pr.code, pr.err + pr.out);
    long predicted = 0;
    long bytes = 0;
    try (var files = Files.list(preds)) {
      for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".csv"))::iterator) {
        bytes += Files.size(f);
        for (String l : Files.readAllLines(f)) {
          if (l.startsWith("label") || l.isBlank() || l.startsWith("prediction")) {
            continue;
          }
          predicted++;
          // The sparse features as LibSVM's 1-based index:value pairs: index 1 + label is 1.0, as in the file.
          int label = Integer.parseInt(l.substring(0, l.indexOf(',')).replace(".0", ""));
          assertTrue(l.contains("," + (1 + label) + ":1.0 "), l);
        }
      }
    }
    assertTrue(predicted >= 300, "predicted rows: " + predicted);
    // 300 rows of 6 pairs, not 300 x 2^20 numbers (a dense text of the sparse column: over 600 MB).
    assertTrue(bytes < 200_000, "CSV bytes: " + bytes);
  }
}
