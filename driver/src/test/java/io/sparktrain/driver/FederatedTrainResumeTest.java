package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.ml.NeuralNetClassificationModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain train with training.mode federated, checkpoints, resume and early stopping, through
 * the command line (Main.run) on one local[2] session (127.0.0.1, no UI). Four IID silos, two
 * sampled a round (so equal runs are bit-identical), FedAdam with DP noise.
 */
class FederatedTrainResumeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-fed-resume-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static Path writeCsv(Path dir) throws IOException {
    return DriverTestData.threeClassCsv(dir, 400, 9);
  }

  /** The job's --set arguments, then {@code more}. */
  private static String[] train(Path csv, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--config", "/dev/null", "--set", "data.train=" + csv,
        "--set", "data.format=csv", "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[f1, f2, f3, f4]", "--set", "data.validation_fraction=0.2",
        "--set", "model.hidden=[8]", "--set", "training.mode=federated", "--set", "training.seed=3",
        "--set", "federated={client_fraction: 0.5, eval_every_rounds: 2, local_optimizer: {learning_rate: 0.1},"
            + " server: fedadam, server_lr: 0.05, dp: {clip_norm: 1.0, noise_multiplier: 0.7}}",
        "--set", "silos={source: iid, count: 4}"));
    for (String m : more) a.add(m);
    return a.toArray(new String[0]);
  }

  private static float[] params(Path out) {
    return NeuralNetClassificationModel.load(out.resolve("model").toString()).parameters();
  }

  @Test
  void checkpointThenResumeEqualsAnUninterruptedRun(@TempDir Path dir) throws IOException {
    Path csv = writeCsv(dir);
    Path clean = dir.resolve("clean");
    MainTest.Run c = MainTest.run(train(csv, "--set", "federated.rounds=6", "--set", "output.dir=" + clean));
    assertEquals(0, c.code, c.err + c.out);

    // A run of 4 rounds with checkpoints every 2 (standing in for a run stopped after round 4) ...
    Path ckpt = dir.resolve("ckpt");
    Path out = dir.resolve("resumed");
    MainTest.Run first = MainTest.run(train(csv, "--set", "federated.rounds=4", "--set", "output.dir=" + out,
        "--set", "checkpoint={dir: " + ckpt + ", every_rounds: 2, keep: 5}"));
    assertEquals(0, first.code, first.err + first.out);
    assertTrue(first.err.contains("checkpoint round 2 -> "), first.err);
    assertTrue(first.err.contains("checkpoint round 4 -> "), first.err);
    try (Stream<Path> files = Files.list(ckpt)) {
      assertEquals(List.of("ckpt-000000000002.bin", "ckpt-000000000004.bin"),
          files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("ckpt-")).sorted().toList());
    }
    // ... the progress lines of a federated run: plain lines (stderr is not a terminal here), one per
    // evaluation round, with the validation metrics.
    assertTrue(first.err.lines().anyMatch(l -> l.matches("round 2/4 loss \\d\\.\\d{4} val_loss .* silos 2 upload_bytes"
        + " \\d+\\.\\d{4} dp_epsilon .* samples/s elapsed .* eta .*")), first.err);
    assertFalse(first.err.contains("epoch 1/1"), first.err);

    // ... resumed to 6 rounds: the parameters and epsilon of the uninterrupted run.
    MainTest.Run second = MainTest.run(train(csv, "--set", "federated.rounds=6", "--set", "output.dir=" + out,
        "--set", "checkpoint={dir: " + ckpt + ", every_rounds: 2, keep: 5, resume: true}"));
    assertEquals(0, second.code, second.err + second.out);
    assertFalse(second.err.contains("round 2/6"), "rounds 1-4 are not run again: " + second.err);
    assertTrue(second.err.contains("round 6/6 loss "), second.err);
    assertArrayEquals(params(clean), params(out));
    JsonNode a = JSON.readTree(clean.resolve("summary.json").toFile());
    JsonNode b = JSON.readTree(out.resolve("summary.json").toFile());
    assertEquals(6, b.get("rounds").asInt());
    assertEquals("rounds", b.get("stop_reason").asText());
    assertTrue(a.get("dp_epsilon").asDouble() > 0);
    assertEquals(a.get("dp_epsilon").asDouble(), b.get("dp_epsilon").asDouble(), 0.0);
    assertEquals(a.get("final_validation").get("val_accuracy").asDouble(),
        b.get("final_validation").get("val_accuracy").asDouble(), 0.0);
    // metrics.jsonl of the resumed run holds its own rounds, 5 and 6
    List<String> rounds = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(2, rounds.size(), rounds.toString());
    assertEquals(5, JSON.readTree(rounds.get(0)).get("round").asInt());

    // Resuming with another architecture fails (exit 1, one line) naming what differs.
    MainTest.Run bad = MainTest.run(train(csv, "--set", "federated.rounds=8", "--set", "model.hidden=[6]",
        "--set", "output.dir=" + dir.resolve("bad"), "--set", "checkpoint={dir: " + ckpt + ", resume: true}"));
    assertEquals(1, bad.code, bad.err);
    assertTrue(bad.err.startsWith(
        "sparktrain: error: IllegalStateException: checkpoint.resume: no usable checkpoint in "), bad.err);
    assertTrue(bad.err.contains("does not fit this run: network: expected Network(inputs=4 -> Dense(6, relu)"),
        bad.err);
  }

  @Test
  void earlyStoppingEndsTheRunAndRestoresTheBestRound(@TempDir Path dir) throws IOException {
    Path csv = writeCsv(dir);
    // min_delta 100: only the first evaluation (round 2) counts as an improvement; patience 1 stops at
    // round 4 of 20 and restores round 2's weights: those of a plain 2-round run.
    Path stopped = dir.resolve("stopped");
    MainTest.Run s = MainTest.run(train(csv, "--set", "federated.rounds=20", "--set", "output.dir=" + stopped,
        "--set", "training.early_stopping={metric: val_loss, patience: 1, min_delta: 100}"));
    assertEquals(0, s.code, s.err + s.out);
    JsonNode summary = JSON.readTree(stopped.resolve("summary.json").toFile());
    assertEquals("early_stopping", summary.get("stop_reason").asText());
    assertEquals(4, summary.get("rounds").asInt());
    Path two = dir.resolve("two");
    MainTest.Run t = MainTest.run(train(csv, "--set", "federated.rounds=2", "--set", "output.dir=" + two));
    assertEquals(0, t.code, t.err + t.out);
    assertArrayEquals(params(two), params(stopped));
    assertFalse(Arrays.equals(params(two), new float[params(two).length]));
  }
}
