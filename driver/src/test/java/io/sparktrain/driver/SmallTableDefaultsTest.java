package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.ml.NeuralNetClassificationModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain train on iris (raw CSV columns) with only the data section set: the defaults
 * (standardization inside the model, automatic epochs and batch, the local sync engine) reach
 * >= 0.9 test accuracy, the saved model carries the scaling, and evaluate applies it.
 */
class SmallTableDefaultsTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-small-table-defaults-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void irisWithOnlyTheDataSectionReachesNinetyPercent(@TempDir Path dir) throws Exception {
    // trainer's test resource (iris is public domain); every third row of each class is test data.
    List<String> lines = Files.readAllLines(Path.of("../trainer/src/test/resources/iris.csv"));
    StringBuilder train = new StringBuilder(lines.get(0)).append('\n');
    StringBuilder test = new StringBuilder(lines.get(0)).append('\n');
    for (int i = 1; i < lines.size(); i++) ((i - 1) % 3 == 0 ? test : train).append(lines.get(i)).append('\n');
    Files.writeString(dir.resolve("train.csv"), train);
    Files.writeString(dir.resolve("test.csv"), test);
    Path cfg = dir.resolve("iris.yaml");
    Files.writeString(cfg, "data:\n  format: csv\n  train: " + dir.resolve("train.csv") + "\n  test: "
        + dir.resolve("test.csv") + "\n  features: [sepal_length, sepal_width, petal_length, petal_width]\n"
        + "  label: label\n  options: {header: \"true\", inferSchema: \"true\"}\n");
    Path out = dir.resolve("out");
    MainTest.Run run = MainTest.run("train", "--config", cfg.toString(), "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    Matcher m = Pattern.compile("test accuracy (\\d\\.\\d+)").matcher(run.out);
    assertTrue(m.find(), run.out);
    double accuracy = Double.parseDouble(m.group(1));
    assertTrue(accuracy >= 0.9, run.out);
    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    assertEquals("mean and std", summary.get("data").get("standardized").asText());
    JsonNode resolved = summary.get("training_resolved");
    assertEquals("local", resolved.get("sync_engine").asText(), resolved.toString());
    assertEquals(16, resolved.get("batch_size").asInt(), resolved.toString());
    assertTrue(resolved.get("epochs_auto").asBoolean());
    NeuralNetClassificationModel model = NeuralNetClassificationModel.load(out.resolve("model").toString());
    assertTrue(model.inputScaling() != null && !model.inputScaling().scaleOnly());
    // evaluate applies the model's scaling: the test accuracy again.
    MainTest.Run eval = MainTest.run("evaluate", "--model", out.resolve("model").toString(), "--data",
        dir.resolve("test.csv").toString(), "--format", "csv", "--option", "header=true", "--option",
        "inferSchema=true", "--features", "sepal_length,sepal_width,petal_length,petal_width");
    assertEquals(0, eval.code, eval.err + eval.out);
    assertTrue(eval.out.contains(String.format(Locale.ROOT, "accuracy %.4f", accuracy)), eval.out);
  }
}
