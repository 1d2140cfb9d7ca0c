package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user sees for bad input: an empty training set says so (a CSV with only its header, an
 * empty Parquet directory), an error found inside a task is one line in local mode (the child JVM's
 * whole stderr is checked) unless --verbose, and features of 1e30 get a warning naming the column.
 */
class InputErrorsTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-input-errors-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static List<String> csvJob(Path csv, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--config", "/dev/null", "--set", "data.train=" + csv,
        "--set", "data.format=csv", "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[x1, x2]", "--set", "model.hidden=[4]", "--set", "training.epochs=1",
        "--set", "output.dir=" + out));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void anEmptyTrainingSetSaysItHasNoRows(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("header-only.csv");
    Files.writeString(csv, "x1,x2,label\n");
    MainTest.Run r = MainTest.run(csvJob(csv, dir.resolve("o1")).toArray(new String[0]));
    assertEquals(1, r.code, r.err);
    String first = r.err.lines().findFirst().orElse("");
    assertTrue(first.startsWith("sparktrain: error: training data has no rows (path file:"), first);
    assertTrue(first.contains("header-only.csv)"), first);

    Path empty = Files.createDirectories(dir.resolve("empty.parquet"));
    MainTest.Run p = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + empty,
        "--set", "data.format=parquet", "--set", "data.features=[x1]", "--set", "output.dir=" + dir.resolve("o2"));
    assertEquals(1, p.code, p.err);
    assertEquals("sparktrain: error: training data has no rows (path " + empty + ": no parquet files to read)",
        p.err.lines().findFirst().orElse(""));
  }

  @Test
  void sparkErrorClassesAreDroppedWhenAPlainSentenceIsThere() {
    assertEquals("The column `x` cannot be resolved.", Main.plain("[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] The column"
        + " `x` cannot be resolved. SQLSTATE: 42703"));
    assertEquals("plain words", Main.plain("plain words"));
    assertEquals("[ONLY_A_CLASS]", Main.plain("[ONLY_A_CLASS]"));
  }

  @Test
  @Timeout(240)
  void anInputErrorInsideATaskIsOneLineInLocalModeAndTheTraceComesWithVerbose(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("bad-label.csv");
    StringBuilder sb = new StringBuilder("x1,x2,label\n");
    for (int i = 0; i < 40; i++) {
      sb.append(i * 0.1).append(',').append(1 - i * 0.05).append(',').append(i == 17 ? -1 : i % 2).append('\n');
    }
    Files.writeString(csv, sb.toString());
    List<String> job = csvJob(csv, dir.resolve("o"), "--set", "spark.master=local[2]",
        "--set", "spark.conf={spark.ui.enabled: \"false\"}");
    Path log = dir.resolve("quiet.log");
    assertEquals(1, CliProcess.sparktrain(log, job).start().waitFor());
    List<String> lines = Files.readAllLines(log);
    List<String> ours = lines.stream().filter(l -> l.startsWith("sparktrain: ")).toList();
    assertEquals(2, ours.size(), String.join("\n", lines));
    assertTrue(ours.get(0).startsWith(
        "sparktrain: error: label column 'label': expected an integral class index >= 0, found -1.0"), ours.get(0));
    assertEquals("sparktrain: (run with --verbose for the stack trace)", ours.get(1));
    assertFalse(lines.stream().anyMatch(l -> l.contains("Exception in task") || l.contains("Lost task")
        || l.trim().startsWith("at ")), "Spark's task failure logs leaked:\n" + String.join("\n", lines));

    List<String> verboseJob = new ArrayList<>(job);
    verboseJob.add("--verbose");
    Path vlog = dir.resolve("verbose.log");
    assertEquals(1, CliProcess.sparktrain(vlog, verboseJob).start().waitFor());
    String v = Files.readString(vlog);
    assertTrue(v.contains("Exception in task") && v.contains("\tat "), v);
  }

  @Test
  void hugeFeatureValuesGetAWarningNamingTheColumn(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("huge.csv");
    StringBuilder sb = new StringBuilder("x1,x2,label\n");
    for (int i = 0; i < 40; i++) {
      sb.append(i * 0.1).append(',').append(i * 2.5e29).append(',').append(i % 2).append('\n');
    }
    Files.writeString(csv, sb.toString());
    List<String> job = csvJob(csv, dir.resolve("o"), "--set", "spark.master=local[2]",
        "--set", "spark.conf={spark.ui.enabled: \"false\"}");
    Path log = dir.resolve("huge.log");
    CliProcess.sparktrain(log, job).start().waitFor();
    String out = Files.readString(log);
    assertTrue(out.contains("training data: features column 'x2' holds values up to 9.75e+30 in magnitude"), out);
    assertTrue(out.contains("StandardScaler or MinMaxScaler"), out);
    assertFalse(out.contains("features column 'x1' holds"), out);
  }
}
