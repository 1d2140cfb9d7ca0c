package io.sparktrain.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparktrain.optim.OptimizerState;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.Checkpoint;
import io.sparktrain.train.CheckpointStore;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
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
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format compatibility: a classifier, a regressor and a checkpoint saved by sparktrain 0.1.0 on
 * 2026-11-30 (trainer/src/test/resources/golden/) load and give the same outputs forever. The
 * expected values were written by the same code that saved the files ({@link #regenerate}, run
 * once; see golden/README.md). Predictions may differ by BLAS (native or Java) in the last bits,
 * so they are compared within 1e-6; the checkpoint is compared bit for bit.
 */
class GoldenFilesTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "GoldenFilesTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static Path golden() {
    try {
      return Path.of(GoldenFilesTest.class.getResource("/golden/README.md").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** 20 fixed rows of 4 features (and labels, for training the models once). */
  static Dataset<Row> inputs(int n, long seed) {
    Random r = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] x = new double[4];
      for (int j = 0; j < 4; j++) x[j] = r.nextGaussian();
      int label = x[0] + 0.5 * x[1] > 0.5 ? 2 : x[0] + 0.5 * x[1] < -0.5 ? 1 : 0;
      rows.add(RowFactory.create(Vectors.dense(x), (double) label, 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + 3));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType)
        .add("target", DataTypes.DoubleType);
    return spark.createDataFrame(rows, schema).coalesce(1);
  }

  /** The checkpoint saved as golden: every field set, NaN payloads and subnormals included. */
  static Checkpoint goldenCheckpoint() {
    Random r = new Random(7);
    float[] params = new float[40];
    for (int i = 0; i < params.length; i++) params[i] = (float) r.nextGaussian();
    params[0] = Float.intBitsToFloat(0x7fc01234);
    params[1] = Float.MIN_VALUE;
    float[] best = params.clone();
    best[5] = -0f;
    float[][] slots = {new float[40], new float[40]};
    for (int i = 0; i < 40; i++) {
      slots[0][i] = i * 0.001f;
      slots[1][i] = i * i * 1e-6f;
    }
    Map<String, String> extras = new LinkedHashMap<>();
    extras.put("sparktrain.network", "4-8 relu-3 softmax, softmax_cross_entropy");
    extras.put("early_stopping.best", "0.8125");
    return new Checkpoint(7, 1, 2, 42L, params, best, new OptimizerState(7, slots), "{\"epochs\":3}", extras,
        1_764_460_800_000L);
  }

  private static String hex(float v) {
    return String.format(Locale.ROOT, "%08x", Float.floatToRawIntBits(v));
  }

  private static String line(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (double d : v) sb.append(sb.length() == 0 ? "" : ",").append(Double.toString(d));
    return sb.toString();
  }

  private static double[] parse(String line) {
    String[] f = line.split(",");
    double[] v = new double[f.length];
    for (int i = 0; i < f.length; i++) v[i] = Double.parseDouble(f[i]);
    return v;
  }

  /** Per input row: the probabilities then the prediction (classifier), or the prediction (regressor). */
  static List<double[]> outputs(Dataset<Row> scored, boolean classifier) {
    List<double[]> out = new ArrayList<>();
    for (Row row : scored.select(classifier ? "probability" : "prediction", "prediction").collectAsList()) {
      if (classifier) {
        double[] p = ((Vector) row.get(0)).toArray();
        double[] v = new double[p.length + 1];
        System.arraycopy(p, 0, v, 0, p.length);
        v[p.length] = row.getDouble(1);
        out.add(v);
      } else {
        out.add(new double[] {row.getDouble(0)});
      }
    }
    return out;
  }

  private static void assertOutputs(Path expectedCsv, List<double[]> actual) throws IOException {
    List<String> expected = Files.readAllLines(expectedCsv);
    assertEquals(expected.size(), actual.size(), expectedCsv.toString());
    for (int i = 0; i < expected.size(); i++) {
      double[] e = parse(expected.get(i));
      assertEquals(e.length, actual.get(i).length, "row " + i);
      for (int j = 0; j < e.length; j++) {
        assertEquals(e[j], actual.get(i)[j], 1e-6 * Math.max(1, Math.abs(e[j])), expectedCsv.getFileName() + " row "
            + i + " value " + j);
      }
    }
  }

  @Test
  void theSavedClassifierLoadsAndPredictsAsWhenItWasSaved() throws IOException {
    NeuralNetClassificationModel m = NeuralNetClassificationModel.load(golden().resolve("classifier").toString());
    assertEquals(4 * 8 + 8 + 8 * 3 + 3, m.parameters().length);
    assertOutputs(golden().resolve("classifier-expected.csv"), outputs(m.transform(inputs(20, 99)), true));
  }

  @Test
  void theSavedRegressorLoadsAndPredictsAsWhenItWasSaved() throws IOException {
    NeuralNetRegressionModel m = NeuralNetRegressionModel.load(golden().resolve("regressor").toString());
    assertOutputs(golden().resolve("regressor-expected.csv"), outputs(m.transform(inputs(20, 99)), false));
  }

  @Test
  void theSavedCheckpointLoadsBitForBit(@TempDir Path dir) throws IOException {
    Files.copy(golden().resolve("ckpt-000000000007.bin"), dir.resolve("ckpt-000000000007.bin"));
    Checkpoint c = new CheckpointStore(dir.toUri().toString(), new Configuration(), 3).load(7);
    Checkpoint g = goldenCheckpoint();
    assertEquals(g.round(), c.round());
    assertEquals(g.epoch(), c.epoch());
    assertEquals(g.roundInEpoch(), c.roundInEpoch());
    assertEquals(g.seed(), c.seed());
    assertEquals(g.createdMillis(), c.createdMillis());
    assertEquals(g.configJson(), c.configJson());
    assertEquals(g.extras(), c.extras());
    List<String> expected = Files.readAllLines(golden().resolve("checkpoint-params.txt"));
    List<String> actual = new ArrayList<>();
    for (float v : c.params()) actual.add(hex(v));
    assertEquals(expected, actual, "parameter bits");
    assertArrayEquals(bits(g.params()), bits(c.params()));
    assertArrayEquals(bits(g.bestParams()), bits(c.bestParams()));
    assertEquals(7, c.optimizerState().steps());
    for (int i = 0; i < 2; i++) {
      assertArrayEquals(bits(g.optimizerState().slot(i)), bits(c.optimizerState().slot(i)), "slot " + i);
    }
  }

  private static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
    return b;
  }

  /**
   * Writes the golden files (run once, deliberately): {@code mvn -q -pl trainer test
   * -Dtest=GoldenFilesTest#regenerate -Dgolden.regenerate=true}. Never regenerate to make the tests
   * above pass: a failure there means saved models or checkpoints no longer load as they did.
   */
  @Test
  @EnabledIfSystemProperty(named = "golden.regenerate", matches = "true")
  void regenerate() throws IOException {
    Path out = Path.of("src/test/resources/golden").toAbsolutePath();
    Files.createDirectories(out);
    Dataset<Row> train = inputs(300, 1);
    NeuralNetClassificationModel c = new NeuralNetClassifier().setHiddenLayers(8).setMaxEpochs(3).setBatchSize(32)
        .setSeed(3).fit(train);
    c.write().overwrite().save(out.resolve("classifier").toString());
    NeuralNetRegressionModel r = new NeuralNetRegressor().setHiddenLayers(8).setMaxEpochs(3).setBatchSize(32)
        .setSeed(3).setLabelCol("target").fit(train);
    r.write().overwrite().save(out.resolve("regressor").toString());
    // Expected outputs from the models as loaded back, on 20 rows none of them trained on.
    Dataset<Row> in = inputs(20, 99);
    List<String> lines = new ArrayList<>();
    for (double[] v : outputs(NeuralNetClassificationModel.load(out.resolve("classifier").toString()).transform(in),
        true)) {
      lines.add(line(v));
    }
    Files.write(out.resolve("classifier-expected.csv"), lines);
    lines.clear();
    for (double[] v : outputs(NeuralNetRegressionModel.load(out.resolve("regressor").toString()).transform(in),
        false)) {
      lines.add(line(v));
    }
    Files.write(out.resolve("regressor-expected.csv"), lines);
    Path tmp = Files.createTempDirectory("golden-ckpt");
    CheckpointStore store = new CheckpointStore(tmp.toUri().toString(), new Configuration(), 3);
    store.save(goldenCheckpoint());
    Files.copy(tmp.resolve("ckpt-000000000007.bin"), out.resolve("ckpt-000000000007.bin"),
        StandardCopyOption.REPLACE_EXISTING);
    lines.clear();
    for (float v : goldenCheckpoint().params()) lines.add(hex(v));
    Files.write(out.resolve("checkpoint-params.txt"), lines);
  }
}
