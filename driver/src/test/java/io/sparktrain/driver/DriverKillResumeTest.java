package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.ml.NeuralNetClassificationModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver JVM of {@code sparktrain train} (the CLI, local[2], sync mode on the collective engine)
 * killed with SIGKILL in the middle of the run, then the same command with checkpoint.resume: the
 * final parameters equal those of an undisturbed run, bit for bit. Both runs are real child JVMs.
 */
class DriverKillResumeTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-driver-kill-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  /** {@code sparktrain train} in a child JVM ({@link CliProcess}). */
  private static ProcessBuilder train(Path csv, Path out, Path ckpt, boolean resume, Path log) {
    return CliProcess.sparktrain(log, List.of("train", "--config", "/dev/null", "--set", "data.train=" + csv,
        "--set", "data.format=csv", "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[f1, f2, f3, f4]", "--set", "data.partitions=2", "--set", "model.hidden=[16]",
        "--set", "training.epochs=25", "--set", "training.batch_size=16", "--set", "training.seed=5",
        "--set", "training.sync_engine=collective",
        "--set", "output.dir=" + out,
        "--set", "checkpoint={dir: " + ckpt + ", every_epochs: 1, keep: 3, resume: " + resume + "}",
        "--set", "spark.master=local[2]", "--set", "spark.conf={spark.ui.enabled: \"false\"}"));
  }

  private static long checkpoints(Path ckpt) throws IOException {
    if (!Files.isDirectory(ckpt)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(ckpt)) {
      return s.filter(p -> p.getFileName().toString().matches("ckpt-\\d+\\.bin")).count();
    }
  }

  private static float[] params(Path out) {
    return NeuralNetClassificationModel.load(out.resolve("model").toString()).parameters();
  }

  @Test
  @Timeout(300)
  void aDriverKilledMidRunResumesToTheParametersOfAnUndisturbedRun(@TempDir Path dir) throws Exception {
    Path csv = DriverTestData.threeClassCsv(dir, 400, 17);
    Path clean = dir.resolve("clean");
    Process c = train(csv, clean, dir.resolve("clean-ckpt"), false, dir.resolve("clean.log")).start();
    assertEquals(0, c.waitFor(), Files.readString(dir.resolve("clean.log")));

    Path out = dir.resolve("killed");
    Path ckpt = dir.resolve("ckpt");
    Process victim = train(csv, out, ckpt, false, dir.resolve("killed.log")).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (checkpoints(ckpt) < 2 && victim.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(victim.isAlive(), "the run ended before it could be killed: " + Files.readString(dir.resolve(
        "killed.log")));
    new ProcessBuilder("kill", "-9", Long.toString(victim.pid())).start().waitFor();
    assertEquals(137, victim.waitFor(), "SIGKILL");
    String killedLog = Files.readString(dir.resolve("killed.log"));
    assertTrue(!killedLog.contains("epoch 25/25"), "killed before the end: " + killedLog);
    assertTrue(!Files.exists(out.resolve("model")), "no model from the killed run");

    Process resumed = train(csv, out, ckpt, true, dir.resolve("resumed.log")).start();
    assertEquals(0, resumed.waitFor(), Files.readString(dir.resolve("resumed.log")));
    String log = Files.readString(dir.resolve("resumed.log"));
    assertTrue(log.contains("epoch 25/25 ") && !log.contains("epoch 1/25 "), "resumed, not restarted: " + log);
    assertArrayEquals(params(clean), params(out), "the resumed run's parameters differ from the undisturbed run's");
  }
}
