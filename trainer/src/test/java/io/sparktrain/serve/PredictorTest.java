package io.sparktrain.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.linalg.Blas;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.ml.NeuralNetModel;
import io.sparktrain.ml.NeuralNetRegressionModel;
import io.sparktrain.ml.NeuralNetRegressor;
import io.sparktrain.model.NetworkFile;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Embedding;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.TrainResult;
import io.sparktrain.train.Trainer;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Predictor against the Spark models it serves. Three models are trained once on a real
 * local[2] Spark with standardization on (a 3-class softmax classifier, a binary sigmoid classifier,
 * a 2-target regressor), saved, and scored by {@code transform}; the Predictor, loaded from the
 * saved directories, must give the same probabilities, classes and targets within 1e-6: in this JVM,
 * from many threads at once, and in a child JVM whose classpath has no Spark, Scala or Hadoop jar.
 */
class PredictorTest {
  private static final int FEATURES = 5;
  private static final int TEST_ROWS = 80;
  private static final StructType SCHEMA = new StructType().add("features", new VectorUDT())
      .add("label", DataTypes.DoubleType).add("binary", DataTypes.DoubleType).add("target", new VectorUDT());

  @TempDir
  static Path dir;
  private static Path softmaxDir;
  private static Path binaryDir;
  private static Path regressionDir;
  /** The test rows, packed row-major, as transform sees them (doubles rounded to float). */
  private static float[] rows;
  private static Scored softmax;
  private static Scored binary;
  private static Scored regression;

  /** What transform wrote for the test rows: per row the probabilities (or targets), and the class. */
  private record Scored(float[] outputs, int width, int[] classes) {
  }

  /**
   * Rows of 5 features of very different scales (one in the thousands, one near 0.01, one constant),
   * a class 0..2, a binary label (class 0 or not) and two targets.
   */
  private static List<Row> data(int n, long seed) {
    Random r = new Random(seed);
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = i % 3;
      double[] x = {1000 + 200 * (k + 0.7 * r.nextGaussian()), 0.01 * (k - 1 + r.nextGaussian()), 5.0,
          k * 2 + r.nextGaussian(), r.nextGaussian()};
      double t1 = 0.004 * (x[0] - 1200) + 0.5 * x[3];
      double t2 = Math.sin(x[4]) - 30 * x[1];
      out.add(RowFactory.create(Vectors.dense(x), (double) k, k == 0 ? 1.0 : 0.0, Vectors.dense(t1, t2)));
    }
    return out;
  }

  @BeforeAll
  static void trainSaveAndScore() throws IOException {
    SparkSession spark = Spark.session("local[2]", "PredictorTest");
    try {
      Dataset<Row> train = spark.createDataFrame(data(300, 8), SCHEMA).repartition(2).cache();
      List<Row> testRows = data(TEST_ROWS, 9);
      Dataset<Row> test = spark.createDataFrame(testRows, SCHEMA).coalesce(1);
      rows = new float[TEST_ROWS * FEATURES];
      for (int i = 0; i < TEST_ROWS; i++) {
        double[] x = ((Vector) testRows.get(i).get(0)).toArray();
        for (int j = 0; j < FEATURES; j++) rows[i * FEATURES + j] = (float) x[j];
      }

      NeuralNetClassificationModel sm = new NeuralNetClassifier().setHiddenLayers(16, 8).setMaxEpochs(5)
          .setBatchSize(32).setSeed(5).fit(train);
      softmaxDir = save(sm, "softmax");
      softmax = scoredClasses(sm, test);

      Network net = Network.builder(FEATURES).dense(8, Activation.TANH).dense(1, Activation.SIGMOID)
          .loss(Loss.BINARY_CROSS_ENTROPY).build();
      TrainingData td = TrainingData.decode(train, InputSpec.classification("features", "binary"));
      TrainResult r;
      try {
        r = new Trainer(net, TrainConfig.builder().standardize(true).epochs(5).batchSize(32).seed(3).build())
            .fit(td, null);
      } finally {
        td.unpersist();
      }
      NeuralNetClassificationModel bm = NeuralNetClassificationModel.of(net, r.params(), r.inputScaling());
      binaryDir = save(bm, "binary");
      binary = scoredClasses(bm, test);

      NeuralNetRegressionModel rm = new NeuralNetRegressor().setLabelCol("target").setHiddenLayers(16)
          .setMaxEpochs(5).setBatchSize(32).setSeed(5).fit(train);
      regressionDir = save(rm, "regression");
      List<Row> out = rm.transform(test).select("prediction").collectAsList();
      float[] y = new float[TEST_ROWS * 2];
      for (int i = 0; i < TEST_ROWS; i++) {
        double[] v = ((Vector) out.get(i).get(0)).toArray();
        y[2 * i] = (float) v[0];
        y[2 * i + 1] = (float) v[1];
      }
      regression = new Scored(y, 2, null);
    } finally {
      spark.stop();
    }
    assertNotNull(softmax);
  }

  private static Path save(NeuralNetModel<?> m, String name) throws IOException {
    assertNotNull(m.inputScaling(), name + ": trained with standardization");
    Path p = dir.resolve(name);
    m.write().save(p.toString());
    return p;
  }

  /**
   * The probability and prediction columns of {@code m} on {@code test}; for a binary model of one
   * unit, whose probability column is (1 - p, p), the one value p (what the Predictor returns).
   */
  private static Scored scoredClasses(NeuralNetClassificationModel m, Dataset<Row> test) {
    List<Row> out = m.transform(test).select("probability", "prediction").collectAsList();
    int k = m.numOutputs();
    float[] p = new float[TEST_ROWS * k];
    int[] c = new int[TEST_ROWS];
    for (int i = 0; i < TEST_ROWS; i++) {
      double[] v = ((Vector) out.get(i).get(0)).toArray();
      assertEquals(m.getNumClasses(), v.length, "probability width");
      int from = v.length - k;   // 1 for a binary model of one unit: P(class 1)
      for (int j = 0; j < k; j++) p[i * k + j] = (float) v[from + j];
      c[i] = (int) out.get(i).getDouble(1);
    }
    return new Scored(p, k, c);
  }

  private static float[] row(int i) {
    float[] x = new float[FEATURES];
    System.arraycopy(rows, i * FEATURES, x, 0, FEATURES);
    return x;
  }

  /** Single rows, the no-allocation variant and the batch call all give transform's outputs and classes. */
  private static void assertMatchesTransform(Predictor p, Scored expected, Predictor.Task task) {
    assertEquals(task, p.task());
    assertEquals(FEATURES, p.numFeatures());
    assertEquals(expected.width(), p.numOutputs());
    int k = expected.width();
    float[] batch = p.predict(rows, TEST_ROWS);
    assertArrayEquals(expected.outputs(), batch, 1e-6f, "batch call");
    float[] out = new float[k];
    for (int i = 0; i < TEST_ROWS; i++) {
      float[] want = new float[k];
      System.arraycopy(expected.outputs(), i * k, want, 0, k);
      assertArrayEquals(want, p.predict(row(i)), 1e-6f, "row " + i);
      p.predict(row(i), out);
      assertArrayEquals(want, out, 1e-6f, "row " + i + " into out");
      if (expected.classes() != null) {
        assertEquals(expected.classes()[i], p.predictClass(row(i)), "class of row " + i);
      }
    }
  }

  @Test
  void aMulticlassSoftmaxModelGivesTransformsProbabilitiesAndClasses() throws IOException {
    Predictor p = Predictor.load(softmaxDir);
    assertEquals(3, p.numClasses());
    assertMatchesTransform(p, softmax, Predictor.Task.CLASSIFICATION);
    assertDistinctClasses(softmax.classes(), 3);
  }

  @Test
  void aBinarySigmoidModelGivesPOfClassOneAndThresholdsItAtOneHalf() throws IOException {
    Predictor p = Predictor.load(binaryDir);
    assertEquals(2, p.numClasses());
    assertEquals(1, p.numOutputs(), "one value per row: P(class 1), the second of transform's (1 - p, p)");
    assertMatchesTransform(p, binary, Predictor.Task.CLASSIFICATION);
    for (int i = 0; i < TEST_ROWS; i++) {
      assertEquals(binary.outputs()[i] > 0.5f ? 1 : 0, binary.classes()[i], "transform's prediction of row " + i);
    }
    assertDistinctClasses(binary.classes(), 2);
  }

  @Test
  void aRegressionModelGivesTransformsTargets() throws IOException {
    Predictor p = Predictor.load(regressionDir);
    assertMatchesTransform(p, regression, Predictor.Task.REGRESSION);
    assertThrows(UnsupportedOperationException.class, () -> p.predictClass(row(0)));
  }

  /** The comparisons mean something only when the model predicts more than one class. */
  private static void assertDistinctClasses(int[] classes, int k) {
    assertEquals(k, Arrays.stream(classes).distinct().count(), "classes predicted on the test rows");
  }

  @Test
  void manyThreadsAtOnceGiveWhatOneThreadGives() throws Exception {
    Predictor p = Predictor.load(softmaxDir);
    int k = p.numOutputs();
    float[] single = new float[TEST_ROWS * k];
    int[] classes = new int[TEST_ROWS];
    for (int i = 0; i < TEST_ROWS; i++) {
      System.arraycopy(p.predict(row(i)), 0, single, i * k, k);
      classes[i] = p.predictClass(row(i));
    }
    float[] batch = p.predict(rows, TEST_ROWS);
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(pool.submit(() -> {
          Random r = new Random(seed);
          float[] out = new float[k];
          for (int n = 0; n < 3000; n++) {
            int i = r.nextInt(TEST_ROWS);
            switch (n % 3) {
              case 0:
                p.predict(row(i), out);
                for (int j = 0; j < k; j++) {
                  assertEquals(single[i * k + j], out[j], 0f, "thread " + seed + " row " + i);
                }
                break;
              case 1:
                assertEquals(classes[i], p.predictClass(row(i)), "thread " + seed + " row " + i);
                break;
              default:
                if (n % 100 == 2) {
                  assertArrayEquals(batch, p.predict(rows, TEST_ROWS), 0f, "thread " + seed + " batch");
                }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) f.get(120, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void singleRowPredictionAllocatesNothingOnceWarm() throws IOException {
    Predictor p = Predictor.load(softmaxDir);
    ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    float[] out = new float[p.numOutputs()];
    float[] x = row(0);
    for (int n = 0; n < 20_000; n++) {
      p.predict(x, out);
      p.predictClass(x);
    }
    long id = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(id);
    for (int n = 0; n < 20_000; n++) {
      p.predict(x, out);
      p.predictClass(x);
    }
    long bytes = mx.getThreadAllocatedBytes(id) - before;
    assertTrue(bytes < 4096, "40,000 calls allocated " + bytes + " bytes");
    // The measurement sees allocation: the allocating variant costs at least its 1,000 result arrays.
    before = mx.getThreadAllocatedBytes(id);
    for (int n = 0; n < 1000; n++) {
      out = p.predict(x);
    }
    bytes = mx.getThreadAllocatedBytes(id) - before;
    assertTrue(bytes >= 1000 * 16, "1,000 predict(row) calls allocated only " + bytes + " bytes");
  }

  /**
   * THE test of "no Spark at run time": a child JVM whose classpath is only this module's classes,
   * netlib's blas jar (with its f2j dependency, without which the native BLAS does not load) and
   * slf4j-api runs {@link PredictCsv} on each saved model and prints what the Spark models' transform
   * printed, on the BLAS this JVM uses. A Spark, Scala or Hadoop class on the Predictor's path fails
   * it with NoClassDefFoundError.
   */
  @Test
  void aJvmWithoutSparkScalaOrHadoopScoresAsTheSparkModels() throws IOException, InterruptedException {
    List<String> cp = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String name = Path.of(e).getFileName().toString();
      boolean classes = e.replace('\\', '/').endsWith("trainer/target/classes");
      boolean blas = name.matches("blas-[0-9.]+\\.jar") && e.replace('\\', '/').contains("dev/ludovic/netlib");
      boolean f2j = name.matches("arpack_combined_all-[0-9.]+\\.jar");
      boolean slf4j = name.matches("slf4j-api-[0-9.]+\\.jar");
      if (classes || blas || f2j || slf4j) {
        cp.add(e);
      }
    }
    assertEquals(4, cp.size(), "trainer classes, blas, arpack and slf4j-api from "
        + System.getProperty("java.class.path"));
    Pattern forbidden = Pattern.compile("(?i)spark-|scala|hadoop");
    for (String e : cp) assertTrue(!forbidden.matcher(Path.of(e).getFileName().toString()).find(), e);
    Path csv = dir.resolve("rows.csv");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < TEST_ROWS; i++) {
      for (int j = 0; j < FEATURES; j++) sb.append(j == 0 ? "" : ",").append(rows[i * FEATURES + j]);
      sb.append('\n');
    }
    Files.writeString(csv, sb.toString());
    assertChildMatches(cp, softmaxDir, csv, softmax);
    assertChildMatches(cp, binaryDir, csv, binary);
    assertChildMatches(cp, regressionDir, csv, regression);
  }

  private static void assertChildMatches(List<String> cp, Path model, Path csv, Scored expected)
      throws IOException, InterruptedException {
    Path log = dir.resolve(model.getFileName() + ".err");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-modules")) {
        cmd.add(a); // the Vector API, for VectorBLAS where there is no native BLAS
      }
    }
    cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), PredictCsv.class.getName(), model.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(csv.toFile()).redirectError(log.toFile());
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process child = pb.start();
    String stdout = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM finished");
    String stderr = Files.readString(log);
    assertEquals(0, child.exitValue(), model + ": the child JVM failed:\n" + stderr + stdout);
    assertTrue(stderr.contains(", BLAS " + Blas.get().describe() + "\n"), "the child's BLAS is this JVM's "
        + Blas.get().describe() + ": " + stderr);
    String[] lines = stdout.strip().split("\n");
    assertEquals(TEST_ROWS, lines.length, stdout);
    int k = expected.width();
    for (int i = 0; i < TEST_ROWS; i++) {
      String[] f = lines[i].split(",");
      assertEquals(k + (expected.classes() != null ? 1 : 0), f.length, "line " + i + ": " + lines[i]);
      for (int j = 0; j < k; j++) {
        assertEquals(expected.outputs()[i * k + j], Float.parseFloat(f[j]), 1e-6f, model + " row " + i);
      }
      if (expected.classes() != null) {
        assertEquals(expected.classes()[i], Integer.parseInt(f[k]), model + " class of row " + i);
      }
    }
  }

  @Test
  void aRowOfTheWrongLengthNamesTheExpectedAndFoundLengths() throws IOException {
    Predictor p = Predictor.load(softmaxDir);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.predict(new float[4]));
    assertEquals("row: expected 5 values (numFeatures()), found 4", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> p.predict(new float[5], new float[2]));
    assertEquals("out: expected 3 values (numOutputs()), found 2", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> p.predict(new float[11], 2));
    assertEquals("rows: expected 10 values (2 x numFeatures() = 2 x 5), found 11", e.getMessage());
    assertEquals(0, p.predict(new float[0], 0).length);
  }

  @Test
  void aDirectoryThatIsNotAModelNamesTheMissingFile(@TempDir Path tmp) throws IOException {
    IOException e = assertThrows(IOException.class, () -> Predictor.load(tmp));
    assertEquals(tmp + ": not a saved sparktrain model: " + tmp.resolve("metadata/part-*") + " is missing",
        e.getMessage());
    Path meta = Files.createDirectories(tmp.resolve("metadata"));
    Files.copy(firstPart(softmaxDir), meta.resolve("part-00000"));
    e = assertThrows(IOException.class, () -> Predictor.load(tmp));
    assertEquals(tmp + ": not a saved sparktrain model: " + tmp.resolve("data/network.bin") + " is missing",
        e.getMessage());
    Files.createDirectories(tmp.resolve("data"));
    Files.write(tmp.resolve("data/network.bin"), new byte[] {0x53, 0x54, 0x4E, 0x4E, 0, 0, 0, 3, 0});
    e = assertThrows(IOException.class, () -> Predictor.load(tmp));
    assertEquals(tmp.resolve("data/network.bin") + ": truncated: the file ends after 9 bytes", e.getMessage());
  }

  private static Path firstPart(Path model) throws IOException {
    try (var s = Files.list(model.resolve("metadata"))) {
      return s.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
    }
  }

  @Test
  void aModelWithCategoricalColumnsIsRefusedNamingThem(@TempDir Path tmp) throws IOException {
    Network net = Network.builder(2).embedding(new Embedding(10, 3, Embedding.Combiner.MEAN))
        .embedding(new Embedding(5, 2, Embedding.Combiner.SUM)).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    List<NetworkFile.Table> tables = List.of(new NetworkFile.Table("city", net.embedding(0), "strings"),
        new NetworkFile.Table("device", net.embedding(1), "numbers"));
    Files.createDirectories(tmp.resolve("data"));
    Files.write(tmp.resolve(NetworkFile.PATH), NetworkFile.bytes(net, net.initParameters(1), null, tables,
        NetworkFile.VERSION));
    Files.createDirectories(tmp.resolve("metadata"));
    Files.copy(firstPart(softmaxDir), tmp.resolve("metadata/part-00000"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Predictor.load(tmp));
    assertEquals(tmp + ": the model has categorical columns [city, device] (embedding tables); the Predictor takes"
        + " numeric feature rows only: score this model with its transform", e.getMessage());
  }

  /**
   * The golden models of GoldenFilesTest (saved by sparktrain 0.1.0, format version 1, no scaling)
   * load without Spark and give their recorded outputs for the same 20 rows.
   */
  @Test
  void theGoldenModelsPredictTheirRecordedOutputs() throws IOException, URISyntaxException {
    Path golden = Path.of(PredictorTest.class.getResource("/golden/README.md").toURI()).getParent();
    Random r = new Random(99); // GoldenFilesTest.inputs(20, 99): four Gaussians per row
    float[] x = new float[20 * 4];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    Predictor c = Predictor.load(golden.resolve("classifier"));
    Predictor g = Predictor.load(golden.resolve("regressor"));
    float[] probs = c.predict(x, 20);
    float[] preds = g.predict(x, 20);
    List<String> ce = Files.readAllLines(golden.resolve("classifier-expected.csv"));
    List<String> re = Files.readAllLines(golden.resolve("regressor-expected.csv"));
    for (int i = 0; i < 20; i++) {
      String[] f = ce.get(i).split(",");
      for (int j = 0; j < 3; j++) assertEquals(Double.parseDouble(f[j]), probs[3 * i + j], 1e-6, "row " + i);
      float[] xi = new float[4];
      System.arraycopy(x, 4 * i, xi, 0, 4);
      assertEquals((int) Double.parseDouble(f[3]), c.predictClass(xi), "class of row " + i);
      double y = Double.parseDouble(re.get(i));
      assertEquals(y, preds[i], 1e-6 * Math.max(1, Math.abs(y)), "target of row " + i);
    }
  }
}
