package io.sparktrain.driver.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Renders a realistic report in a real browser (headless Chromium, via scripts/screenshot.sh, which
 * installs Debian's chromium when it is missing and it can) and checks the screenshot is a real,
 * non-blank image. Skipped, with a message, when no Chromium can be had. The HTML and PNG are kept
 * in target/report-screenshot/ for a look.
 */
class ReportScreenshotTest {
  private static final int WIDTH = 1280;
  private static final int HEIGHT = 1800;

  @Test
  void reportRendersInHeadlessChromium() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Path script = root.resolve("scripts/screenshot.sh");
    Assumptions.assumeTrue(Files.isRegularFile(script), "no " + script);
    Path dir = Path.of(System.getProperty("user.dir"), "target", "report-screenshot");
    Files.createDirectories(dir);
    Path html = dir.resolve("report.html");
    Path png = dir.resolve("report.png");
    Files.deleteIfExists(png);
    HtmlReport.write(SyntheticRuns.classification("fashion-mnist <script>x</script>"), html.toString(),
        new Configuration());

    Process p = new ProcessBuilder("bash", script.toString(), html.toString(), png.toString(),
        Integer.toString(WIDTH), Integer.toString(HEIGHT)).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "screenshot.sh timed out");
    Assumptions.assumeTrue(p.exitValue() != 3, "no Chromium and it cannot be installed here: " + output.trim());
    assertEquals(0, p.exitValue(), "screenshot.sh failed:\n" + output);

    File f = png.toFile();
    assertTrue(f.length() > 10 * 1024, "PNG of " + f.length() + " bytes");
    BufferedImage img = ImageIO.read(f);
    assertTrue(img != null, "not a PNG ImageIO can read");
    assertEquals(WIDTH, img.getWidth());
    assertEquals(HEIGHT, img.getHeight());
    // Not a blank page: the charts and the heat map bring many colours, also in the top part.
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 3) {
      for (int x = 0; x < img.getWidth(); x += 3) colours.add(img.getRGB(x, y) & 0xffffff);
    }
    assertTrue(colours.size() >= 50, "only " + colours.size() + " distinct colours");
    Set<Integer> top = new HashSet<>();
    for (int y = 0; y < 300; y += 2) {
      for (int x = 0; x < img.getWidth(); x += 2) top.add(img.getRGB(x, y) & 0xffffff);
    }
    assertTrue(top.size() >= 8, "header looks blank: " + top.size() + " colours");
  }
}
