package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.TreeSet;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain train and the memory plan: a model that cannot fit this JVM's heap (2^20 hashed
 * inputs into 1024 units: 4 GiB per copy of the parameters) stops before round 1 with the
 * figures, and a run that fits writes its plan into summary.json.
 */
class MemoryPlanCliTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-memory-plan-cli-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static Path libsvm(Path dir, int dim) throws Exception {
    Random r = new Random(3);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 200; i++) {
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
    return data;
  }

  @Test
  void aModelThatCannotFitStopsBeforeRoundOneWithTheFigures(@TempDir Path dir) throws Exception {
    int dim = 1 << 20;
    Path data = libsvm(dir, dim);
    Path out = dir.resolve("out");
    Path ckpt = dir.resolve("ckpt");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + data,
        "--set", "data.format=libsvm", "--set", "data.options={numFeatures: \"" + dim + "\"}",
        "--set", "model.hidden=[1024]", "--set", "checkpoint.dir=" + ckpt, "--set", "output.dir=" + out);
    assertEquals(1, run.code, run.err + run.out);
    assertTrue(run.err.contains("sparktrain: error: IllegalArgumentException: memory plan: this JVM (the driver,"
        + " which runs the local-mode executors too) needs about "), run.err);
    assertTrue(run.err.contains("parameters 4.0 GiB, optimizer state (2 slots) 8.0 GiB"), run.err);
    assertTrue(run.err.contains("spark.sparktrain.memoryCheck=false"), run.err);
    assertFalse(Files.exists(out.resolve("summary.json")));
    assertFalse(Files.exists(ckpt), "no checkpoint: no round ran");
  }

  @Test
  void aRunThatFitsWritesItsPlanIntoTheSummary(@TempDir Path dir) throws Exception {
    int dim = 1 << 10;
    Path data = libsvm(dir, dim);
    Path out = dir.resolve("out");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + data,
        "--set", "data.format=libsvm", "--set", "data.options={numFeatures: \"" + dim + "\"}",
        "--set", "model.hidden=[8]", "--set", "training.epochs=1", "--set", "training.sync_engine=collective",
        "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    JsonNode plan = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("memory_plan");
    assertTrue(plan != null && plan.isObject(), String.valueOf(plan));
    long p = 4L * (dim * 8 + 8 + 8 * 2 + 2);
    assertTrue(plan.get("driver_bytes").asLong() > (300L << 20) + 15 * p, plan.toString());
    assertTrue(plan.get("executor_bytes").asLong() > 2 * 6 * p, plan.toString());
    assertEquals(Runtime.getRuntime().maxMemory(), plan.get("driver_limit").asLong());
    assertEquals(plan.get("driver_limit").asLong(), plan.get("executor_limit").asLong());
    assertTrue(plan.get("fits").asBoolean());
    assertTrue(plan.get("local").asBoolean());
  }
}
