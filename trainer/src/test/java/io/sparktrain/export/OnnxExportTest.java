package io.sparktrain.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.sparktrain.data.InputScaling;
import io.sparktrain.eval.Predictions;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.ml.NeuralNetRegressionModel;
import io.sparktrain.ml.NeuralNetRegressor;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.testing.Spark;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX export checked by a real runtime, ONNX Runtime (Java): every activation in every task shape
 * (softmax outputs, logits, one sigmoid unit, one logit, regression) against sparktrain's own
 * forward pass; trained models on iris against {@code transform}; the metadata; a runtime that loads
 * the file without warnings (in a child JVM, whose stderr is ONNX Runtime's log); the refusals.
 */
class OnnxExportTest {
  private static final double TOL = 1e-5;
  private static final StructType SCHEMA = new StructType().add("features", new VectorUDT())
      .add("label", DataTypes.DoubleType);
  private static SparkSession spark;
  private static OrtEnvironment ort;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "OnnxExportTest");
    ort = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "OnnxExportTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void everyActivationInEveryTaskMatchesTheForwardPass() throws Exception {
    String[] hidden = {"identity", "relu", "leaky_relu(0.2)", "sigmoid", "tanh", "gelu"};
    Random r = new Random(5);
    int d = 7;
    int rows = 64;
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) (3 * r.nextGaussian() + 1);
    float[] shift = new float[d];
    float[] scale = new float[d];
    for (int j = 0; j < d; j++) {
      shift[j] = (float) r.nextGaussian();
      scale[j] = 0.3f + r.nextFloat();
    }
    InputScaling scaling = new InputScaling(shift, scale);
    int checked = 0;
    for (String h : hidden) {
      Activation a = Activation.parse(h);
      List<Network> nets = List.of(
          Network.builder(d).dense(9, a).dense(5, a).dense(4, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY)
              .build(),
          Network.builder(d).dense(9, a).dense(3, Activation.IDENTITY).loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
          Network.builder(d).dense(9, a).dense(1, Activation.SIGMOID).loss(Loss.BINARY_CROSS_ENTROPY).build(),
          Network.builder(d).dense(9, a).dense(1, Activation.IDENTITY).loss(Loss.BINARY_CROSS_ENTROPY).build(),
          Network.builder(d).dense(9, a).dense(2, Activation.IDENTITY).loss(Loss.MSE).build(),
          Network.builder(d).dense(6, a).dense(2, a).loss(Loss.MSE).build());
      for (Network net : nets) {
        float[] params = net.initParameters(11 + checked);
        for (int i = 0; i < params.length; i++) params[i] += 0.05f * (float) r.nextGaussian();  // non-zero biases
        boolean classifier = Predictions.isClassifier(net);
        InputScaling s = checked % 2 == 0 ? scaling : null;
        Path file = dir.resolve("m" + checked + ".onnx");
        OnnxExport.write(OnnxExport.model(net, params, s, classifier, null), file);

        float[] in = x.clone();
        if (s != null) s.applyDense(in, 0, rows);
        float[] out = net.predict(params, in, rows, net.newWorkspace());
        Outputs got = run(file, x, rows, d);
        String what = net.architecture() + (s != null ? " standardized" : "");
        if (!classifier) {
          assertClose(out, got.prediction, what + ": prediction");
          assertEquals(null, got.probability, what);
        } else {
          int k = Predictions.numClasses(net);
          float[] p = Predictions.classProbabilities(net, out, rows);
          if (net.outputs() == 1) {
            float[] p1 = new float[rows];
            for (int i = 0; i < rows; i++) p1[i] = p[2 * i + 1];
            assertClose(p1, got.probability, what + ": probability of class 1");
          } else {
            assertClose(p, got.probability, what + ": probability");
          }
          for (int i = 0; i < rows; i++) {
            int best = 0;
            for (int c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
            assertEquals(best, got.classes[i], what + ": prediction of row " + i);
          }
        }
        checked++;
      }
    }
    assertEquals(36, checked);
  }

  @Test
  void trainedIrisModelsMatchTransformAndCarryTheirMetadata() throws Exception {
    Dataset<Row> iris = iris(false);
    NeuralNetClassificationModel multi = new NeuralNetClassifier().setHiddenLayers(16, 8).setActivation("gelu")
        .setMaxEpochs(30).setBatchSize(16).setSeed(3).fit(iris);
    Path f = dir.resolve("iris.onnx");
    multi.exportOnnx(f, Map.of("sparktrain.training_config", "{\"note\": \"test\"}"));
    compareClassifier(multi, iris, f, 3);

    try (OrtSession session = ort.createSession(f.toString(), new OrtSession.SessionOptions())) {
      Map<String, String> meta = session.getMetadata().getCustomMetadata();
      assertEquals("classification", meta.get("sparktrain.task"));
      assertEquals("4", meta.get("sparktrain.num_features"));
      assertEquals("3", meta.get("sparktrain.num_classes"));
      assertEquals("true", meta.get("sparktrain.standardized"));
      assertEquals("{\"note\": \"test\"}", meta.get("sparktrain.training_config"));
      assertTrue(meta.get("sparktrain.params").contains("\"activation\":\"gelu\""), meta.get("sparktrain.params"));
      assertTrue(meta.get("sparktrain.architecture").startsWith("4-16 gelu-8 gelu-3 softmax"),
          meta.get("sparktrain.architecture"));
      assertEquals("sparktrain", session.getMetadata().getProducerName());
    }
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(f));
    assertEquals(OnnxExport.OPSET, m.getOpsetImport(0).getVersion());
    assertEquals(OnnxExport.IR_VERSION, m.getIrVersion());

    // Binary: one sigmoid unit after leaky_relu, on setosa against the rest, standardized inputs.
    Dataset<Row> binary = iris(true);
    Network bnet = Network.builder(4).dense(8, Activation.parse("leaky_relu(0.1)")).dense(1, Activation.SIGMOID)
        .loss(Loss.BINARY_CROSS_ENTROPY).build();
    NeuralNetClassificationModel bin = NeuralNetClassificationModel.of(bnet, bnet.initParameters(4),
        new InputScaling(new float[] {5.8f, 3f, 3.8f, 1.2f}, new float[] {1.2f, 2.3f, 0.6f, 1.3f}));
    Path fb = dir.resolve("binary.onnx");
    bin.exportOnnx(fb.toString());
    compareClassifier(bin, binary, fb, 2);
    // Spark's binary evaluator reads index 1 of rawPrediction and probability: (-z, z) and (1 - p, p).
    for (Row row : bin.transform(binary).select("rawPrediction", "probability").collectAsList()) {
      double[] z = ((Vector) row.get(0)).toArray();
      double[] p = ((Vector) row.get(1)).toArray();
      assertEquals(2, z.length);
      assertEquals(-z[1], z[0], 0.0);
      assertEquals(1 / (1 + Math.exp(-z[1])), p[1], 1e-6);
    }
    double auc = new BinaryClassificationEvaluator().evaluate(bin.transform(binary));
    assertTrue(auc >= 0 && auc <= 1, "area under ROC " + auc);

    // Regression: petal width from the other three, tanh.
    List<Row> rr = new ArrayList<>();
    for (Row row : iris.collectAsList()) {
      double[] v = ((Vector) row.get(0)).toArray();
      rr.add(RowFactory.create(Vectors.dense(v[0], v[1], v[2]), v[3]));
    }
    Dataset<Row> reg = spark.createDataFrame(rr, SCHEMA);
    NeuralNetRegressionModel rm = new NeuralNetRegressor().setHiddenLayers(8).setActivation("tanh").setMaxEpochs(20)
        .setBatchSize(16).setSeed(2).fit(reg);
    Path fr = dir.resolve("regression.onnx");
    rm.exportOnnx(fr.toString());
    List<Row> scored = rm.transform(reg).select("features", "prediction").collectAsList();
    float[] x = features(scored, 3);
    Outputs got = run(fr, x, scored.size(), 3);
    float[] want = new float[scored.size()];
    for (int i = 0; i < want.length; i++) want[i] = (float) scored.get(i).getDouble(1);
    assertClose(want, got.prediction, "regression prediction");
  }

  @Test
  void int8KernelsComputeWhatTheirDequantizedValuesDo() throws Exception {
    Random r = new Random(9);
    int d = 64;
    int rows = 50;
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    List<Network> nets = List.of(
        Network.builder(d).dense(256, Activation.RELU).dense(128, Activation.GELU).dense(10, Activation.SOFTMAX)
            .loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
        Network.builder(d).dense(32, Activation.TANH).dense(3, Activation.IDENTITY).loss(Loss.MSE).build());
    for (Network net : nets) {
      float[] params = net.initParameters(21);
      for (int i = 0; i < params.length; i++) params[i] += 0.01f * (float) r.nextGaussian();
      boolean classifier = Predictions.isClassifier(net);
      Path f32 = dir.resolve("f32-" + net.depth() + ".onnx");
      Path i8 = dir.resolve("int8-" + net.depth() + ".onnx");
      OnnxExport.write(OnnxExport.model(net, params, null, classifier, null), f32);
      ModelProto q = OnnxExport.model(net, params, null, classifier, OnnxExport.Weights.INT8, null);
      OnnxExport.write(q, i8);
      assertEquals(net.depth(), q.getGraph().getNodeList().stream().filter(n -> n.getOpType()
          .equals("DequantizeLinear")).count(), "one DequantizeLinear per kernel");
      assertEquals(net.depth(), q.getGraph().getInitializerList().stream().filter(t -> t.getDataType()
          == TensorProto.DataType.INT8.getNumber() && t.getDimsCount() == 2).count(), "int8 kernels");

      float[] want = net.predict(OnnxExport.int8Dequantized(net, params), x, rows, net.newWorkspace());
      float[] exact = net.predict(params, x, rows, net.newWorkspace());
      Outputs got = run(i8, x, rows, d);
      float[] have = classifier ? got.probability : got.prediction;
      assertClose(want, have, net.architecture() + " int8 against its dequantized kernels");
      double drift = 0;
      for (int i = 0; i < want.length; i++) drift = Math.max(drift, Math.abs(exact[i] - have[i]));
      assertTrue(drift > 0 && drift < 0.05, net.architecture() + ": int8 against float32 " + drift);
      if (net.depth() == 3) {
        double ratio = (double) Files.size(i8) / Files.size(f32);
        assertTrue(ratio <= 0.3, "int8 file " + Files.size(i8) + " bytes against " + Files.size(f32) + ": " + ratio);
      }
    }
    // The rounding: every value within half a step of its column's scale, each non-zero column reaching 127.
    float[] w = new float[5 * 3];
    for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian() * (1 + i % 3);
    w[1] = 0f;
    w[4] = 0f;
    w[7] = 0f;
    w[10] = 0f;
    w[13] = 0f;
    byte[] qv = new byte[w.length];
    float[] scale = OnnxExport.quantizeInt8(w, 0, 5, 3, qv);
    assertEquals(1f, scale[1], "an all-zero column keeps scale 1");
    for (int j : new int[] {0, 2}) {
      int top = 0;
      for (int i = 0; i < 5; i++) {
        assertTrue(Math.abs(w[i * 3 + j] - qv[i * 3 + j] * scale[j]) <= scale[j] / 2 + 1e-7, "row " + i);
        top = Math.max(top, Math.abs(qv[i * 3 + j]));
      }
      assertEquals(127, top, "column " + j);
    }
  }

  @Test
  void onnxRuntimeLoadsTheModelWithoutWarnings() throws Exception {
    Network net = Network.builder(5).dense(6, Activation.GELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Path f = dir.resolve("warnings.onnx");
    OnnxExport.write(OnnxExport.model(net, net.initParameters(1), new InputScaling(new float[5], ones(5)), true,
        null), f);
    Path log = dir.resolve("ort.log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-")) cmd.add(a);
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), OnnxRuntimeCheck.class.getName(),
        f.toString(), "5"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "ONNX Runtime check did not finish");
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("ok 3 outputs"), out);
    // ONNX Runtime's own log lines look like "2026-... [W:onnxruntime:...]" at warning level and above.
    assertFalse(out.contains(":onnxruntime:"), "ONNX Runtime logged:\n" + out);
  }

  @Test
  void refusesWhatOnnxCannotExpressWithoutWritingAFile() throws Exception {
    Network emb = Network.builder(2).embedding(10, 3).dense(4, Activation.RELU).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxExport.model(emb, emb.initParameters(1), null, true, null));
    assertTrue(e.getMessage().contains("categorical embedding table"), e.getMessage());

    Network reg = Network.builder(3).dense(2, Activation.IDENTITY).loss(Loss.MSE).build();
    e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.model(reg, reg.initParameters(1), null, true,
        null));
    assertTrue(e.getMessage().contains("expected a classifier network"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.model(reg, new float[3], null, false, null));
    assertTrue(e.getMessage().contains("onnx export: parameters"), e.getMessage());

    Path f = dir.resolve("kept.onnx");
    Files.writeString(f, "previous");
    OnnxExport.write(OnnxExport.model(reg, reg.initParameters(1), null, false, null), f);
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of("kept.onnx"), s.map(p -> p.getFileName().toString()).toList(), "no temporary file left");
    }
    assertTrue(Files.size(f) > "previous".length());
  }

  private void compareClassifier(NeuralNetClassificationModel m, Dataset<Row> data, Path file, int k)
      throws OrtException {
    List<Row> scored = m.transform(data).select("features", "probability", "prediction").collectAsList();
    int rows = scored.size();
    float[] x = features(scored, 4);
    Outputs got = run(file, x, rows, 4);
    int width = k == 2 && m.network().outputs() == 1 ? 1 : k;
    float[] want = new float[rows * width];
    for (int i = 0; i < rows; i++) {
      double[] p = ((Vector) scored.get(i).get(1)).toArray();
      if (width == 1) {
        want[i] = (float) p[1];
      } else {
        for (int c = 0; c < k; c++) want[i * k + c] = (float) p[c];
      }
      assertEquals((long) scored.get(i).getDouble(2), got.classes[i], "prediction of row " + i);
    }
    assertClose(want, got.probability, m.network().architecture() + ": probability");
  }

  private static float[] features(List<Row> rows, int d) {
    float[] x = new float[rows.size() * d];
    for (int i = 0; i < rows.size(); i++) {
      double[] v = ((Vector) rows.get(i).get(0)).toArray();
      for (int j = 0; j < d; j++) x[i * d + j] = (float) v[j];
    }
    return x;
  }

  /** Iris from the test resources as (features, label); {@code binary}: setosa (1) against the rest (0). */
  private static Dataset<Row> iris(boolean binary) throws Exception {
    String csv = Path.of(OnnxExportTest.class.getResource("/iris.csv").toURI()).toString();
    List<Row> rows = new ArrayList<>();
    for (Row r : spark.read().option("header", "true").option("inferSchema", "true").csv(csv).collectAsList()) {
      double label = r.getInt(4);
      rows.add(RowFactory.create(Vectors.dense(r.getDouble(0), r.getDouble(1), r.getDouble(2), r.getDouble(3)),
          binary ? (label == 0 ? 1.0 : 0.0) : label));
    }
    return spark.createDataFrame(rows, SCHEMA);
  }

  /** What ONNX Runtime computes for {@code rows} rows of {@code x}: the graph's outputs, flattened. */
  private static Outputs run(Path file, float[] x, int rows, int d) throws OrtException {
    float[][] in = new float[rows][d];
    for (int i = 0; i < rows; i++) System.arraycopy(x, i * d, in[i], 0, d);
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      try (OrtSession s = ort.createSession(file.toString(), so);
           OnnxTensor t = OnnxTensor.createTensor(ort, in);
           OrtSession.Result r = s.run(Map.of(OnnxExport.INPUT, t))) {
        Outputs o = new Outputs();
        if (r.get(OnnxExport.PROBABILITY).isPresent()) {
          o.probability = flatten((float[][]) r.get(OnnxExport.PROBABILITY).get().getValue());
          o.classes = (long[]) r.get(OnnxExport.PREDICTION).get().getValue();
        } else {
          o.prediction = flatten((float[][]) r.get(OnnxExport.PREDICTION).get().getValue());
        }
        return o;
      }
    }
  }

  private static final class Outputs {
    float[] probability;
    long[] classes;
    float[] prediction;
  }

  private static float[] flatten(float[][] a) {
    int w = a.length == 0 ? 0 : a[0].length;
    float[] out = new float[a.length * w];
    for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, out, i * w, w);
    return out;
  }

  private static float[] ones(int n) {
    float[] v = new float[n];
    Arrays.fill(v, 1f);
    return v;
  }

  private static void assertClose(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what + ": length");
    double worst = 0;
    for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
    assertTrue(worst <= TOL, what + ": largest difference " + worst + " > " + TOL);
  }
}
