package io.sparktrain.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.sun.management.ThreadMXBean;
import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.Predictions;
import io.sparktrain.export.OnnxExport;
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
import java.util.Map;
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
 * a 2-target regressor), saved, exported as float32 and int8 ONNX files, and scored by
 * {@code transform}; the Predictor, loaded from the saved directories, must give the same
 * probabilities, classes and targets within 1e-6: in this JVM, from many threads at once, and in a
 * child JVM whose classpath has no Spark, Scala or Hadoop jar. Loaded from the ONNX files it must
 * give what the directories give and what ONNX Runtime computes on the same files.
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
  /** The models' ONNX exports, float32 ({@code <name>.onnx}) and int8 ({@code <name>-int8.onnx}). */
  private static Path softmaxOnnx;
  private static Path binaryOnnx;
  private static Path regressionOnnx;
  private static OrtEnvironment ort;
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
      softmaxOnnx = export(sm, "softmax");
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
      binaryOnnx = export(bm, "binary");
      binary = scoredClasses(bm, test);

      NeuralNetRegressionModel rm = new NeuralNetRegressor().setLabelCol("target").setHiddenLayers(16)
          .setMaxEpochs(5).setBatchSize(32).setSeed(5).fit(train);
      regressionDir = save(rm, "regression");
      regressionOnnx = export(rm, "regression");
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

  /** Exports {@code m} as {@code <name>.onnx} (float32) and {@code <name>-int8.onnx}; returns the first. */
  private static Path export(NeuralNetModel<?> m, String name) throws IOException {
    Path p = dir.resolve(name + ".onnx");
    m.exportOnnx(p, null);
    m.exportOnnx(int8(p), null, OnnxExport.Weights.INT8);
    return p;
  }

  private static Path int8(Path onnx) {
    return onnx.resolveSibling(onnx.getFileName().toString().replace(".onnx", "-int8.onnx"));
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
   * printed, on the BLAS this JVM uses. With protobuf-java and tribuo-util-onnx added (and still no
   * Spark) it does the same on the float32 ONNX files, and on the int8 file and a directory with
   * {@code --quantize int8} prints what this JVM's int8 Predictor gives. A Spark, Scala or Hadoop
   * class on the Predictor's path fails it with NoClassDefFoundError.
   */
  @Test
  void aJvmWithoutSparkScalaOrHadoopScoresAsTheSparkModels() throws IOException, InterruptedException {
    List<String> cp = new ArrayList<>();
    List<String> onnxJars = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String name = Path.of(e).getFileName().toString();
      boolean classes = e.replace('\\', '/').endsWith("trainer/target/classes");
      boolean blas = name.matches("blas-[0-9.]+\\.jar") && e.replace('\\', '/').contains("dev/ludovic/netlib");
      boolean f2j = name.matches("arpack_combined_all-[0-9.]+\\.jar");
      boolean slf4j = name.matches("slf4j-api-[0-9.]+\\.jar");
      if (classes || blas || f2j || slf4j) {
        cp.add(e);
      }
      if (name.matches("protobuf-java-[0-9.]+\\.jar") || name.matches("tribuo-util-onnx-[0-9.]+\\.jar")) {
        onnxJars.add(e);
      }
    }
    assertEquals(4, cp.size(), "trainer classes, blas, arpack and slf4j-api from "
        + System.getProperty("java.class.path"));
    assertEquals(2, onnxJars.size(), "protobuf-java and tribuo-util-onnx from "
        + System.getProperty("java.class.path"));
    List<String> onnxCp = new ArrayList<>(cp);
    onnxCp.addAll(onnxJars);
    Pattern forbidden = Pattern.compile("(?i)spark-|scala|hadoop");
    for (String e : onnxCp) assertTrue(!forbidden.matcher(Path.of(e).getFileName().toString()).find(), e);
    Path csv = dir.resolve("rows.csv");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < TEST_ROWS; i++) {
      for (int j = 0; j < FEATURES; j++) sb.append(j == 0 ? "" : ",").append(rows[i * FEATURES + j]);
      sb.append('\n');
    }
    Files.writeString(csv, sb.toString());
    // Directories need no protobuf: the 4 jars only.
    assertChildMatches(cp, List.of(softmaxDir.toString()), csv, softmax);
    assertChildMatches(cp, List.of(binaryDir.toString()), csv, binary);
    assertChildMatches(cp, List.of(regressionDir.toString()), csv, regression);
    assertChildMatches(onnxCp, List.of(softmaxOnnx.toString()), csv, softmax);
    assertChildMatches(onnxCp, List.of(binaryOnnx.toString()), csv, binary);
    assertChildMatches(onnxCp, List.of(regressionOnnx.toString()), csv, regression);
    Predictor q = Predictor.load(softmaxDir, OnnxExport.Weights.INT8);
    float[] out = q.predict(rows, TEST_ROWS);
    int[] classes = new int[TEST_ROWS];
    for (int i = 0; i < TEST_ROWS; i++) classes[i] = Predictions.predictedClass(out, 3 * i, 3);
    Scored int8 = new Scored(out, 3, classes);
    assertChildMatches(onnxCp, List.of(int8(softmaxOnnx).toString()), csv, int8);
    assertChildMatches(onnxCp, List.of("--quantize", "int8", softmaxDir.toString()), csv, int8);
    // An ONNX file without the protobuf jars: a one-line error naming them, exit code 2.
    Child c = runChild(cp, List.of(softmaxOnnx.toString()), csv);
    assertEquals(2, c.exit(), c.stderr());
    assertTrue(c.stderr().lines().toList().contains("PredictCsv: " + softmaxOnnx + ": reading an ONNX file needs"
        + " protobuf-java and tribuo-util-onnx on the classpath; found no com/google/protobuf/"
        + "InvalidProtocolBufferException"), c.stderr());
  }

  /** What a child JVM running PredictCsv printed, and its exit code. */
  private record Child(int exit, String stdout, String stderr) {
  }

  private static Child runChild(List<String> cp, List<String> args, Path csv) throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, "child", ".err");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-modules")) {
        cmd.add(a); // the Vector API, for VectorBLAS where there is no native BLAS
      }
    }
    cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), PredictCsv.class.getName()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(csv.toFile()).redirectError(log.toFile());
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process child = pb.start();
    String stdout = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM finished");
    return new Child(child.exitValue(), stdout, Files.readString(log));
  }

  private static void assertChildMatches(List<String> cp, List<String> args, Path csv, Scored expected)
      throws IOException, InterruptedException {
    String model = String.join(" ", args);
    Child c = runChild(cp, args, csv);
    String stdout = c.stdout();
    String stderr = c.stderr();
    assertEquals(0, c.exit(), model + ": the child JVM failed:\n" + stderr + stdout);
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

  /** What ONNX Runtime computes on a file for the test rows: the probability (or prediction) rows, the classes. */
  private record Ort(float[] outputs, long[] classes) {
  }

  private static synchronized OrtEnvironment ort() {
    if (ort == null) {
      ort = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "PredictorTest");
    }
    return ort;
  }

  private static Ort onnxRuntime(Path file) throws OrtException {
    OrtEnvironment ort = ort();
    float[][] in = new float[TEST_ROWS][];
    for (int i = 0; i < TEST_ROWS; i++) in[i] = row(i);
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      try (OrtSession s = ort.createSession(file.toString(), so);
           OnnxTensor t = OnnxTensor.createTensor(ort, in);
           OrtSession.Result r = s.run(Map.of(OnnxExport.INPUT, t))) {
        if (r.get(OnnxExport.PROBABILITY).isPresent()) {
          return new Ort(flatten((float[][]) r.get(OnnxExport.PROBABILITY).get().getValue()),
              (long[]) r.get(OnnxExport.PREDICTION).get().getValue());
        }
        return new Ort(flatten((float[][]) r.get(OnnxExport.PREDICTION).get().getValue()), null);
      }
    }
  }

  private static float[] flatten(float[][] a) {
    int w = a[0].length;
    float[] out = new float[a.length * w];
    for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, out, i * w, w);
    return out;
  }

  /**
   * The Predictor's outputs match ONNX Runtime's within 1e-5 (relative above 1: raw inputs in the
   * thousands give regression outputs in the hundreds), and its classes ONNX Runtime's prediction.
   */
  private static void assertMatchesOnnxRuntime(Predictor p, Path file) throws OrtException {
    Ort want = onnxRuntime(file);
    float[] got = p.predict(rows, TEST_ROWS);
    assertEquals(want.outputs().length, got.length, file + ": outputs");
    double worst = 0;
    for (int i = 0; i < got.length; i++) {
      worst = Math.max(worst, Math.abs(want.outputs()[i] - got[i]) / Math.max(1, Math.abs(want.outputs()[i])));
    }
    assertTrue(worst <= 1e-5, file + ": largest difference from ONNX Runtime " + worst);
    if (want.classes() != null) {
      for (int i = 0; i < TEST_ROWS; i++) {
        assertEquals(want.classes()[i], p.predictClass(row(i)), file + ": class of row " + i);
      }
    }
  }

  @Test
  void anOnnxFileGivesWhatItsModelDirectoryAndOnnxRuntimeGive() throws Exception {
    Object[][] cases = {{softmaxDir, softmaxOnnx, softmax}, {binaryDir, binaryOnnx, binary},
        {regressionDir, regressionOnnx, regression}};
    for (Object[] c : cases) {
      Path modelDir = (Path) c[0];
      Path file = (Path) c[1];
      Predictor fromDir = Predictor.load(modelDir);
      Predictor fromFile = Predictor.load(file);
      assertEquals(fromDir.task(), fromFile.task(), file.toString());
      assertEquals(fromDir.network().architecture(), fromFile.network().architecture(), file.toString());
      assertEquals(OnnxExport.Weights.FLOAT32, fromFile.weights());
      assertEquals(fromDir.toString(), fromFile.toString());
      assertTrue(fromFile.toString().contains("scaled inputs"), fromFile.toString());
      assertArrayEquals(fromDir.predict(rows, TEST_ROWS), fromFile.predict(rows, TEST_ROWS), 1e-6f, file.toString());
      Scored expected = (Scored) c[2];
      assertMatchesTransform(fromFile, expected, fromDir.task());
      assertMatchesOnnxRuntime(fromFile, file);
      if (fromFile.task() == Predictor.Task.CLASSIFICATION) {
        assertEquals(fromDir.numClasses(), fromFile.numClasses(), file.toString());
      }
    }
    assertEquals(1, Predictor.load(binaryOnnx).numOutputs(), "binary: one value per row, P(class 1)");
  }

  @Test
  void int8FilesAndDirectoriesLoadedAsInt8GiveOnnxRuntimesInt8Outputs() throws Exception {
    for (Path modelDir : List.of(softmaxDir, binaryDir, regressionDir)) {
      Path file = dir.resolve(modelDir.getFileName() + ".onnx");
      Path int8File = int8(file);
      Predictor fromInt8File = Predictor.load(int8File);
      Predictor fromDir = Predictor.load(modelDir, OnnxExport.Weights.INT8);
      Predictor fromFloatFile = Predictor.load(file, OnnxExport.Weights.INT8);
      for (Predictor p : List.of(fromInt8File, fromDir, fromFloatFile)) {
        assertEquals(OnnxExport.Weights.INT8, p.weights());
        assertTrue(p.toString().endsWith(", int8 kernels)"), p.toString());
        assertMatchesOnnxRuntime(p, int8File);
      }
      // The same dequantized kernels through the same forward pass: the same bits.
      float[] want = fromInt8File.predict(rows, TEST_ROWS);
      assertArrayEquals(want, fromDir.predict(rows, TEST_ROWS), 0f, modelDir + " as int8");
      assertArrayEquals(want, fromFloatFile.predict(rows, TEST_ROWS), 0f, file + " as int8");
      assertArrayEquals(want, Predictor.load(int8File, OnnxExport.Weights.INT8).predict(rows, TEST_ROWS), 0f);
      // ... and not the float32 model's: the quantization took place.
      float[] exact = Predictor.load(modelDir).predict(rows, TEST_ROWS);
      double drift = 0;
      for (int i = 0; i < exact.length; i++) drift = Math.max(drift, Math.abs(exact[i] - want[i]));
      assertTrue(drift > 0 && drift < 0.1, modelDir + ": int8 against float32 " + drift);
      assertEquals(OnnxExport.Weights.FLOAT32, Predictor.load(modelDir, OnnxExport.Weights.FLOAT32).weights());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Predictor.load(int8File, OnnxExport.Weights.FLOAT32));
      assertEquals(int8File + ": expected float32 kernels, found int8 ones (an int8 ONNX file holds no float32"
          + " kernels): serve it as stored, with load(Path) or Weights.INT8", e.getMessage());
    }
  }

  /**
   * Every activation and output form the export writes (softmax, logits, one sigmoid unit, one logit,
   * regression with mse and huber; leaky_relu with a slope whose text has an exponent), float32 and
   * int8, with and without scaling: the Predictor loaded from the file gives ONNX Runtime's outputs.
   */
  @Test
  void everyActivationAndOutputFormReadBackFromAnOnnxFileGivesOnnxRuntimesOutputs(@TempDir Path tmp)
      throws Exception {
    InputScaling scaling = new InputScaling(new float[] {1000f, 0f, 5f, 2f, 0f}, new float[] {0.005f, 100f, 1f,
        0.5f, 1f});
    Random r = new Random(4);
    int n = 0;
    for (String a : new String[] {"identity", "relu", "leaky_relu(1.0E-4)", "leaky_relu(0.2)", "sigmoid", "tanh",
        "gelu"}) {
      Activation h = Activation.parse(a);
      List<Network> nets = List.of(
          Network.builder(FEATURES).dense(7, h).dense(4, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
          Network.builder(FEATURES).dense(7, h).dense(3, Activation.IDENTITY).loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
          Network.builder(FEATURES).dense(7, h).dense(1, Activation.SIGMOID).loss(Loss.BINARY_CROSS_ENTROPY).build(),
          Network.builder(FEATURES).dense(7, h).dense(1, Activation.IDENTITY).loss(Loss.BINARY_CROSS_ENTROPY).build(),
          Network.builder(FEATURES).dense(6, h).dense(5, h).dense(2, Activation.IDENTITY).loss(Loss.MSE).build(),
          Network.builder(FEATURES).dense(6, h).dense(1, h).loss(Loss.huber(2.5f)).build());
      for (Network net : nets) {
        float[] params = net.initParameters(n);
        for (int i = 0; i < params.length; i++) params[i] += 0.05f * (float) r.nextGaussian();
        boolean classifier = Predictions.isClassifier(net);
        OnnxExport.Weights w = n % 3 == 0 ? OnnxExport.Weights.INT8 : OnnxExport.Weights.FLOAT32;
        InputScaling s = n % 2 == 0 ? scaling : null;
        Path f = tmp.resolve("m" + n + ".onnx");
        OnnxExport.write(OnnxExport.model(net, params, s, classifier, w, null), f);
        Predictor p = Predictor.load(f);
        String what = f + ": " + net.architecture() + ", " + w + (s != null ? ", standardized" : "");
        assertEquals(net.architecture(), p.network().architecture(), what);
        assertEquals(classifier ? Predictor.Task.CLASSIFICATION : Predictor.Task.REGRESSION, p.task(), what);
        assertEquals(w, p.weights(), what);
        assertMatchesOnnxRuntime(p, f);
        n++;
      }
    }
    assertEquals(42, n);
  }

  /** A tiny valid ONNX model (y = Relu(x)) that another tool wrote. */
  private static ModelProto foreignModel() {
    ValueInfoProto.Builder x = ValueInfoProto.newBuilder().setName("x").setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber())
            .setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2)))));
    GraphProto g = GraphProto.newBuilder().setName("relu").addInput(x)
        .addOutput(x.clone().setName("y"))
        .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("x").addOutput("y")).build();
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("pytorch").setProducerVersion("2.3.0")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
  }

  @Test
  void onnxFilesThatSparktrainDidNotWriteOrThatLackSomethingAreRefusedNamingWhat(@TempDir Path tmp)
      throws Exception {
    // Another tool's model: ONNX Runtime runs it, the Predictor refuses it.
    Path foreign = tmp.resolve("relu.onnx");
    Files.write(foreign, foreignModel().toByteArray());
    try (OrtSession s = ort().createSession(foreign.toString())) {
      assertEquals(List.of("y"), new ArrayList<>(s.getOutputNames()), "a valid ONNX model");
    }
    IllegalArgumentException ia = assertThrows(IllegalArgumentException.class, () -> Predictor.load(foreign));
    assertEquals(foreign + ": expected an ONNX model written by sparktrain (producer_name 'sparktrain'), found"
        + " producer_name 'pytorch' version '2.3.0'; the Predictor reads only sparktrain's own export (run other"
        + " models with ONNX Runtime)", ia.getMessage());

    // Missing, truncated, empty, not ONNX at all.
    Path missing = tmp.resolve("missing.onnx");
    IOException e = assertThrows(IOException.class, () -> Predictor.load(missing));
    assertEquals(missing + ": no such file or directory (expected a saved model directory or an ONNX file)",
        e.getMessage());
    byte[] bytes = Files.readAllBytes(softmaxOnnx);
    Path cut = tmp.resolve("cut.onnx");
    for (int n : new int[] {bytes.length - 1, bytes.length / 2, bytes.length / 5, 40, 3, 0}) {
      Files.write(cut, Arrays.copyOf(bytes, n));
      e = assertThrows(IOException.class, () -> Predictor.load(cut), n + " bytes");
      assertTrue(e.getMessage().startsWith(cut + ": "), e.getMessage());
      assertTrue(e.getMessage().contains("truncated"), n + " bytes: " + e.getMessage());
    }
    Files.writeString(cut, "1.0,2.0,3.0\n");
    e = assertThrows(IOException.class, () -> Predictor.load(cut));
    assertTrue(e.getMessage().startsWith(cut + ": ") && e.getMessage().contains("not ONNX"), e.getMessage());

    // A sparktrain file without a part it needs, or with a part changed.
    ModelProto good = ModelProto.parseFrom(bytes);
    Path f = tmp.resolve("changed.onnx");
    ModelProto.Builder noArch = good.toBuilder().clearMetadataProps();
    good.getMetadataPropsList().stream().filter(m -> !m.getKey().equals(OnnxExport.META_ARCHITECTURE))
        .forEach(noArch::addMetadataProps);
    Files.write(f, noArch.build().toByteArray());
    e = assertThrows(IOException.class, () -> Predictor.load(f));
    assertTrue(e.getMessage().startsWith(f + ": expected metadata_props key 'sparktrain.architecture' (sparktrain's"
        + " export writes it), found none; keys present: [sparktrain.version, sparktrain.task"), e.getMessage());

    GraphProto.Builder noBias = good.getGraph().toBuilder().clearInitializer();
    good.getGraph().getInitializerList().stream().filter(t -> !t.getName().equals("dense_1/bias"))
        .forEach(noBias::addInitializer);
    Files.write(f, good.toBuilder().setGraph(noBias).build().toByteArray());
    e = assertThrows(IOException.class, () -> Predictor.load(f));
    assertEquals(f + ": expected initializer 'dense_1/bias' (FLOAT [8]), found none", e.getMessage());

    GraphProto.Builder wrongShape = good.getGraph().toBuilder();
    for (int i = 0; i < wrongShape.getInitializerCount(); i++) {
      if (wrongShape.getInitializer(i).getName().equals("standardize_scale")) {
        wrongShape.setInitializer(i, wrongShape.getInitializer(i).toBuilder().setDims(0, 4));
      }
    }
    Files.write(f, good.toBuilder().setGraph(wrongShape).build().toByteArray());
    e = assertThrows(IOException.class, () -> Predictor.load(f));
    assertEquals(f + ": initializer 'standardize_scale': expected FLOAT [5], found FLOAT [4]", e.getMessage());

    // An activation changed after the export: the metadata says relu, the graph would compute a sigmoid.
    GraphProto.Builder edited = good.getGraph().toBuilder();
    int at = -1;
    for (int i = 0; i < edited.getNodeCount() && at < 0; i++) {
      if (edited.getNode(i).getOpType().equals("Relu")) {
        at = i;
      }
    }
    assertTrue(at > 0, "the softmax model has a Relu node: " + good.getGraph().getNodeList());
    String name = edited.getNode(at).getName();
    edited.setNode(at, edited.getNode(at).toBuilder().setOpType("Sigmoid"));
    Files.write(f, good.toBuilder().setGraph(edited).build().toByteArray());
    e = assertThrows(IOException.class, () -> Predictor.load(f));
    assertTrue(e.getMessage().startsWith(f + ": graph node " + at + ": expected Relu '" + name + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("what sparktrain's export writes for architecture '5-16 relu-8 relu-3"
        + " softmax, softmax_cross_entropy', classification, standardized, float32 kernels), found Sigmoid '"
        + name + "'"), e.getMessage());

    // Metadata that disagrees with the architecture.
    ModelProto.Builder wrongCount = good.toBuilder();
    for (int i = 0; i < wrongCount.getMetadataPropsCount(); i++) {
      if (wrongCount.getMetadataProps(i).getKey().equals(OnnxExport.META_NUM_FEATURES)) {
        wrongCount.setMetadataProps(i, wrongCount.getMetadataProps(i).toBuilder().setValue("6"));
      }
    }
    Files.write(f, wrongCount.build().toByteArray());
    e = assertThrows(IOException.class, () -> Predictor.load(f));
    assertEquals(f + ": metadata sparktrain.num_features: expected 5 (from architecture '5-16 relu-8 relu-3 softmax,"
        + " softmax_cross_entropy'), found '6'", e.getMessage());
  }
}
