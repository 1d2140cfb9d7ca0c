package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
      assertEquals(perRound.get(f[22]), f[23], line);
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
        "  local_optimizer: {name: sgd, learning_rate: 0.1}, eval_train_loss: true}",
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
        + "test_loss,test_accuracy,seconds,stragglers,straggler_policy,straggling_silos,dropped_silos,"
        + "global_train_loss,global_train_accuracy,test_accuracy_silo_min,test_accuracy_silo_median,"
        + "test_accuracy_silo_max,compression,upload_bytes", rounds.get(0));
    assertEquals(1 + 4 * 3, rounds.size(), String.join("\n", rounds));
    Map<String, String> lastTrainLoss = new HashMap<>();
    for (String line : rounds.subList(1, rounds.size())) {
      String[] f = line.split(",", -1);
      assertEquals(24, f.length, line);
      assertEquals("float32", f[22], line);
      assertEquals(Long.toString(4L * 67), f[23], line); // one float32 upload a round (the other silo dropped)
      double acc = Double.parseDouble(f[11]); // evaluated every round
      assertTrue(acc >= 0 && acc <= 1, line);
      assertEquals("0.5,drop,1,1", String.join(",", List.of(f).subList(13, 17)), line); // fedsgd, fedavg: drop
      double globalLoss = Double.parseDouble(f[17]); // the global model on all training rows, every evaluation
      double globalAcc = Double.parseDouble(f[18]);
      assertTrue(globalLoss > 0 && globalLoss < 2 && globalAcc >= 0 && globalAcc <= 1, line);
      assertEquals("", f[19] + f[20] + f[21], line); // a shared test set: no per-silo accuracies
      lastTrainLoss.put(f[0], f[17]);
    }
    assertTrue(rounds.get(1).startsWith("1,iid,FedSGD,0.5,1,0,0,42,1,"), rounds.get(1));
    assertTrue(rounds.get(4).startsWith("2,iid,FedAvg,0.5,2,16,0,42,1,"), rounds.get(4));

    List<String> summary = Files.readAllLines(out.resolve("summary.csv"));
    assertEquals("setting,silos,algorithm,preset,client_fraction,local_epochs,local_batch,prox_mu,server,seed,rounds,"
        + "final_accuracy,rounds_to_0.5,rounds_to_0.99,train_seconds,rows_moved,bytes_per_round,"
        + "largest_upload_bytes,epsilon,stragglers,straggler_policy,final_train_loss,test_accuracy_silo_min,"
        + "test_accuracy_silo_median,test_accuracy_silo_max,compression,upload_bytes_per_round", summary.get(0));
    assertEquals(5, summary.size(), String.join("\n", summary));
    for (String line : summary.subList(1, summary.size())) {
      String[] f = line.split(",", -1);
      assertEquals(27, f.length, line);
      assertEquals(lastTrainLoss.get(f[0]), f[21], line); // the curve's last point is the final training loss
      assertEquals("3", f[10], line);
      assertEquals("0", f[15], line); // rows moved
      assertTrue(Long.parseLong(f[16]) > 0, line); // bytes per round
      assertEquals("", f[18], line); // no DP
      double trainLoss = Double.parseDouble(f[21]); // the final model on all training rows
      assertTrue(trainLoss > 0 && trainLoss < 2, line);
    }

    String html = Files.readString(out.resolve("experiment.html"));
    assertTrue(html.startsWith("<!DOCTYPE html>"));
    assertEquals(6, html.split("<svg", -1).length - 1,
        "an accuracy, a training-loss and a megabytes chart per silo setting");
    assertTrue(html.contains("id=\"loss-iid\"") && html.contains("id=\"loss-dirichlet-0-5-\""), html);
    assertTrue(html.contains("id=\"megabytes-iid\""), html);
    assertFalse(Files.exists(out.resolve("silos.csv")), "a shared test set: no per-silo results");
    assertTrue(html.contains("id=\"curve-iid\"") && html.contains("id=\"curve-dirichlet-0-5-\""));
    assertTrue(html.contains("<table class=\"num rounds\" id=\"target-0.5\">"), html);
    assertTrue(html.contains("<th>iid<br>IID</th><th>dirichlet(0.5)<br>non-IID</th>"), html);
    assertTrue(html.contains("<tr><th>FedSGD E=1 B=\u221e C=0.5 stragglers=0.5 (drop)</th>"), html);
    assertTrue(html.contains("<tr><th>FedAvg E=2 B=16 C=0.5 stragglers=0.5 (drop)</th>"), html);
    assertTrue(!html.contains("<script"), "self-contained, no scripts");
  }

  @Test
  void silosTestFractionEvaluatesEachSiloOnItsOwnHeldOutRows(@TempDir Path dir) throws IOException {
    Path csv = writeCsv(dir);
    Path out = dir.resolve("exp");
    Path cfg = dir.resolve("fed.yaml");
    Files.writeString(cfg, String.join("\n",
        "name: tiny-fed-silos",
        "data: {format: csv, train: " + csv + ", options: {header: \"true\", inferSchema: \"true\"},"
            + " features: [f1, f2, f3, f4]}",
        "model: {hidden: [8]}",
        "federated: {rounds: 2, client_fraction: 0.5, local_epochs: 2, local_batch: 16, eval_every_rounds: 1,",
        "  local_optimizer: {name: sgd, learning_rate: 0.1}}",
        "silos: {count: 5, test_fraction: 0.3}",
        "experiment: {algorithms: [fedavg], silos: [\"dirichlet(0.5)\"]}",
        "output: {dir: " + out + "}",
        "spark: {master: \"local[2]\", conf: {spark.ui.enabled: \"false\", spark.sql.shuffle.partitions: \"2\"}}",
        ""));
    MainTest.Run run = MainTest.run("experiment", "--config", cfg.toString());
    assertEquals(0, run.code, run.err + run.out);
    Matcher m = Pattern.compile("silos dirichlet\\(0\\.5\\): 5 silos, (\\d+) training rows, (\\d+) test rows"
        + " \\(each silo's own\\)").matcher(run.out);
    assertTrue(m.find(), run.out);
    List<String> silos = Files.readAllLines(out.resolve("silos.csv"));
    assertEquals("setting,silos,algorithm,seed,stragglers,straggler_policy,silo,train_rows,test_rows,test_loss,"
        + "test_accuracy", silos.get(0));
    assertEquals(1 + 5, silos.size(), String.join("\n", silos));
    long trainRows = 0;
    long testRows = 0;
    double correct = 0;
    List<Double> accuracies = new ArrayList<>();
    for (int k = 0; k < 5; k++) {
      String[] f = silos.get(1 + k).split(",", -1);
      assertEquals(Integer.toString(k), f[6], silos.get(1 + k));
      trainRows += Long.parseLong(f[7]);
      long n = Long.parseLong(f[8]);
      testRows += n;
      if (n > 0) {
        double a = Double.parseDouble(f[10]);
        accuracies.add(a);
        correct += a * n;
      }
    }
    assertEquals(Long.parseLong(m.group(1)), trainRows);
    assertEquals(Long.parseLong(m.group(2)), testRows);
    assertEquals(600, trainRows + testRows, "every row is a silo's training or held-out row");
    accuracies.sort(null);
    // The last round's overall test accuracy is over the union of the silos' held-out rows; its spread
    // (min, upper median, max) is the silos' accuracies'.
    List<String> rounds = Files.readAllLines(out.resolve("experiment.csv"));
    String[] last = rounds.get(rounds.size() - 1).split(",", -1);
    assertEquals("2", last[8]);
    assertEquals(correct / testRows, Double.parseDouble(last[11]), 1e-9);
    assertEquals(accuracies.get(0), Double.parseDouble(last[19]), 1e-12);
    assertEquals(accuracies.get(accuracies.size() / 2), Double.parseDouble(last[20]), 1e-12);
    assertEquals(accuracies.get(accuracies.size() - 1), Double.parseDouble(last[21]), 1e-12);
    assertEquals("", last[17], "eval_train_loss off: no training-loss curve");
    String[] summary = Files.readAllLines(out.resolve("summary.csv")).get(1).split(",", -1);
    assertEquals(List.of(last[19], last[20], last[21]), List.of(summary).subList(summary.length - 5,
        summary.length - 2)); // then compression, upload_bytes_per_round
    String html = Files.readString(out.resolve("experiment.html"));
    assertTrue(html.contains("id=\"silos\""), html);
    assertFalse(html.contains("id=\"training-loss\""), html);
  }
}
