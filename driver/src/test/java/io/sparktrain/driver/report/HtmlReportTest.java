package io.sparktrain.driver.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xml.sax.SAXException;

class HtmlReportTest {
  private static final String NAME = "fashion <script>alert('x')</script> & co";

  @Test
  void classificationReportHasChartsHeatMapTablesAndEscapesText(@TempDir Path dir) throws Exception {
    RunReport report = SyntheticRuns.classification(NAME);
    Path out = dir.resolve("run/report.html");
    HtmlReport.write(report, out.toUri().toString(), new Configuration());
    String html = Files.readString(out, StandardCharsets.UTF_8);
    // Atomic write: only the report is left (no temporary files, no Hadoop .crc of the temporary file).
    try (var files = Files.list(out.getParent())) {
      assertTrue(files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".report.html.crc"))
          .allMatch(n -> n.equals("report.html")), "temporary files left beside the report");
    }

    // Self-contained: no script, no external resources.
    assertFalse(html.toLowerCase().contains("<script"), "unescaped <script>");
    assertFalse(html.contains("<link") || html.contains(" src=") || html.contains("@import")
        || html.contains("url(http"));
    assertTrue(html.contains("fashion &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), "escaped run name");
    assertTrue(html.contains("<h1>fashion &lt;script&gt;"));

    // Header: task, data sizes, BLAS, test metrics.
    assertTrue(html.contains(">classification</span>"));
    assertTrue(html.contains("54,000") && html.contains("validation rows") && html.contains("VectorBLAS"));
    assertTrue(html.contains("id=\"test-metrics\""));
    assertTrue(html.contains(HtmlReport.fmt(2726.0 / 3000)), "test accuracy");

    // Charts: loss per epoch and per round, accuracy per epoch and per round (validate_every_rounds).
    for (String id : List.of("loss-epoch", "loss-round", "accuracy-epoch", "accuracy-round")) {
      Matcher m = Pattern.compile("<figure class=\"chart-box\" id=\"" + id + "\"><figcaption>[^<]*</figcaption>"
          + "(<svg class=\"chart\".*?</svg>)</figure>", Pattern.DOTALL).matcher(html);
      assertTrue(m.find(), "chart " + id);
      String svg = m.group(1);
      assertTrue(svg.contains("class=\"legend\""), id + " legend");
      assertTrue(svg.contains("class=\"axis\""), id + " axes");
      assertTrue(count(svg, "<path d=\"M") >= 2, id + " lines");
    }
    assertTrue(html.contains(">training loss<") && html.contains(">validation loss<"));
    assertTrue(html.contains(">moving average<"));
    assertTrue(html.contains(">accuracy<") && html.contains(">f1 macro<"));
    // 40 rounds x 5 epochs: the per-round chart has a point per round in its first path.
    Matcher round = Pattern.compile("id=\"loss-round\".*?<path d=\"([^\"]*)\"", Pattern.DOTALL).matcher(html);
    assertTrue(round.find());
    assertEquals(200, count(round.group(1), "L") + 1);

    // Confusion matrix heat map: 9 cells, the diagonal marked, counts shown, row-normalised colours.
    assertEquals(9, count(html, "<g class=\"cell"));
    assertEquals(3, count(html, "<g class=\"cell diag\""));
    assertTrue(html.contains(">968</text>") && html.contains(">96.8%</text>"));
    assertTrue(html.contains("fill=\"" + Svg.heat(0.968) + "\""), "diagonal cell coloured by its row share");
    assertTrue(html.contains("Trouser &amp; co"));

    // Per-class table: one row per class, then averages.
    Matcher table = Pattern.compile("<table class=\"num\" id=\"per-class-table\">.*?</table>", Pattern.DOTALL)
        .matcher(html);
    assertTrue(table.find());
    assertEquals(3, count(table.group(), "<tr class=\"class-row\">"));
    for (String l : List.of("T-shirt/top", "Trouser &amp; co", "Pullover")) {
      assertTrue(table.group().contains("<th scope=\"row\">" + l + "</th>"), l);
    }
    assertTrue(table.group().contains("macro average") && table.group().contains("weighted average"));
    assertTrue(table.group().contains(">1,000</td>"), "support");

    // Where the time went: a bar per phase (total is the caption).
    Matcher bars = Pattern.compile("<svg class=\"bars\".*?</svg>", Pattern.DOTALL).matcher(html);
    assertTrue(bars.find());
    assertEquals(5, count(bars.group(), "<g class=\"bar\">"));
    assertTrue(bars.group().contains(">train<") && bars.group().contains("38.7 s (72%)"));
    assertTrue(html.contains("Total wall time 53.4 s"));

    // Configuration table, flattened keys.
    assertTrue(html.contains(">training.optimizer.learning_rate</td><td>0.001</td>"));
    assertTrue(html.contains(">model.hidden</td><td>[256,128]</td>"));

    // Every SVG is well-formed XML.
    List<String> svgs = svgs(html);
    assertTrue(svgs.size() >= 6, "svg count " + svgs.size());
    for (String svg : svgs) {
      parseXml(svg);
    }
  }

  @Test
  void regressionReportShowsErrorCurvesAndPerOutputTable() throws Exception {
    Path out = Path.of(System.getProperty("user.dir"), "target", "report-screenshot", "report-regression.html");
    HtmlReport.write(SyntheticRuns.regression("housing"), out.toString(), new Configuration());
    String html = Files.readString(out);
    for (String id : List.of("loss-epoch", "loss-round", "error-epoch", "error-round", "r2-epoch", "r2-round")) {
      assertTrue(html.contains("id=\"" + id + "\""), id);
    }
    assertTrue(html.contains(">rmse<") && html.contains(">mae<") && html.contains(">r2<"));
    assertFalse(html.contains("<g class=\"cell"), "no confusion matrix for regression");
    assertTrue(html.contains("id=\"per-output-table\""));
    assertTrue(html.contains(">regression</span>"));
    for (String svg : svgs(html)) {
      parseXml(svg);
    }
  }

  @Test
  void tenClassesWithLongLabels() throws Exception {
    Path out = Path.of(System.getProperty("user.dir"), "target", "report-screenshot", "report-10-classes.html");
    HtmlReport.write(SyntheticRuns.tenClasses("fashion-mnist, 10 classes"), out.toString(), new Configuration());
    String html = Files.readString(out);
    assertEquals(100, count(html, "<g class=\"cell"));
    assertEquals(10, count(html, "<tr class=\"class-row\">"));
    // A long label is shortened in the heat map (full text in its tooltip) but whole in the table.
    assertTrue(html.contains("<title>Ankle boot with a very long label</title>Ankle boot with\u2026</text>"), "label");
    assertTrue(html.contains("<th scope=\"row\">Ankle boot with a very long label</th>"));
    for (String svg : svgs(html)) {
      parseXml(svg);
    }
  }

  @Test
  void longRunsAreThinnedToAboutTwoThousandPointsALine() {
    List<Map<String, Object>> h = new ArrayList<>();
    for (int r = 1; r <= 10001; r++) h.add(Map.of("type", "round", "epoch", 1, "round", (long) r, "loss", 1.0 / r));
    String html = HtmlReport.render(new RunReport("long", "regression", Map.of(), Map.of(), "f2j", Map.of(), h, null,
        null, List.of()));
    Matcher round = Pattern.compile("id=\"loss-round\".*?<path d=\"([^\"]*)\"", Pattern.DOTALL).matcher(html);
    assertTrue(round.find());
    int points = count(round.group(1), "L") + 1;
    assertTrue(points > 1000 && points <= 2001, points + " points");
    // The last round is kept: the line reaches the right end of the x axis (the largest x of the chart).
    String[] pts = round.group(1).substring(1).split("L");
    double lastX = Double.parseDouble(pts[pts.length - 1].split(" ")[0]);
    double secondLastX = Double.parseDouble(pts[pts.length - 2].split(" ")[0]);
    Matcher xAxis = Pattern.compile("id=\"loss-round\".*?<line class=\"frame\"[^>]*/><line class=\"frame\" x1=\""
        + "[^\"]*\" x2=\"([^\"]*)\"", Pattern.DOTALL).matcher(html);
    assertTrue(xAxis.find());
    assertEquals(Double.parseDouble(xAxis.group(1)), lastX, 0.01);
    assertTrue(secondLastX < lastX);
    assertEquals(new double[] {1, 4, 7, 8}.length, HtmlReport.every(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, 3).length);
    assertEquals(8.0, HtmlReport.every(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, 3)[3]);
  }

  /**
   * The experiment report's accuracy-vs-megabytes chart: cumulative upload_bytes on a log x axis
   * (1, 10 and 100 MB equally spaced; ticks at the decades), one line per setting, well-formed SVG.
   */
  @Test
  void megabytesChartUsesCumulativeUploadBytesOnALogAxis() throws Exception {
    List<ExperimentReport.Run> runs = new ArrayList<>();
    for (double bytes : new double[] {1e6, 1e5}) {
      ExperimentReport.Run r = new ExperimentReport.Run();
      r.silos = "iid";
      r.row = bytes == 1e6 ? "float32" : "int2";
      r.rounds = new ArrayList<>();
      for (long k = 1; k <= 100; k++) {
        r.rounds.add(Map.of("round", k, "val_accuracy", 0.5 + k / 400.0, "upload_bytes", bytes));
      }
      runs.add(r);
    }
    assertEquals(3.0, runs.get(0).cumulativeMegabytes()[2], 1e-12);
    assertEquals(1e5, runs.get(1).uploadBytesPerRound(), 1e-6);
    String svg = ExperimentReport.megabytesChart("iid", runs, false);
    parseXml(svg);
    for (String tick : new String[] {">0.1</text>", ">1</text>", ">10</text>", ">100</text>"}) {
      assertTrue(svg.contains(tick), tick + " in " + svg);
    }
    Matcher path = Pattern.compile("<title>float32</title><path d=\"([^\"]*)\"").matcher(svg);
    assertTrue(path.find(), svg);
    String[] pts = path.group(1).substring(1).split("L");
    double x1 = Double.parseDouble(pts[0].split(" ")[0]); // 1 MB after round 1
    double x10 = Double.parseDouble(pts[9].split(" ")[0]);
    double x100 = Double.parseDouble(pts[99].split(" ")[0]);
    assertEquals(x10 - x1, x100 - x10, 0.02);
    assertTrue(svg.contains("<title>int2</title>"));
    // Rounds without upload_bytes (an older run) leave the line out rather than drawing it wrong.
    ExperimentReport.Run old = new ExperimentReport.Run();
    old.silos = "iid";
    old.row = "old";
    old.rounds = List.of(Map.of("round", 1L, "val_accuracy", 0.5));
    assertTrue(Double.isNaN(old.cumulativeMegabytes()[0]));
    parseXml(ExperimentReport.megabytesChart("iid", List.of(old), false));
  }

  @Test
  void emptyRunStillRenders(@TempDir Path dir) throws Exception {
    RunReport empty = new RunReport(null, "classification", null, null, null, null, null, null, null, null);
    String html = HtmlReport.render(empty);
    assertTrue(html.contains("No test data") && html.contains("No epoch records") && html.contains("No timings"));
    RunReport noVal = new RunReport("x", "classification", Map.of(), Map.of(), "f2j", Map.of("train_s", 1.0),
        List.of(Map.of("type", "epoch", "epoch", 1, "round", 3L, "loss", 0.5)), null, null, List.of());
    html = HtmlReport.render(noVal);
    assertTrue(html.contains("No validation data"));
    for (String svg : svgs(html)) {
      parseXml(svg);
    }
    // Overwrites an existing report.
    File f = dir.resolve("r.html").toFile();
    Files.writeString(f.toPath(), "old");
    HtmlReport.write(noVal, f.getPath(), new Configuration());
    assertTrue(Files.readString(f.toPath()).startsWith("<!DOCTYPE html>"));
  }

  static List<String> svgs(String html) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(html);
    while (m.find()) out.add(m.group());
    return out;
  }

  static void parseXml(String xml) throws Exception {
    try {
      DocumentBuilderFactory.newInstance().newDocumentBuilder()
          .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException | SAXException e) {
      throw new AssertionError("not well-formed: " + e.getMessage() + "\n" + xml.substring(0, Math.min(400,
          xml.length())), e);
    }
  }

  static int count(String s, String sub) {
    int n = 0;
    for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
    return n;
  }
}
