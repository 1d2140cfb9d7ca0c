package io.sparktrain.examples.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.sparktrain.eval.Predictions;
import io.sparktrain.serve.Predictor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Serving benchmark: exported ONNX models in ONNX Runtime (Java, CPU, one intra-op thread) and saved
 * model directories in sparktrain's Spark-free {@link Predictor}, on a labelled Parquet test set (a
 * Vector column {@code features}, a numeric {@code label}): per model, the test accuracy, the size,
 * single-row latency (p50, p99 over {@code --rows} calls after 200 warm-up calls; ONNX Runtime
 * gets a tensor over a reused direct buffer per call, the Predictor reuses its buffers) and batch-256 throughput (200
 * batches after 20). The models run in turn, in the order given. Prints a Markdown table and one JSON
 * line per model. BLAS: the Predictor's one thread (OPENBLAS_NUM_THREADS=1), as ONNX Runtime's.
 *
 * <pre>
 * OnnxBench --data data/fashion-mnist/test.parquet --model float32=a.onnx --model int8=b.onnx
 *     --predictor predictor=runs/x/model [--rows 2000]
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
    Set<String> predictors = new HashSet<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--data":
          data = args[++i];
          break;
        case "--rows":
          calls = Integer.parseInt(args[++i]);
          break;
        case "--model":
        case "--predictor": {
          String[] kv = args[++i].split("=", 2);
          models.put(kv[0], Path.of(kv[1]));
          if (args[i - 1].equals("--predictor")) predictors.add(kv[0]);
          break;
        }
        default:
          throw new IllegalArgumentException("unknown option " + args[i]
              + "; usage: --data PARQUET --model NAME=FILE.onnx --predictor NAME=MODEL_DIR ... [--rows N]");
      }
    }
    if (data == null || models.isEmpty()) {
      throw new IllegalArgumentException("usage: --data PARQUET --model NAME=FILE.onnx --predictor NAME=MODEL_DIR ..."
          + " [--rows N]");
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
    System.out.println("| model | bytes | test accuracy | single row p50 us | p99 us | batch 256 rows/s |");
    System.out.println("|---|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, Path> m : models.entrySet()) {
      Scorer scorer;
      long bytes;
      OrtSession session = null;
      if (predictors.contains(m.getKey())) {
        Predictor p = Predictor.load(m.getValue());
        float[] flat = new float[256 * x[0].length];
        scorer = (rows, n) -> {
          if (n == 1) return new long[] {p.predictClass(rows[0])};
          float[] f = n == 256 ? flat : new float[n * rows[0].length];   // the Predictor takes exactly n rows
          for (int i = 0; i < n; i++) System.arraycopy(rows[i], 0, f, i * rows[i].length, rows[i].length);
          float[] out = p.predict(f, n);
          long[] c = new long[n];
          int k = p.numOutputs();
          for (int i = 0; i < n; i++) c[i] = Predictions.predictedClass(out, i * k, k);
          return c;
        };
        bytes = directorySize(m.getValue());
      } else {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(1);
        so.setInterOpNumThreads(1);
        OrtSession s = env.createSession(m.getValue().toString(), so);
        session = s;
        scorer = (rows, n) -> predict(env, s, rows);
        bytes = Files.size(m.getValue());
      }
      try {
        long right = 0;
        for (int start = 0; start < x.length; start += 256) {
          float[][] b = Arrays.copyOfRange(x, start, Math.min(x.length, start + 256));
          long[] c = scorer.score(b, b.length);
          for (int i = 0; i < c.length; i++) if (c[i] == y[start + i]) right++;
        }
        double acc = (double) right / x.length;
        long[] ns = new long[calls];
        for (int i = 0; i < calls + 200; i++) {
          float[][] one = {x[i % x.length]};
          long t0 = System.nanoTime();
          scorer.score(one, 1);
          if (i >= 200) ns[i - 200] = System.nanoTime() - t0;
        }
        Arrays.sort(ns);
        double p50 = ns[calls / 2] / 1e3;
        double p99 = ns[(int) (calls * 0.99)] / 1e3;
        float[][] batch = Arrays.copyOfRange(x, 0, 256);
        for (int i = 0; i < 20; i++) scorer.score(batch, 256);
        int reps = 200;
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) scorer.score(batch, 256);
        double rps = 256.0 * reps / ((System.nanoTime() - t0) / 1e9);
        System.out.println(String.format(Locale.ROOT, "| %s | %,d | %.4f | %.1f | %.1f | %,.0f |", m.getKey(), bytes,
            acc, p50, p99, rps));
        lines.add(String.format(Locale.ROOT, "{\"model\": \"%s\", \"file_bytes\": %d, \"test_accuracy\": %.6f,"
            + " \"p50_us\": %.1f, \"p99_us\": %.1f, \"batch256_rows_per_s\": %.0f, \"rows\": %d}", m.getKey(), bytes,
            acc, p50, p99, rps, x.length));
      } finally {
        if (session != null) session.close();
      }
    }
    lines.forEach(System.out::println);
  }

  /** Classes of the first {@code n} rows. */
  private interface Scorer {
    long[] score(float[][] rows, int n) throws Exception;
  }

  private static long directorySize(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      long total = 0;
      for (Path p : (Iterable<Path>) s::iterator) {
        if (Files.isRegularFile(p)) total += Files.size(p);
      }
      return total;
    }
  }

  /** A direct buffer for the input (ONNX Runtime copies a float[][] element by element; this it maps). */
  private static FloatBuffer input = ByteBuffer.allocateDirect(0).asFloatBuffer();

  private static long[] predict(OrtEnvironment env, OrtSession s, float[][] rows) throws Exception {
    int d = rows[0].length;
    if (input.capacity() < rows.length * d) {
      input = ByteBuffer.allocateDirect(rows.length * d * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
    input.clear();
    for (float[] r : rows) input.put(r);
    input.flip();
    try (OnnxTensor t = OnnxTensor.createTensor(env, input, new long[] {rows.length, d});
         OrtSession.Result r = s.run(Map.of("features", t))) {
      return (long[]) r.get("prediction").get().getValue();
    }
  }
}
