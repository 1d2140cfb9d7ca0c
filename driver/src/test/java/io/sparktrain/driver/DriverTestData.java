package io.sparktrain.driver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/** What the driver's end-to-end tests share: a local[2] session on 127.0.0.1, a small CSV and iris. */
final class DriverTestData {
  /** iris.csv's feature columns. */
  static final String[] IRIS_COLS = {"sepal_length", "sepal_width", "petal_length", "petal_width"};

  private DriverTestData() {
  }

  /** local[2] bound to 127.0.0.1, no UI, 2 shuffle partitions. */
  static SparkSession session(String app) {
    return SparkSession.builder().master("local[2]").appName(app)
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
  }

  /**
   * {@code dir/train.csv}: columns f1..f4 (standard normal) and a label in {0, 1, 2} set by
   * x1 + x2 / 2 against +-0.5, so a small network learns it.
   */
  static Path threeClassCsv(Path dir, int rows, long seed) throws IOException {
    Random r = new Random(seed);
    StringBuilder sb = new StringBuilder("f1,f2,f3,f4,label\n");
    for (int i = 0; i < rows; i++) {
      double[] x = new double[4];
      for (int j = 0; j < 4; j++) x[j] = r.nextGaussian();
      int label = x[0] + 0.5 * x[1] > 0.5 ? 2 : x[0] + 0.5 * x[1] < -0.5 ? 1 : 0;
      sb.append(x[0]).append(',').append(x[1]).append(',').append(x[2]).append(',').append(x[3]).append(',')
          .append(label).append('\n');
    }
    Path csv = dir.resolve("train.csv");
    Files.writeString(csv, sb.toString());
    return csv;
  }

  /** The iris.csv the trainer's tests use (150 rows, a header, the label last). */
  static String iris() {
    return CliProcess.root().resolve("trainer/src/test/resources/iris.csv").toString();
  }

  /**
   * {@code sparktrain train} on CSV {@code train} (iris.csv's columns), tested on iris.csv, batch 16,
   * into {@code out}; {@code more} (e.g. --set pairs) follow.
   */
  static List<String> irisTrainArgs(String train, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--config", "/dev/null", "--set", "data.format=csv",
        "--set", "data.train=" + train, "--set", "data.test=" + iris(),
        "--set", "data.options={header: \"true\", inferSchema: \"true\"}",
        "--set", "data.features=[" + String.join(", ", IRIS_COLS) + "]", "--set", "training.batch_size=16",
        "--set", "output.dir=" + out));
    a.addAll(List.of(more));
    return a;
  }

  /** The "test accuracy" a train run printed. */
  static double testAccuracy(MainTest.Run r) {
    for (String line : r.out.split("\n")) {
      if (line.startsWith("test accuracy ")) {
        return Double.parseDouble(line.substring("test accuracy ".length()).trim());
      }
    }
    throw new AssertionError("no test accuracy in " + r.out);
  }
}
