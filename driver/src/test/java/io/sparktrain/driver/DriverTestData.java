package io.sparktrain.driver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/** What the driver's end-to-end tests share: a local[2] session on 127.0.0.1 and a small CSV. */
final class DriverTestData {
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
}
