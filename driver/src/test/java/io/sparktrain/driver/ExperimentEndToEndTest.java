package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparktrain experiment end to end on tiny data: 4 silos, a 2 x 2 grid (FedSGD, FedAvg x IID,
 * Dirichlet), 3 rounds; and sparktrain train with training.mode federated. One local[2] session on
 * 127.0.0.1 without the UI, shared by both (the commands use the active session).
 */
class ExperimentEndToEndTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-experiment-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static Path writeCsv(Path dir) throws IOException {
    return DriverTestData.threeClassCsv(dir, 600, 5);
  }

  @Test
  void trainWithModeFederatedBuildsSilosAndPrintsTheAudit(@TempDir Path dir) throws IOException {
    Path csv = writeCsv(dir);
    Path out = dir.resolve("fedtrain");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + csv,
        "--set", "data.format=csv", "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[f1, f2, f3, f4]", "--set", "data.test_fraction=0.25", "--set", "model.hidden=[8]",
        "--set", "training.mode=federated", "--set", "federated={rounds: 3, client_fraction: 1, eval_every_rounds: 1,"
            + " local_epochs: 2, local_optimizer: {learning_rate: 0.1}}",
        "--set", "silos={source: dirichlet, count: 3, alpha: 1}", "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    assertTrue(run.out.contains("rows moved during training: 0"), run.out);
    assertTrue(run.out.lines().anyMatch(l -> l.matches("test accuracy 0\\.\\d{4}")), run.out);
    String summary = Files.readString(out.resolve("summary.json"));
    assertTrue(summary.contains("\"locality_audit\":{\"rows_moved_during_training\":0"), summary);
    assertTrue(summary.contains("\"train_partitions\":3"), summary);
    assertTrue(Files.exists(out.resolve("model/metadata")) && Files.exists(out.resolve("report.html")));
  }

  /**
   * experiment.compression with the coarse methods: each setting's rounds record the bytes its silos
   * uploaded, exactly the payload formula (2 sampled silos a round, 67 parameters), and the report
   * plots accuracy against cumulative megabytes with one line per compression setting.
   */
  @Test
  void compressionSettingsReportTheirUploadBytesPerRound(@TempDir Path dir) throws IOException {
    Path csv = writeCsv(dir);
    Path out = dir.resolve("exp");
    MainTest.Run run = MainTest.run("experiment", "--config", "/dev/null", "--set", "data.train=" + csv,
        "--set", "data.format=csv", "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[f1, f2, f3, f4]", "--set", "data.test_fraction=0.25", "--set", "model.hidden=[8]",
        "--set", "federated={rounds: 3, client_fraction: 0.5, local_epochs: 2, local_batch: 16, eval_every_rounds: 1,"
            + " local_optimizer: {name: sgd, learning_rate: 0.1}}",
        "--set", "silos={count: 4}", "--set", "experiment.algorithms=[fedavg]",
        "--set", "experiment.compression=[none, int2, \"topk(0.1)_error_feedback\", sign_error_feedback]",
        "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    assertTrue(run.out.contains("setting 3/4: FedAvg E=2 B=16 C=0.5 topk(0.1)+EF seed 42 | iid"), run.out);
    Map<String, String> perRound = Map.of("float32", "536", "int2", "50", "topk(0.1)+EF", "112", "sign+EF", "26");
    List<String> rounds = Files.readAllLines(out.resolve("experiment.csv"));
    assertEquals(1 + 4 * 3, rounds.size(), String.join("\n", rounds));
    for (String line : rounds.subList(1, rounds.size())) {
      String[] f = line.split(",", -1);
      // float32 4 x 67; int2 ceil(134 / 8) + 8; top-k round(6.7) = 7 x 8; sign ceil(67 / 8) + 4; twice.
      assertEquals(perRound.get(f[17]), f[18], line);
    }
    List<String> summary = Files.readAllLines(out.resolve("summary.csv"));
    assertTrue(summary.get(3).endsWith(",topk(0.1)+EF,112"), summary.get(3));
    String html = Files.readString(out.resolve("experiment.html"));
    assertTrue(html.contains("id=\"megabytes-iid\""), html);
    assertTrue(html.contains("test accuracy vs megabytes uploaded, silos iid"), html);
    assertTrue(html.contains("<title>FedAvg E=2 B=16 C=0.5 int2</title>"), html);
  }

  @Test
  void gridOfFourSettingsWritesCsvsAndTheHtmlPage(@TempDir Path dir) throws IOException {
    long t0 = System.nanoTime();
    Path csv = writeCsv(dir);
    Path out = dir.resolve("exp");
    Path cfg = dir.resolve("fed.yaml");
    Files.writeString(cfg, String.join("\n",
        "name: tiny-fed",
        "data:",
        "  format: csv",
        "  train: " + csv,
        "  options: {header: \"true\", inferSchema: \"true\"}",
        "  features: [f1, f2, f3, f4]",
        "  test_fraction: 0.25",
        "model: {hidden: [8]}",
        "federated: {rounds: 3, client_fraction: 0.5, local_epochs: 2, local_batch: 16, eval_every_rounds: 1,",
        "  local_optimizer: {name: sgd, learning_rate: 0.1}}",
        "silos: {count: 4}",
        "experiment:",
        "  algorithms: [fedsgd, fedavg]",
        "  silos: [iid, \"dirichlet(0.5)\"]",
        "  target_accuracy: [0.5, 0.99]",
        "  stragglers: [0.5]                        # 1 of the 2 sampled silos straggles and is dropped",
        "output: {dir: " + out + "}",
        "spark: {master: \"local[2]\", conf: {spark.ui.enabled: \"false\", spark.sql.shuffle.partitions: \"2\"}}",
        ""));
    MainTest.Run run = MainTest.run("experiment", "--config", cfg.toString());
    System.err.printf("[ExperimentEndToEndTest] experiment took %.1f s%n", (System.nanoTime() - t0) / 1e9);
    assertEquals(0, run.code, run.err + run.out);

    // every federated run prints its locality audit
    Matcher m = Pattern.compile("rows moved during training: 0").matcher(run.out);
    int audits = 0;
    while (m.find()) audits++;
    assertEquals(4, audits, run.out);
    assertTrue(run.out.contains("setting 4/4: "), run.out);

    List<String> rounds = Files.readAllLines(out.resolve("experiment.csv"));
    assertEquals("setting,silos,algorithm,client_fraction,local_epochs,local_batch,prox_mu,seed,round,train_loss,"
        + "test_loss,test_accuracy,seconds,stragglers,straggler_policy,straggling_silos,dropped_silos,compression,"
        + "upload_bytes", rounds.get(0));
    assertEquals(1 + 4 * 3, rounds.size(), String.join("\n", rounds));
    for (String line : rounds.subList(1, rounds.size())) {
      String[] f = line.split(",", -1);
      assertEquals(19, f.length, line);
      assertEquals("float32", f[17], line);
      assertEquals(Long.toString(4L * 67), f[18], line); // one float32 upload a round (the other silo dropped)
      double acc = Double.parseDouble(f[11]); // evaluated every round
      assertTrue(acc >= 0 && acc <= 1, line);
      assertEquals("0.5,drop,1,1", String.join(",", List.of(f).subList(13, 17)), line); // fedsgd, fedavg: drop
    }
    assertTrue(rounds.get(1).startsWith("1,iid,FedSGD,0.5,1,0,0,42,1,"), rounds.get(1));
    assertTrue(rounds.get(4).startsWith("2,iid,FedAvg,0.5,2,16,0,42,1,"), rounds.get(4));

    List<String> summary = Files.readAllLines(out.resolve("summary.csv"));
    assertEquals("setting,silos,algorithm,preset,client_fraction,local_epochs,local_batch,prox_mu,server,seed,rounds,"
        + "final_accuracy,rounds_to_0.5,rounds_to_0.99,train_seconds,rows_moved,bytes_per_round,"
        + "largest_upload_bytes,epsilon,stragglers,straggler_policy,final_train_loss,compression,"
        + "upload_bytes_per_round", summary.get(0));
    assertEquals(5, summary.size(), String.join("\n", summary));
    for (String line : summary.subList(1, summary.size())) {
      String[] f = line.split(",", -1);
      assertEquals(24, f.length, line);
      assertEquals("3", f[10], line);
      assertEquals("0", f[15], line); // rows moved
      assertTrue(Long.parseLong(f[16]) > 0, line); // bytes per round
      assertEquals("", f[18], line); // no DP
      double trainLoss = Double.parseDouble(f[21]); // the final model on all training rows
      assertTrue(trainLoss > 0 && trainLoss < 2, line);
    }

    String html = Files.readString(out.resolve("experiment.html"));
    assertTrue(html.startsWith("<!DOCTYPE html>"));
    assertEquals(4, html.split("<svg", -1).length - 1, "two charts per silo setting (rounds, megabytes)");
    assertTrue(html.contains("id=\"megabytes-iid\""), html);
    assertTrue(html.contains("id=\"curve-iid\"") && html.contains("id=\"curve-dirichlet-0-5-\""));
    assertTrue(html.contains("<table class=\"num rounds\" id=\"target-0.5\">"), html);
    assertTrue(html.contains("<th>iid<br>IID</th><th>dirichlet(0.5)<br>non-IID</th>"), html);
    assertTrue(html.contains("<tr><th>FedSGD E=1 B=\u221e C=0.5 stragglers=0.5 (drop)</th>"), html);
    assertTrue(html.contains("<tr><th>FedAvg E=2 B=16 C=0.5 stragglers=0.5 (drop)</th>"), html);
    assertTrue(!html.contains("<script"), "self-contained, no scripts");
  }
}
