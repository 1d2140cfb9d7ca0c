package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.driver.config.ConfigSchema;
import io.sparktrain.driver.config.JobConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit codes and messages of the command line; none of these start Spark. */
class MainTest {
  static final class Run {
    final int code;
    final String out;
    final String err;

    Run(int code, String out, String err) {
      this.code = code;
      this.out = out;
      this.err = err;
    }
  }

  static Run run(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
  }

  private static void assertNoSpark() {
    assertTrue(SparkSession.getDefaultSession().isEmpty(), "a Spark session was started");
    assertTrue(SparkSession.getActiveSession().isEmpty(), "a Spark session was started");
  }

  @Test
  void badConfigExits2WithOneLineBeforeSpark(@TempDir Path dir) throws IOException {
    Path cfg = dir.resolve("bad.yaml");
    Files.writeString(cfg, "data: {train: x.parquet}\ntraining:\n  optimzer: {name: adam}\n");
    Run r = run("train", "--config", cfg.toString());
    assertEquals(2, r.code, r.err);
    assertEquals("sparktrain: training.optimzer: unknown key; did you mean training.optimizer?\n", r.err);
    assertEquals("", r.out);
    Run s = run("train", "--config", cfg.toString(), "--set", "training.optimzer=null",
        "--set", "training.batch_size=-1");
    assertEquals(2, s.code);
    assertEquals("sparktrain: training.batch_size: expected an integer >= 0, found -1\n", s.err.replace(
        "training.optimzer: unknown key; did you mean training.optimizer?; ", ""));
    assertNoSpark();
  }

  @Test
  void badUsageExits2() {
    Run missing = run("train");
    assertEquals(2, missing.code);
    assertEquals(1, missing.err.lines().count(), missing.err);
    assertTrue(missing.err.startsWith("sparktrain train: Missing required option: '--config=FILE'"), missing.err);
    Run unknown = run("train", "--config", "x.yaml", "--epochs", "3");
    assertEquals(2, unknown.code);
    assertEquals(1, unknown.err.lines().count(), unknown.err);
    assertEquals(2, run("frobnicate").code);
    assertEquals(2, run().code);
    Run noFile = run("train", "--config", "/nonexistent/job.yaml");
    assertEquals(2, noFile.code);
    assertEquals("sparktrain: /nonexistent/job.yaml: no such config file\n", noFile.err);
    Run fmt = run("evaluate", "--model", "m", "--data", "d", "--format", "xls");
    assertEquals(2, fmt.code);
    assertEquals("sparktrain: --format: expected one of parquet, csv, json, libsvm, orc, table, found xls\n", fmt.err);
    assertNoSpark();
  }

  @Test
  void helpEverywhereExits0() {
    for (String cmd : List.of("", "train", "evaluate", "predict", "explain", "info")) {
      Run r = cmd.isEmpty() ? run("--help") : run(cmd, "--help");
      assertEquals(0, r.code, cmd);
      assertTrue(r.out.startsWith("Usage: sparktrain" + (cmd.isEmpty() ? "" : " " + cmd)), r.out);
    }
    Run v = run("--version");
    assertEquals(0, v.code);
    assertTrue(v.out.startsWith("sparktrain "), v.out);
  }

  @Test
  void infoPrintsVersionsAndBlas() {
    Run r = run("info");
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.contains("Spark 4.2.0"), r.out);
    assertTrue(r.out.contains("\nBLAS "), r.out);
    assertTrue(r.out.contains("\nnative library "), r.out);
    assertNoSpark();
  }

  @Test
  void infoSchemaListsEveryKey() {
    Run r = run("info", "--schema");
    assertEquals(0, r.code, r.err);
    for (String key : List.of("name:", "format:", "validation_fraction:", "local_steps:", "learning_rate:",
        "min_factor:", "local_optimizer:", "restore_best_weights:", "every_epochs:", "overwrite:", "master:")) {
      assertTrue(r.out.contains(key), key);
    }
  }

  @Test
  void theReadmeConfigurationReferenceIsWhatInfoSchemaPrints() throws IOException {
    String readme = Files.readString(Path.of("../README.md"));
    int section = readme.indexOf("\n## Configuration reference\n");
    assertTrue(section > 0, "README.md has no Configuration reference section");
    int start = readme.indexOf("```yaml\n", section) + "```yaml\n".length();
    int end = readme.indexOf("```\n", start);
    assertEquals(ConfigSchema.describe(), readme.substring(start, end),
        "README.md's configuration reference differs from 'sparktrain info --schema'");
  }

  @Test
  void theShippedConfigsAreValid() {
    for (String f : List.of("../conf/fashion-mnist.yaml", "../conf/regression-example.yaml")) {
      JobConfig c = JobConfig.load(Path.of(f), List.of());
      assertFalse(c.name().isEmpty());
    }
    JobConfig fm = JobConfig.load(Path.of("../conf/fashion-mnist.yaml"), List.of());
    assertEquals(235, fm.integer("training.local_steps"));
    assertEquals("average", fm.string("training.mode"));
    assertEquals(List.of(256, 128), fm.intList("model.hidden"));
  }
}
