package io.sparktrain.examples.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Exported ONNX models in ONNX Runtime (Java, CPU, one intra-op thread) on a labelled Parquet test
 * set (a Vector column {@code features}, a numeric {@code label}): per model file, the test
 * accuracy, the file size, single-row latency (p50, p99 over {@code --rows} calls after a warm-up)
 * and batch-256 throughput. Prints a Markdown table and one JSON line per model.
 *
 * <pre>
 * OnnxBench --data data/fashion-mnist/test.parquet --model float32=a.onnx --model int8=b.onnx [--rows 2000]
 * </pre>
 * Spark (local[1]) only reads the Parquet file; it is stopped before any timing.
 */
public final class OnnxBench {
  private OnnxBench() {
  }

  public static void main(String[] args) throws Exception {
    String data = null;
    int calls = 2000;
    Map<String, Path> models = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--data":
          data = args[++i];
          break;
        case "--rows":
          calls = Integer.parseInt(args[++i]);
          break;
        case "--model": {
          String[] kv = args[++i].split("=", 2);
          models.put(kv[0], Path.of(kv[1]));
          break;
        }
        default:
          throw new IllegalArgumentException("unknown option " + args[i]
              + "; usage: --data PARQUET --model NAME=FILE [--model ...] [--rows N]");
      }
    }
    if (data == null || models.isEmpty()) {
      throw new IllegalArgumentException("usage: --data PARQUET --model NAME=FILE [--model ...] [--rows N]");
    }
    float[][] x;
    long[] y;
    SparkSession spark = SparkSession.builder().master("local[1]").appName("OnnxBench")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      List<Row> rows = spark.read().parquet(data).select("features", "label").collectAsList();
      x = new float[rows.size()][];
      y = new long[rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        double[] v = ((Vector) rows.get(i).get(0)).toArray();
        x[i] = new float[v.length];
        for (int j = 0; j < v.length; j++) x[i][j] = (float) v[j];
        y[i] = ((Number) rows.get(i).get(1)).longValue();
      }
    } finally {
      spark.stop();
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    List<String> lines = new ArrayList<>();
    System.out.println("| model | file bytes | test accuracy | single row p50 us | p99 us | batch 256 rows/s |");
    System.out.println("|---|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, Path> m : models.entrySet()) {
      try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
        so.setIntraOpNumThreads(1);
        so.setInterOpNumThreads(1);
        try (OrtSession s = env.createSession(m.getValue().toString(), so)) {
          long right = 0;
          for (int start = 0; start < x.length; start += 256) {
            float[][] b = Arrays.copyOfRange(x, start, Math.min(x.length, start + 256));
            long[] c = predict(env, s, b);
            for (int i = 0; i < c.length; i++) if (c[i] == y[start + i]) right++;
          }
          double acc = (double) right / x.length;
          long[] ns = new long[calls];
          for (int i = 0; i < calls + 200; i++) {
            float[][] one = {x[i % x.length]};
            long t0 = System.nanoTime();
            predict(env, s, one);
            if (i >= 200) ns[i - 200] = System.nanoTime() - t0;
          }
          Arrays.sort(ns);
          double p50 = ns[calls / 2] / 1e3;
          double p99 = ns[(int) (calls * 0.99)] / 1e3;
          float[][] batch = Arrays.copyOfRange(x, 0, 256);
          for (int i = 0; i < 20; i++) predict(env, s, batch);
          int reps = 200;
          long t0 = System.nanoTime();
          for (int i = 0; i < reps; i++) predict(env, s, batch);
          double rps = 256.0 * reps / ((System.nanoTime() - t0) / 1e9);
          long bytes = Files.size(m.getValue());
          System.out.println(String.format(Locale.ROOT, "| %s | %,d | %.4f | %.1f | %.1f | %,.0f |", m.getKey(), bytes,
              acc, p50, p99, rps));
          lines.add(String.format(Locale.ROOT, "{\"model\": \"%s\", \"file_bytes\": %d, \"test_accuracy\": %.6f,"
              + " \"p50_us\": %.1f, \"p99_us\": %.1f, \"batch256_rows_per_s\": %.0f, \"rows\": %d}", m.getKey(), bytes,
              acc, p50, p99, rps, x.length));
        }
      }
    }
    lines.forEach(System.out::println);
  }

  private static long[] predict(OrtEnvironment env, OrtSession s, float[][] rows) throws Exception {
    try (OnnxTensor t = OnnxTensor.createTensor(env, rows);
         OrtSession.Result r = s.run(Map.of("features", t))) {
      return (long[]) r.get("prediction").get().getValue();
    }
  }
}
