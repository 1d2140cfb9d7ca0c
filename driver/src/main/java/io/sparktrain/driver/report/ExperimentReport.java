package io.sparktrain.driver.report;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The outputs of {@code sparktrain experiment}: experiment.csv (one row per setting and round),
 * summary.csv (one row per setting), silos.csv (one row per setting and silo, when the silos hold out
 * their own test rows) and experiment.html (accuracy-vs-round curves drawn with {@link Svg#lineChart};
 * the global model's training loss vs round, as Li et al. 2020 plot it, one panel per silo setting and
 * straggler fraction; the per-silo test accuracy of the final model as box plots; and rounds-to-target
 * tables in the manner of McMahan et al. 2017, Tables 1-2: rows = algorithm settings, columns = silo
 * settings, cells = rounds to the target and the speed-up over FedSGD).
 */
public final class ExperimentReport {
  private ExperimentReport() {
  }

  /** The final model on one silo's own held-out rows. */
  public static final class SiloResult {
    public final int silo;
    public final long trainRows;
    public final long testRows;
    public final double testLoss;
    public final double testAccuracy;

    public SiloResult(int silo, long trainRows, long testRows, double testLoss, double testAccuracy) {
      this.silo = silo;
      this.trainRows = trainRows;
      this.testRows = testRows;
      this.testLoss = testLoss;
      this.testAccuracy = testAccuracy;
    }
  }

  /** One finished setting. */
  public static final class Run {
    public int id;
    public String silos;
    /** The setting without its silos (a table row). */
    public String row;
    public String algorithm;
    public String algorithmPreset;
    public double clientFraction;
    public int localEpochs;
    public int localBatch;
    public float proxMu;
    public String server;
    public long seed;
    /** Round records of the run (round, loss, val_loss, val_accuracy, train_s, ...). */
    public List<Map<String, Object>> rounds;
    public Map<String, Object> audit;
    public double epsilon;
    public double trainSeconds;
    public double finalAccuracy;
    /** The final model's loss on all training rows (NaN when not computed). */
    public double finalTrainLoss = Double.NaN;
    /** The straggler fraction of the setting (0 = none) and its policy (drop, partial; empty without stragglers). */
    public double stragglers;
    public String stragglerPolicy = "";
    /** The final model per silo, in silo order, when the test rows are the silos' own; else null. */
    public List<SiloResult> siloResults;

    /** The silos' test accuracies (silos without held-out rows left out), sorted; empty without silo results. */
    public double[] siloAccuracies() {
      if (siloResults == null) {
        return new double[0];
      }
      return siloResults.stream().mapToDouble(x -> x.testAccuracy).filter(a -> !Double.isNaN(a)).sorted().toArray();
    }

    /** The setting's uploads: float32, int8, int4+EF, topk(0.01)+EF, ... */
    public String compression = "float32";

    /** The round of each round record. */
    public double[] roundNumbers() {
      double[] out = new double[rounds.size()];
      for (int i = 0; i < out.length; i++) out[i] = ((Number) rounds.get(i).get("round")).doubleValue();
      return out;
    }

    /**
     * Megabytes (10^6 bytes) the silos uploaded in rounds 1..r, per round record (the rounds'
     * {@code upload_bytes}); NaN from the first record without it.
     */
    public double[] cumulativeMegabytes() {
      double[] out = new double[rounds.size()];
      double sum = 0;
      for (int i = 0; i < out.length; i++) {
        Object b = rounds.get(i).get("upload_bytes");
        sum += b instanceof Number ? ((Number) b).doubleValue() : Double.NaN;
        out[i] = sum / 1e6;
      }
      return out;
    }

    /** Mean bytes uploaded per round (NaN when the rounds do not record it). */
    public double uploadBytesPerRound() {
      double[] mb = cumulativeMegabytes();
      return mb.length == 0 ? Double.NaN : mb[mb.length - 1] * 1e6 / mb.length;
    }

    /** The first round whose test accuracy reached {@code target}, or -1. */
    public long roundsTo(double target) {
      for (Map<String, Object> r : rounds) {
        Object a = r.get("val_accuracy");
        if (a instanceof Number && ((Number) a).doubleValue() >= target) {
          return ((Number) r.get("round")).longValue();
        }
      }
      return -1;
    }
  }

  private static final String CSS = "table.rounds caption{text-align:left;font-weight:700;padding:10px 0 4px}"
      + "table.settings td.n{text-align:right}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px}";

  static final String ROUNDS_HEADER = "setting,silos,algorithm,client_fraction,local_epochs,local_batch,prox_mu,"
      + "seed,round,train_loss,test_loss,test_accuracy,seconds,stragglers,straggler_policy,straggling_silos,"
      + "dropped_silos,global_train_loss,global_train_accuracy,test_accuracy_silo_min,test_accuracy_silo_median,"
      + "test_accuracy_silo_max,compression,upload_bytes";

  /**
   * experiment.csv: one row per (setting, round); test columns empty in rounds without evaluation.
   * train_loss is the round's mean local training loss of the silos that worked; global_train_loss and
   * global_train_accuracy are the global model after the round on all silos' training rows (evaluation
   * rounds with federated.eval_train_loss); the test_accuracy_silo columns, the spread over the silos'
   * own held-out rows (min, upper median, max).
   */
  public static String roundsCsv(List<Run> runs) {
    StringBuilder sb = new StringBuilder(ROUNDS_HEADER).append('\n');
    for (Run r : runs) {
      for (Map<String, Object> rec : r.rounds) {
        sb.append(r.id).append(',').append(csv(r.silos)).append(',').append(csv(r.algorithm)).append(',')
            .append(num(r.clientFraction)).append(',').append(r.localEpochs).append(',').append(r.localBatch)
            .append(',').append(num(r.proxMu)).append(',').append(r.seed).append(',').append(rec.get("round"))
            .append(',').append(num(rec.get("loss"))).append(',').append(num(rec.get("val_loss"))).append(',')
            .append(num(rec.get("val_accuracy"))).append(',').append(num(rec.get("train_s"))).append(',')
            .append(num(r.stragglers)).append(',').append(csv(r.stragglerPolicy)).append(',')
            .append(num(rec.get("stragglers"))).append(',').append(num(rec.get("dropped"))).append(',')
            .append(num(rec.get("global_train_loss"))).append(',').append(num(rec.get("global_train_accuracy")))
            .append(',').append(num(rec.get("val_accuracy_silo_min"))).append(',')
            .append(num(rec.get("val_accuracy_silo_median"))).append(',').append(num(rec.get("val_accuracy_silo_max")))
            .append(',').append(csv(r.compression)).append(',').append(num(rec.get("upload_bytes"))).append('\n');
      }
    }
    return sb.toString();
  }

  /** summary.csv: one row per setting. */
  public static String summaryCsv(List<Run> runs, List<Double> targets) {
    StringBuilder sb = new StringBuilder("setting,silos,algorithm,preset,client_fraction,local_epochs,local_batch,"
        + "prox_mu,server,seed,rounds,final_accuracy");
    for (double t : targets) sb.append(",rounds_to_").append(num(t));
    sb.append(",train_seconds,rows_moved,bytes_per_round,largest_upload_bytes,epsilon,stragglers,straggler_policy,"
        + "final_train_loss,test_accuracy_silo_min,test_accuracy_silo_median,test_accuracy_silo_max,compression,"
        + "upload_bytes_per_round\n");
    for (Run r : runs) {
      sb.append(r.id).append(',').append(csv(r.silos)).append(',').append(csv(r.algorithm)).append(',')
          .append(csv(r.algorithmPreset)).append(',').append(num(r.clientFraction)).append(',').append(r.localEpochs)
          .append(',').append(r.localBatch).append(',').append(num(r.proxMu)).append(',').append(csv(r.server))
          .append(',').append(r.seed).append(',').append(r.rounds.size()).append(',').append(num(r.finalAccuracy));
      for (double t : targets) {
        long n = r.roundsTo(t);
        sb.append(',').append(n < 0 ? "" : Long.toString(n));
      }
      sb.append(',').append(num(r.trainSeconds)).append(',').append(r.audit.get("rows_moved_during_training"))
          .append(',').append(r.audit.get("bytes_per_round")).append(',').append(r.audit.get("largest_upload_bytes"))
          .append(',').append(num(r.epsilon)).append(',').append(num(r.stragglers)).append(',')
          .append(csv(r.stragglerPolicy)).append(',').append(num(r.finalTrainLoss));
      double[] a = r.siloAccuracies();
      sb.append(',').append(a.length == 0 ? "" : num(a[0])).append(',')
          .append(a.length == 0 ? "" : num(a[a.length / 2])).append(',')
          .append(a.length == 0 ? "" : num(a[a.length - 1])).append(',')
          .append(csv(r.compression)).append(',').append(num(Math.round(r.uploadBytesPerRound()))).append('\n');
    }
    return sb.toString();
  }

  static final String SILOS_HEADER = "setting,silos,algorithm,seed,stragglers,straggler_policy,silo,train_rows,"
      + "test_rows,test_loss,test_accuracy";

  /** silos.csv: the final model on each silo's own held-out rows, one row per (setting, silo). */
  public static String silosCsv(List<Run> runs) {
    StringBuilder sb = new StringBuilder(SILOS_HEADER).append('\n');
    for (Run r : runs) {
      if (r.siloResults == null) {
        continue;
      }
      for (SiloResult x : r.siloResults) {
        sb.append(r.id).append(',').append(csv(r.silos)).append(',').append(csv(r.algorithm)).append(',')
            .append(r.seed).append(',').append(num(r.stragglers)).append(',').append(csv(r.stragglerPolicy))
            .append(',').append(x.silo).append(',').append(x.trainRows).append(',').append(x.testRows).append(',')
            .append(num(x.testLoss)).append(',').append(num(x.testAccuracy)).append('\n');
      }
    }
    return sb.toString();
  }

  /** experiment.html: self-contained (inline CSS and SVG, no scripts). */
  public static String html(String name, List<Run> runs, List<Double> targets, Map<String, Object> config) {
    List<String> columns = new ArrayList<>();
    Set<Long> seeds = new LinkedHashSet<>();
    for (Run r : runs) {
      if (!columns.contains(r.silos)) {
        columns.add(r.silos);
      }
      seeds.add(r.seed);
    }
    boolean seedInRow = seeds.size() > 1;
    List<String> rows = new ArrayList<>();
    for (Run r : runs) {
      String k = rowKey(r, seedInRow);
      if (!rows.contains(k)) {
        rows.add(k);
      }
    }
    StringBuilder sb = new StringBuilder(64 * 1024);
    sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>").append(esc(name)).append(" \u2014 sparktrain experiment</title>\n")
        .append("<style>").append(HtmlReport.CSS).append('\n').append(CSS)
        .append("</style>\n</head>\n<body>\n<main>\n");
    sb.append("<header><span class=\"pill\">federated experiment</span><h1>").append(esc(name)).append("</h1>")
        .append("<p class=\"subtitle\">").append(runs.size()).append(" settings: ").append(rows.size())
        .append(" algorithm settings \u00d7 ").append(columns.size()).append(" silo settings (")
        .append(esc(String.join(", ", columns))).append(")</p></header>\n");

    sb.append("<section id=\"curves\"><h2>Test accuracy vs communication round</h2>\n<div class=\"charts\">\n");
    for (String col : columns) {
      List<Svg.Series> series = series(runs, r -> r.silos.equals(col), "val_accuracy", Run::roundNumbers, seedInRow);
      String svg = Svg.lineChart("test accuracy vs round, silos " + col, "round", "test accuracy", series, 560, 320,
          true);
      sb.append("<figure class=\"chart-box\" id=\"curve-").append(esc(slug(col))).append("\"><figcaption>silos ")
          .append(esc(col)).append(" (").append(isIid(col) ? "IID" : "non-IID").append(")</figcaption>")
          .append(svg).append("</figure>\n");
    }
    sb.append("</div></section>\n");
    trainingLossSection(sb, runs, seedInRow);
    siloSection(sb, runs, columns, seedInRow);

    sb.append("<section id=\"megabytes\"><h2>Test accuracy vs megabytes uploaded</h2>\n")
        .append("<p class=\"note\">Cumulative megabytes (10<sup>6</sup> bytes) the sampled silos uploaded, on a"
            + " log scale: compressed payloads, else float32 (4 bytes per value, row-sparse where smaller).</p>\n"
            + "<div class=\"charts\">\n");
    for (String col : columns) {
      sb.append("<figure class=\"chart-box\" id=\"megabytes-").append(esc(slug(col))).append("\"><figcaption>silos ")
          .append(esc(col)).append(" (").append(isIid(col) ? "IID" : "non-IID").append(")</figcaption>")
          .append(megabytesChart(col, runs, seedInRow)).append("</figure>\n");
    }
    sb.append("</div></section>\n");

    sb.append("<section id=\"rounds-to-target\"><h2>Communication rounds to reach a target test accuracy</h2>\n")
        .append("<p class=\"note\">As Tables 1\u20132 of McMahan et al. 2017: rounds until the test accuracy first"
            + " reached the target (measured every evaluation), and in parentheses the speed-up over FedSGD (E=1,"
            + " B=\u221e) with the same silos, C and seed. \u2014 = not reached; (FedSGD \u2014) = FedSGD did not"
            + " reach it.</p>\n");
    if (targets.isEmpty()) {
      sb.append("<p class=\"muted\">No experiment.target_accuracy set.</p>\n");
    }
    for (double t : targets) {
      sb.append("<div class=\"scroll\"><table class=\"num rounds\" id=\"target-").append(esc(num(t)))
          .append("\"><caption>target accuracy ").append(esc(num(t))).append("</caption><thead><tr><th>setting</th>");
      for (String col : columns) {
        sb.append("<th>").append(esc(col)).append("<br>").append(isIid(col) ? "IID" : "non-IID").append("</th>");
      }
      sb.append("</tr></thead><tbody>\n");
      for (String row : rows) {
        sb.append("<tr><th>").append(esc(row)).append("</th>");
        for (String col : columns) {
          Run r = find(runs, row, col, seedInRow);
          sb.append("<td>");
          if (r == null) {
            sb.append("");
          } else {
            long n = r.roundsTo(t);
            Run base = fedSgd(runs, r);
            long b = base == null ? -1 : base.roundsTo(t);
            if (n < 0) {
              sb.append("\u2014");
            } else {
              sb.append(n);
              if (b > 0 && base != r) {
                sb.append(" (").append(String.format(Locale.ROOT, "%.1f\u00d7", (double) b / n)).append(')');
              } else if (base != null && base != r) {
                sb.append(" (FedSGD \u2014)");
              }
            }
          }
          sb.append("</td>");
        }
        sb.append("</tr>\n");
      }
      sb.append("</tbody></table></div>\n");
    }
    sb.append("</section>\n");

    sb.append("<section id=\"settings\"><h2>Settings</h2>\n<div class=\"scroll\"><table class=\"settings\"><thead><tr>")
        .append("<th>#</th><th>silos</th><th>setting</th><th>server</th><th>rounds</th><th>final accuracy</th>")
        .append("<th>train s</th><th>rows moved</th><th>bytes / round</th><th>largest upload</th><th>\u03b5</th>")
        .append("</tr></thead><tbody>\n");
    for (Run r : runs) {
      sb.append("<tr><td class=\"n\">").append(r.id).append("</td><td>").append(esc(r.silos)).append("</td><td>")
          .append(esc(rowKey(r, true))).append("</td><td>").append(esc(r.server)).append("</td><td class=\"n\">")
          .append(r.rounds.size()).append("</td><td class=\"n\">").append(HtmlReport.fmt(r.finalAccuracy))
          .append("</td><td class=\"n\">").append(String.format(Locale.ROOT, "%.1f", r.trainSeconds))
          .append("</td><td class=\"n\">").append(esc(r.audit.get("rows_moved_during_training")))
          .append("</td><td class=\"n\">").append(esc(r.audit.get("bytes_per_round")))
          .append("</td><td class=\"n\">").append(esc(r.audit.get("largest_upload_bytes")))
          .append("</td><td class=\"n\">").append(Double.isNaN(r.epsilon) ? "\u2014" : HtmlReport.fmt(r.epsilon))
          .append("</td></tr>\n");
    }
    sb.append("</tbody></table></div></section>\n");
    Object experiment = config == null ? null : config.get("experiment");
    if (experiment != null) {
      sb.append("<section id=\"config\"><h2>Grid</h2><pre>").append(esc(experiment)).append("</pre>")
          .append("<h3>federated</h3><pre>").append(esc(config.get("federated"))).append("</pre></section>\n");
    }
    sb.append("<footer>Generated by sparktrain on ")
        .append(esc(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"))))
        .append(". Self-contained: no scripts or external resources.</footer>\n</main>\n</body>\n</html>\n");
    return sb.toString();
  }

  /**
   * The global model's training loss vs round (federated.eval_train_loss), one chart per silo setting
   * and, when the grid has several straggler fractions, per fraction: Li et al. 2020's Figure 1 layout.
   */
  private static void trainingLossSection(StringBuilder sb, List<Run> runs, boolean seedInRow) {
    if (runs.stream().noneMatch(r -> r.rounds.stream().anyMatch(m -> m.get("global_train_loss") instanceof Number))) {
      return;
    }
    boolean byStragglers = runs.stream().mapToDouble(r -> r.stragglers).distinct().count() > 1;
    List<String> panels = new ArrayList<>();
    for (Run r : runs) {
      String p = panel(r, byStragglers);
      if (!panels.contains(p)) {
        panels.add(p);
      }
    }
    sb.append("<section id=\"training-loss\"><h2>Training loss vs communication round</h2>\n")
        .append("<p class=\"note\">The global model after each evaluation round on all silos' training rows"
            + " (every silo, not only the sampled ones; scored where the rows are), as Li et al. 2020 plot it"
            + (byStragglers ? "; one chart per straggler fraction, as their Figure 1" : "") + ".</p>\n")
        .append("<div class=\"charts\">\n");
    for (String p : panels) {
      List<Svg.Series> series = series(runs, r -> panel(r, byStragglers).equals(p), "global_train_loss",
          Run::roundNumbers, seedInRow);
      sb.append("<figure class=\"chart-box\" id=\"loss-").append(esc(slug(p))).append("\"><figcaption>silos ")
          .append(esc(p)).append("</figcaption>")
          .append(Svg.lineChart("training loss vs round, silos " + p, "round", "training loss", series, 560, 320,
              true))
          .append("</figure>\n");
    }
    sb.append("</div></section>\n");
  }

  private static String panel(Run r, boolean byStragglers) {
    return byStragglers ? r.silos + ", " + num(100 * r.stragglers) + " % stragglers" : r.silos;
  }

  /**
   * The final model's accuracy on each silo's own held-out rows: one box plot chart, a box per setting
   * (labelled with its silo setting when there are several), on one accuracy axis.
   */
  private static void siloSection(StringBuilder sb, List<Run> runs, List<String> columns, boolean seedInRow) {
    if (runs.stream().allMatch(r -> r.siloResults == null)) {
      return;
    }
    sb.append("<section id=\"silo-accuracy\"><h2>Test accuracy per silo</h2>\n")
        .append("<p class=\"note\">The final global model on each silo's own held-out rows, one value per silo:"
            + " box from the first to the third quartile (interpolated), median line, whiskers to the lowest and"
            + " highest silo" + (runs.stream().allMatch(r -> r.siloResults == null
                || r.siloResults.size() <= Svg.BOX_POINTS_MAX) ? ", a dot per silo" : "")
            + ". Silos without held-out rows are left out. The values are in silos.csv.</p>\n");
    List<String> labels = new ArrayList<>();
    List<double[]> values = new ArrayList<>();
    for (String col : columns) {
      for (Run r : runs) {
        if (r.silos.equals(col) && r.siloResults != null) {
          labels.add(columns.size() > 1 ? col + " \u00b7 " + rowKey(r, seedInRow) : rowKey(r, seedInRow));
          values.add(r.siloAccuracies());
        }
      }
    }
    sb.append("<figure class=\"chart-box\" id=\"silos\"><figcaption>test accuracy per silo, final model")
        .append("</figcaption>")
        .append(Svg.boxPlot("test accuracy per silo", "test accuracy of a silo", labels, values, 960))
        .append("</figure>\n</section>\n");
  }

  /**
   * Test accuracy against cumulative megabytes uploaded (log x), one line per setting of
   * {@code runs} with silos {@code silos}: an {@code <svg>} element.
   */
  public static String megabytesChart(String silos, List<Run> runs, boolean seedInName) {
    List<Svg.Series> series = series(runs, r -> r.silos.equals(silos), "val_accuracy", Run::cumulativeMegabytes,
        seedInName);
    return Svg.lineChartLogX("test accuracy vs megabytes uploaded, silos " + silos, "megabytes uploaded (log scale)",
        "test accuracy", series, 560, 340);
  }

  /**
   * One line per run that {@code include} keeps: for each round record with a number under
   * {@code yKey}, the point (x, y), x from {@code xs} (one value per record: the round, or the
   * cumulative megabytes; records with x <= 0 left out, for log axes); markers up to 30 points,
   * dashed once the palette repeats.
   */
  private static List<Svg.Series> series(List<Run> runs, Predicate<Run> include, String yKey,
      Function<Run, double[]> xs, boolean seedInRow) {
    List<Svg.Series> series = new ArrayList<>();
    int i = 0;
    for (Run r : runs) {
      if (!include.test(r)) {
        continue;
      }
      double[] xAll = xs.apply(r);
      List<double[]> pts = new ArrayList<>();
      for (int j = 0; j < r.rounds.size(); j++) {
        Object v = r.rounds.get(j).get(yKey);
        if (v instanceof Number && xAll[j] > 0) {
          pts.add(new double[] {xAll[j], ((Number) v).doubleValue()});
        }
      }
      double[] x = new double[pts.size()];
      double[] y = new double[pts.size()];
      for (int j = 0; j < x.length; j++) {
        x[j] = pts.get(j)[0];
        y[j] = pts.get(j)[1];
      }
      Svg.Series s = new Svg.Series(rowKey(r, seedInRow), Svg.PALETTE[i % Svg.PALETTE.length], x, y);
      if (x.length <= 30) {
        s.markers();
      }
      if (i >= Svg.PALETTE.length) {
        s.dashed();
      }
      series.add(s);
      i++;
    }
    return series;
  }

  private static String rowKey(Run r, boolean seed) {
    return seed ? r.row + " seed " + r.seed : r.row;
  }

  private static Run find(List<Run> runs, String row, String col, boolean seed) {
    for (Run r : runs) {
      if (r.silos.equals(col) && rowKey(r, seed).equals(row)) {
        return r;
      }
    }
    return null;
  }

  /** The FedSGD run with the same silos, C and seed; else any FedSGD run with the same silos; else null. */
  private static Run fedSgd(List<Run> runs, Run of) {
    Run any = null;
    for (Run r : runs) {
      if (r.silos.equals(of.silos) && "FedSGD".equals(r.algorithm)) {
        if (r.clientFraction == of.clientFraction && r.seed == of.seed) {
          return r;
        }
        if (any == null) {
          any = r;
        }
      }
    }
    return any;
  }

  static boolean isIid(String silos) {
    return silos.trim().toLowerCase(Locale.ROOT).startsWith("iid");
  }

  private static String slug(String s) {
    return s.replaceAll("[^A-Za-z0-9]+", "-");
  }

  private static String esc(Object o) {
    return Svg.esc(o);
  }

  static String csv(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static String num(Object v) {
    if (!(v instanceof Number)) {
      return "";
    }
    double d = ((Number) v).doubleValue();
    if (Double.isNaN(d)) {
      return "";
    }
    if (v instanceof Float) {
      d = Double.parseDouble(v.toString());
    }
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }
}
