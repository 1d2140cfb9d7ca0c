import io.sparktrain.driver.report.ExperimentReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Combines the experiment.csv files of several {@code sparktrain experiment} runs (one silo setting,
 * several compression settings and seeds) into the accuracy-vs-megabytes figure of docs/FEDERATED.md
 * (the experiment report's chart, one line per compression setting, accuracy averaged over the seeds)
 * and prints the table: bytes per round, ratio to float32, final accuracy and rounds to a target.
 *
 * <pre>
 * java -cp "$(source scripts/env.sh && module_classpath driver)" scripts/CompressionFigure.java \
 *     OUT.svg TARGET RUN_DIR...
 * </pre>
 */
public final class CompressionFigure {
  public static void main(String[] args) throws IOException {
    Path svgOut = Path.of(args[0]);
    double target = Double.parseDouble(args[1]);
    // compression -> seed -> round -> {accuracy, upload bytes}
    Map<String, Map<Long, TreeMap<Long, double[]>>> data = new LinkedHashMap<>();
    String silos = null;
    for (int a = 2; a < args.length; a++) {
      List<String> lines = Files.readAllLines(Path.of(args[a], "experiment.csv"));
      List<String> head = List.of(lines.get(0).split(","));
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.split(",", -1);
        silos = f[head.indexOf("silos")];
        String z = f[head.indexOf("compression")];
        long seed = Long.parseLong(f[head.indexOf("seed")]);
        long round = Long.parseLong(f[head.indexOf("round")]);
        String acc = f[head.indexOf("test_accuracy")];
        data.computeIfAbsent(z, k -> new TreeMap<>()).computeIfAbsent(seed, k -> new TreeMap<>())
            .put(round, new double[] {acc.isEmpty() ? Double.NaN : Double.parseDouble(acc),
                Double.parseDouble(f[head.indexOf("upload_bytes")])});
      }
    }
    double float32 = Double.NaN;
    List<ExperimentReport.Run> runs = new ArrayList<>();
    StringBuilder table = new StringBuilder("| uploads | bytes per round | vs float32 | final accuracy (seeds) | mean"
        + " | rounds to " + target + " (seeds) | MB uploaded to " + target + " (seeds) | mean accuracy, last 10"
        + " evaluations |\n|---|---:|---:|---|---:|---|---|---:|\n");
    for (Map.Entry<String, Map<Long, TreeMap<Long, double[]>>> e : data.entrySet()) {
      Map<Long, TreeMap<Long, double[]>> seeds = e.getValue();
      TreeMap<Long, double[]> mean = new TreeMap<>();
      List<String> finals = new ArrayList<>();
      List<String> reach = new ArrayList<>();
      List<String> reachMb = new ArrayList<>();
      double finalSum = 0;
      double lateSum = 0;
      double bytes = 0;
      long rounds = 0;
      for (TreeMap<Long, double[]> s : seeds.values()) {
        double last = Double.NaN;
        long first = -1;
        double sent = 0;
        double sentToTarget = Double.NaN;
        List<Double> evals = new ArrayList<>();
        for (Map.Entry<Long, double[]> r : s.entrySet()) {
          double[] v = r.getValue();
          mean.computeIfAbsent(r.getKey(), k -> new double[2]);
          mean.get(r.getKey())[0] += v[0] / seeds.size();
          mean.get(r.getKey())[1] += v[1] / seeds.size();
          bytes += v[1];
          sent += v[1];
          rounds++;
          if (!Double.isNaN(v[0])) {
            last = v[0];
            evals.add(v[0]);
            if (first < 0 && v[0] >= target) {
              first = r.getKey();
              sentToTarget = sent;
            }
          }
        }
        finals.add(String.format(Locale.ROOT, "%.4f", last));
        reach.add(first < 0 ? "-" : Long.toString(first));
        reachMb.add(first < 0 ? "-" : String.format(Locale.ROOT, "%.1f", sentToTarget / 1e6));
        finalSum += last / seeds.size();
        double late = 0;
        for (double x : evals.subList(Math.max(0, evals.size() - 10), evals.size())) late += x;
        lateSum += late / Math.min(10, evals.size()) / seeds.size();
      }
      double perRound = bytes / rounds;
      if (e.getKey().equals("float32")) {
        float32 = perRound;
      }
      table.append(String.format(Locale.ROOT, "| %s | %,.0f | %s | %s | %.4f | %s | %s | %.4f |%n", e.getKey(),
          perRound, Double.isNaN(float32) ? "" : String.format(Locale.ROOT, "1/%.1f", float32 / perRound),
          String.join(" / ", finals), finalSum, String.join(" / ", reach), String.join(" / ", reachMb), lateSum));
      ExperimentReport.Run run = new ExperimentReport.Run();
      run.silos = silos;
      run.row = e.getKey();
      run.rounds = new ArrayList<>();
      for (Map.Entry<Long, double[]> r : mean.entrySet()) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("round", r.getKey());
        if (!Double.isNaN(r.getValue()[0])) {
          rec.put("val_accuracy", r.getValue()[0]);
        }
        rec.put("upload_bytes", r.getValue()[1]);
        run.rounds.add(rec);
      }
      runs.add(run);
    }
    String svg = ExperimentReport.megabytesChart(silos, runs, false);
    String style = "<style>text{font-family:sans-serif;font-size:12px;fill:#333}.axis line{stroke:#6b747c;"
        + "stroke-width:1}.axis line.grid{stroke:#e6e9ec}.axis line.frame{stroke:#3b434a;stroke-width:1.2}"
        + "text.label{fill:#4a545d;font-weight:600}</style><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
    int at = svg.indexOf("</title>") + "</title>".length();
    Files.writeString(svgOut, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg.substring(0, at) + style
        + svg.substring(at) + "\n");
    System.out.print(table);
  }
}
