package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sparktrain explain} end to end: a model trained by the CLI on a CSV of nine numeric columns
 * (a 3 x 3 "image") where only f0, f1 and f2 set the label is explained by each method; the files are
 * written, the three columns rank on top, the HTML is self-contained with its heat maps and renders in
 * headless Chromium; bad input stops with the usual one-line errors.
 */
class ExplainCliTest {
  private static final int D = 9;
  private static SparkSession spark;
  private static Path root;
  private static Path csv;
  private static Path model;

  @BeforeAll
  static void start(@TempDir Path dir) throws IOException {
    spark = DriverTestData.session("sparktrain-explain-cli-test");
    root = dir;
    csv = nineColumns(dir, 600, 5);
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.format=csv",
        "--set", "data.train=" + csv, "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[" + String.join(", ", names()) + "]", "--set", "model.hidden=[12]",
        "--set", "model.activation=tanh", "--set", "training.epochs=15", "--set", "training.batch_size=32",
        "--set", "training.optimizer={name: adam, learning_rate: 0.02}", "--set", "output.dir=" + dir.resolve("run"));
    assertEquals(0, run.code, run.err + run.out);
    model = dir.resolve("run/model");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static List<String> names() {
    List<String> n = new ArrayList<>();
    for (int j = 0; j < D; j++) n.add("f" + j);
    return n;
  }

  /** Columns f0..f8 (standard normal), label = the index of the largest of f0, f1, f2. */
  static Path nineColumns(Path dir, int rows, long seed) throws IOException {
    Random r = new Random(seed);
    StringBuilder sb = new StringBuilder(String.join(",", names()) + ",label\n");
    for (int i = 0; i < rows; i++) {
      double[] x = new double[D];
      for (int j = 0; j < D; j++) {
        x[j] = r.nextGaussian();
        sb.append(x[j]).append(',');
      }
      sb.append(x[0] >= x[1] && x[0] >= x[2] ? 0 : x[1] >= x[2] ? 1 : 2).append('\n');
    }
    Path p = dir.resolve("nine.csv");
    Files.writeString(p, sb.toString());
    return p;
  }

  private static MainTest.Run explain(String... more) {
    List<String> a = new ArrayList<>(List.of("explain", "--model", model.toString(), "--data", csv.toString(),
        "--format", "csv", "--option", "header=true", "--option", "inferSchema=true", "--features",
        String.join(",", names())));
    a.addAll(List.of(more));
    return MainTest.run(a.toArray(new String[0]));
  }

  private static Set<String> top3(JsonNode json) {
    Set<String> s = new TreeSet<>();
    for (JsonNode u : json.get("units")) {
      if (u.get("rank").asInt() <= 3) {
        s.add(u.get("name").asText());
      }
    }
    return s;
  }

  @Test
  void everyMethodWritesItsFilesAndRanksTheLabelsColumnsOnTop() throws Exception {
    for (String method : List.of("permutation", "integrated_gradients", "gradient_x_input")) {
      Path out = root.resolve("explain-" + method);
      MainTest.Run r = explain("--method", method, "--output", out.toString(), "--class-names", "zero,one,two");
      assertEquals(0, r.code, r.err + r.out);
      assertTrue(r.out.contains(method + " over 600 rows x 9 features in "), r.out);
      assertTrue(r.out.lines().anyMatch(l -> l.startsWith("top: f") && l.matches("top: f[012] .*, f[012] .*, f[012] "
          + ".*")), r.out);
      JsonNode json = new ObjectMapper().readTree(out.resolve("attributions.json").toFile());
      assertEquals(method, json.get("method").asText());
      assertEquals(600, json.get("rows").asInt());
      assertEquals(Set.of("f0", "f1", "f2"), top3(json), json.get("units").toString());
      assertEquals(model.toString(), json.get("model").asText());
      List<String> csvLines = Files.readAllLines(out.resolve("attributions.csv"));
      assertEquals(D + 1, csvLines.size());
      assertTrue(csvLines.get(0).startsWith("index,name,rank,"), csvLines.get(0));
      String html = Files.readString(out.resolve("explain.html"));
      assertTrue(html.contains("<svg class=\"bars\""), "bar chart");
      assertTrue(html.contains("id=\"map-all\""), "the 3 x 3 map of the scores");
      assertFalse(html.contains("<script") || html.contains("src=") || html.contains("href="), "self-contained");
      assertEquals(html.split("http://", -1).length - 1, html.split("xmlns=\"http://www.w3.org/2000/svg\"", -1).length
          - 1, "no link but the SVG namespace");
      if (!method.equals("permutation")) {
        for (int c = 0; c < 3; c++) assertTrue(html.contains("id=\"map-class-" + c + "\""), "class map " + c);
        assertTrue(html.contains(">two<"), "class names");
        assertTrue(json.get("sample").size() > 0);
      }
    }
  }

  @Test
  void theDefaultOutputIsBesideTheModelAndPerPartitionKeepsThePartitions() throws Exception {
    MainTest.Run r = explain("--method", "gradient_x_input", "--per-partition");
    assertEquals(0, r.code, r.err + r.out);
    Path out = root.resolve("run/explain-gradient_x_input");
    assertTrue(r.out.contains("explanation: " + out), r.out);
    assertFalse(r.out.contains("repartitioned"), r.out);
    JsonNode json = new ObjectMapper().readTree(out.resolve("attributions.json").toFile());
    JsonNode parts = json.get("partitions");
    int rows = 0;
    for (JsonNode p : parts) rows += p.get("rows").asInt();
    assertEquals(600, rows);
    assertEquals(json.get("partitions").size(), json.get("partitions").get(parts.size() - 1).get("partition").asInt()
        + 1);
    assertTrue(Files.readString(out.resolve("explain.html")).contains("id=\"partition-table\""));

    // Simulated Dirichlet silos (label skew): one explanation per silo, whose top features then differ.
    Path silos = root.resolve("silos");
    r = explain("--method", "integrated_gradients", "--steps", "8", "--silos", "dirichlet(0.3)", "--silo-count", "4",
        "--output", silos.toString());
    assertEquals(0, r.code, r.err + r.out);
    json = new ObjectMapper().readTree(silos.resolve("attributions.json").toFile());
    parts = json.get("partitions");
    assertEquals(4, parts.size());
    rows = 0;
    for (JsonNode p : parts) {
      rows += p.get("rows").asInt();
      assertEquals(D, p.get("scores").size());
      double overlap = p.get("top_overlap").asDouble();
      assertTrue(overlap >= 0 && overlap <= 1, p.toString());
    }
    assertEquals(600, rows);
    String html = Files.readString(silos.resolve("explain.html"));
    assertTrue(html.contains("id=\"map-partition-0\"") && html.contains("id=\"map-partition-3\""), "silo maps");
    r = explain("--silos", "column");
    assertEquals(2, r.code, r.err);
    assertEquals("sparktrain: --silos column: expected --silo-column, found none", r.err.trim());
  }

  @Test
  void patchesOfASquareInputAreUnits() throws Exception {
    Path out = root.resolve("patches");
    MainTest.Run r = explain("--method", "permutation", "--patches", "2", "--repeats", "2", "--output",
        out.toString());
    assertEquals(0, r.code, r.err + r.out);
    JsonNode units = new ObjectMapper().readTree(out.resolve("attributions.json").toFile()).get("units");
    assertEquals(4, units.size()); // 3 x 3 in 2 x 2 patches: 2 x 2, 2 x 1, 1 x 2, 1 x 1
    assertEquals("rows 0-1 cols 0-1", units.get(0).get("name").asText());
    assertEquals("[0,1,3,4]", units.get(0).get("features").toString());
    assertEquals(1, units.get(0).get("rank").asInt()); // f0, f1 (and the noise f3, f4)
  }

  @Test
  void explainHtmlRendersInHeadlessChromium() throws Exception {
    Path out = root.resolve("shot");
    assertEquals(0, explain("--output", out.toString(), "--steps", "8").code);
    Path script = CliProcess.root().resolve("scripts/screenshot.sh");
    Path png = out.resolve("explain.png");
    Process p = new ProcessBuilder("bash", script.toString(), out.resolve("explain.html").toString(), png.toString(),
        "1100", "1400").redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "screenshot.sh timed out");
    Assumptions.assumeTrue(p.exitValue() != 3, "no Chromium here: " + log.trim());
    assertEquals(0, p.exitValue(), log);
    BufferedImage img = ImageIO.read(png.toFile());
    int reds = 0;
    int blues = 0;
    for (int y = 0; y < img.getHeight(); y += 2) {
      for (int x = 0; x < img.getWidth(); x += 2) {
        int rgb = img.getRGB(x, y);
        int rr = (rgb >> 16) & 0xff;
        int bb = rgb & 0xff;
        reds += rr > 150 && bb < 110 && rr - bb > 80 ? 1 : 0;
        blues += bb > 140 && rr < 120 && bb - rr > 60 ? 1 : 0;
      }
    }
    // The class maps are drawn: attributions for (red) and against (blue) a class.
    assertTrue(reds > 50 && blues > 50, "red " + reds + ", blue " + blues + " sampled pixels");
  }

  @Test
  void badInputGetsTheUsualErrors() throws Exception {
    MainTest.Run r = MainTest.run("explain", "--model", model.toString(), "--data", csv.toString(), "--format", "csv",
        "--option", "header=true", "--option", "inferSchema=true", "--features", "f0,f1,f2,f3");
    assertEquals(1, r.code, r.err);
    assertTrue(r.err.startsWith("sparktrain: error: features column 'f0,f1,f2,f3': expected 9 values (numFeatures),"
        + " found 4 at partition "), r.err);
    r = explain("--label", "nope", "--method", "permutation");
    assertEquals(1, r.code, r.err);
    assertTrue(r.err.startsWith("sparktrain: error: label column 'nope': not found; permutation importance needs the"
        + " labels; the DataFrame has columns [f0, f1, "), r.err);
    r = MainTest.run("explain", "--model", model.toString(), "--data", csv.toString(), "--format", "csv",
        "--option", "header=true", "--option", "inferSchema=true", "--features", "f0,f1,f2,f3,f4,f5,f6,f7,f88");
    assertEquals(1, r.code, r.err);
    assertTrue(r.err.startsWith("sparktrain: error: features column 'f88': not found; the DataFrame has columns"),
        r.err);
    r = explain("--patches", "4");
    assertEquals(2, r.code, r.err);
    assertEquals("sparktrain: --patches: expected K <= 3 (the image side), found 4", r.err.trim());

    // Before Spark: exit 2 and one line.
    r = explain("--method", "shapley");
    assertEquals(2, r.code, r.err);
    assertEquals("sparktrain: --method: expected one of permutation, integrated_gradients, gradient_x_input, found"
        + " shapley", r.err.trim());
    r = explain("--baseline", "0,1,x");
    assertEquals(2, r.code, r.err);
    assertEquals("sparktrain: --baseline: expected zeros, means or comma-separated numbers, found 'x' at position 2",
        r.err.trim());
    r = explain("--explained", "odds");
    assertEquals("sparktrain: --explained: expected probability or logit, found odds", r.err.trim());
    r = explain("--group", "a=3-1");
    assertEquals("sparktrain: --group a: expected a range from low to high, found 3-1", r.err.trim());
    r = explain("--steps", "0");
    assertEquals("sparktrain: explain: steps: expected 1..4096, found 0", r.err.trim());
  }
}
