package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sparktrain export}: a model trained by the CLI on iris (four numeric CSV columns,
 * standardized by default) is exported, and ONNX Runtime's outputs on the same rows match what
 * {@code sparktrain predict} writes; the run's training config is in the metadata; bad options stop
 * with exit code 2 before Spark starts.
 */
class ExportCliTest {
  private static final String[] COLS = {"sepal_length", "sepal_width", "petal_length", "petal_width"};
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-export-cli-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void exportedModelMatchesPredict(@TempDir Path dir) throws Exception {
    String iris = CliProcess.root().resolve("trainer/src/test/resources/iris.csv").toString();
    Path out = dir.resolve("run");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.format=csv",
        "--set", "data.train=" + iris, "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[" + String.join(", ", COLS) + "]", "--set", "model.hidden=[8]",
        "--set", "model.activation=tanh", "--set", "training.epochs=5", "--set", "training.batch_size=16",
        "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);

    Path onnx = dir.resolve("export/iris.onnx");
    MainTest.Run ex = MainTest.run("export", "--model", out.resolve("model").toString(), "--output", onnx.toString());
    assertEquals(0, ex.code, ex.err + ex.out);
    assertTrue(ex.out.contains("onnx: " + onnx.toAbsolutePath()), ex.out);

    Path preds = dir.resolve("preds");
    MainTest.Run pr = MainTest.run("predict", "--model", out.resolve("model").toString(), "--data", iris,
        "--format", "csv", "--option", "header=true", "--option", "inferSchema=true", "--features",
        String.join(",", COLS), "--output", preds.toString());
    assertEquals(0, pr.code, pr.err + pr.out);
    List<Row> rows = spark.read().parquet(preds.toString()).select(COLS[0], COLS[1], COLS[2], COLS[3],
        "probability", "prediction").collectAsList();
    assertEquals(150, rows.size());
    float[][] x = new float[rows.size()][4];
    for (int i = 0; i < rows.size(); i++) {
      for (int j = 0; j < 4; j++) x[i][j] = (float) ((Number) rows.get(i).get(j)).doubleValue();
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
         OnnxTensor t = OnnxTensor.createTensor(env, x);
         OrtSession.Result r = s.run(Map.of("features", t))) {
      float[][] p = (float[][]) r.get("probability").get().getValue();
      long[] c = (long[]) r.get("prediction").get().getValue();
      double worst = 0;
      for (int i = 0; i < rows.size(); i++) {
        double[] want = ((Vector) rows.get(i).get(4)).toArray();
        for (int k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(want[k] - p[i][k]));
        assertEquals((long) rows.get(i).getDouble(5), c[i], "prediction of row " + i);
      }
      assertTrue(worst <= 1e-5, "largest probability difference " + worst);
      Map<String, String> meta = s.getMetadata().getCustomMetadata();
      String config = meta.get("sparktrain.training_config");
      assertTrue(config != null && config.contains("\"hidden\":[8]") && config.contains("tanh"), meta.toString());
      assertEquals("4", meta.get("sparktrain.num_features"));
    }
  }

  @Test
  void badOptionsStopBeforeSpark(@TempDir Path dir) throws Exception {
    MainTest.Run r = MainTest.run("export", "--model", dir.toString(), "--format", "pmml", "--output",
        dir.resolve("m.pmml").toString());
    assertEquals(2, r.code, r.err + r.out);
    assertTrue(r.err.contains("--format: expected onnx, found pmml"), r.err);
    r = MainTest.run("export", "--model", dir.toString(), "--output", dir.toString());
    assertEquals(2, r.code, r.err + r.out);
    assertTrue(r.err.contains("--output: expected a file path, found the directory"), r.err);
    assertTrue(Files.exists(dir) && !Files.exists(dir.resolve("m.pmml")));
  }
}
