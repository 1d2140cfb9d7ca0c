package io.sparktrain.driver.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** experiment.csv, summary.csv, silos.csv and experiment.html from made-up runs (no Spark). */
class ExperimentReportTest {

  /** A run of {@code rounds} rounds, evaluated every other one, with {@code silos} silos' final accuracies. */
  static ExperimentReport.Run run(int id, String algorithm, double stragglers, int rounds, int silos, long seed) {
    ExperimentReport.Run r = new ExperimentReport.Run();
    r.id = id;
    r.silos = "synthetic(1,1)";
    r.algorithm = algorithm;
    r.algorithmPreset = algorithm.toLowerCase();
    r.row = algorithm + " E=20 B=10 C=0.34" + (stragglers > 0 ? " stragglers=" + stragglers + " (drop)" : "");
    r.clientFraction = 0.34;
    r.localEpochs = 20;
    r.localBatch = 10;
    r.server = "fedavg(lr=1.0)";
    r.seed = 1;
    r.stragglers = stragglers;
    r.stragglerPolicy = stragglers > 0 ? "drop" : "";
    r.audit = Map.of("rows_moved_during_training", 0L, "bytes_per_round", 1000L, "largest_upload_bytes", 100L);
    r.epsilon = Double.NaN;
    r.rounds = new ArrayList<>();
    for (int k = 1; k <= rounds; k++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("round", (long) k);
      m.put("loss", 1.0 / k);
      if (k % 2 == 0 || k == rounds) {
        m.put("val_loss", 2.0 / k);
        m.put("val_accuracy", 0.5 + 0.01 * k);
        m.put("global_train_loss", 3.0 / k);
        m.put("global_train_accuracy", 0.4 + 0.01 * k);
        m.put("val_accuracy_silo_min", 0.1);
        m.put("val_accuracy_silo_median", 0.5);
        m.put("val_accuracy_silo_max", 0.9);
      }
      m.put("train_s", 0.5 * k);
      r.rounds.add(m);
    }
    r.finalAccuracy = 0.5 + 0.01 * rounds;
    r.finalTrainLoss = 3.0 / rounds;
    Random rnd = new Random(seed);
    r.siloResults = new ArrayList<>();
    for (int s = 0; s < silos; s++) {
      long test = s == 0 ? 0 : 5 + rnd.nextInt(20);
      r.siloResults.add(new ExperimentReport.SiloResult(s, 4 * test + 1, test, test == 0 ? Double.NaN : 1.0,
          test == 0 ? Double.NaN : rnd.nextInt((int) test + 1) / (double) test));
    }
    return r;
  }

  @Test
  void csvsCarryTheTrainingLossCurveAndThePerSiloAccuracies() {
    List<ExperimentReport.Run> runs = List.of(run(1, "FedAvg", 0.5, 5, 7, 1), run(2, "FedProx", 0.5, 5, 7, 2));
    String[] rounds = ExperimentReport.roundsCsv(runs).split("\n");
    String[] header = rounds[0].split(",");
    assertEquals(24, header.length); // then compression, upload_bytes
    assertEquals(List.of("global_train_loss", "global_train_accuracy", "test_accuracy_silo_min",
        "test_accuracy_silo_median", "test_accuracy_silo_max"), List.of(header).subList(17, 22));
    assertEquals(1 + 2 * 5, rounds.length);
    String[] r1 = fields(rounds[1]); // round 1: no evaluation
    String[] r2 = fields(rounds[2]);
    assertEquals(24, r1.length);
    assertEquals(List.of("", "", "", "", ""), List.of(r1).subList(17, 22));
    assertEquals(List.of("1.5", Double.toString(0.4 + 0.01 * 2), "0.1", "0.5", "0.9"), List.of(r2).subList(17, 22));

    String[] silos = ExperimentReport.silosCsv(runs).split("\n");
    assertEquals("setting,silos,algorithm,seed,stragglers,straggler_policy,silo,train_rows,test_rows,test_loss,"
        + "test_accuracy", silos[0]);
    assertEquals(1 + 2 * 7, silos.length);
    assertEquals("1,\"synthetic(1,1)\",FedAvg,1,0.5,drop,0,1,0,,", silos[1]); // a silo without held-out rows
    // summary: min, upper median and max of the silos with held-out rows
    String[] summary = ExperimentReport.summaryCsv(runs, List.of()).split("\n");
    assertTrue(summary[0].endsWith(",final_train_loss,test_accuracy_silo_min,test_accuracy_silo_median,"
        + "test_accuracy_silo_max,compression,upload_bytes_per_round"), summary[0]);
    for (int i = 0; i < 2; i++) {
      double[] a = runs.get(i).siloResults.stream().skip(1).mapToDouble(x -> x.testAccuracy).sorted().toArray();
      String[] f = fields(summary[1 + i]);
      assertEquals(a[0], Double.parseDouble(f[f.length - 5]));
      assertEquals(a[3], Double.parseDouble(f[f.length - 4])); // 6 silos: the upper median
      assertEquals(a[5], Double.parseDouble(f[f.length - 3]));
    }
  }

  @Test
  void htmlDrawsOneTrainingLossPanelPerStragglerFractionAndBoxPlotsPerSilo() {
    List<ExperimentReport.Run> runs = new ArrayList<>();
    int id = 1;
    for (double p : new double[] {0, 0.5, 0.9}) {
      runs.add(run(id++, "FedAvg", p, 6, 30, id));
      runs.add(run(id++, "FedProx", p, 6, 30, id));
    }
    String html = ExperimentReport.html("fig1", runs, List.of(0.6), Map.of());
    assertTrue(html.contains("<section id=\"training-loss\">"), html);
    for (String p : new String[] {"0", "50", "90"}) {
      assertTrue(html.contains("id=\"loss-synthetic-1-1-" + p + "-stragglers\""), p + ": " + html);
    }
    // The FedAvg series of the 90 % panel: the 4 evaluated rounds (2, 4, 6 and the last) as points.
    int panel = html.indexOf("id=\"loss-synthetic-1-1-90-stragglers\"");
    String chart = html.substring(panel, html.indexOf("</figure>", panel));
    assertEquals(2 * 3, count(chart, "<circle cx=") - 2, "3 evaluated rounds per series, 2 legend markers");
    // One box plot for the silo setting, a row per setting, a dot per silo with held-out rows (29 of 30).
    int box = html.indexOf("id=\"silos\"");
    assertTrue(box > 0, html);
    String plot = html.substring(box, html.indexOf("</figure>", box));
    assertEquals(6, count(plot, "<g class=\"box\">"));
    assertEquals(6 * 29, count(plot, "class=\"point\""));
    assertTrue(plot.contains("n 29, median "), plot);
    assertFalse(html.contains("<script"));
  }

  @Test
  void tenThousandSilosDrawBoxesWithoutADotPerSilo() {
    ExperimentReport.Run big = run(1, "FedAvg", 0, 4, 10_000, 3);
    String html = ExperimentReport.html("big", List.of(big), List.of(), Map.of());
    int box = html.indexOf("id=\"silos\"");
    String plot = html.substring(box, html.indexOf("</figure>", box));
    assertEquals(0, count(plot, "class=\"point\""));
    assertTrue(plot.contains("n 9999, median "), plot);
    assertTrue(html.length() < 100_000, "the page does not grow with the silos: " + html.length());
  }

  @Test
  void quantilesInterpolateBetweenOrderStatistics() {
    double[] v = {1, 2, 3, 4};
    assertEquals(1.0, Svg.quantile(v, 0));
    assertEquals(1.75, Svg.quantile(v, 0.25), 1e-12);
    assertEquals(2.5, Svg.quantile(v, 0.5), 1e-12);
    assertEquals(4.0, Svg.quantile(v, 1));
    assertEquals(7.0, Svg.quantile(new double[] {7}, 0.75));
    assertTrue(Double.isNaN(Svg.quantile(new double[0], 0.5)));
  }

  /** The fields of a CSV line (commas inside double quotes do not split). */
  static String[] fields(String line) {
    return line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", -1);
  }

  private static int count(String s, String what) {
    Matcher m = Pattern.compile(Pattern.quote(what)).matcher(s);
    int n = 0;
    while (m.find()) n++;
    return n;
  }
}
