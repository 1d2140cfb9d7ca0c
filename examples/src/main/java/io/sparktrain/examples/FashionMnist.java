package io.sparktrain.examples;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Fashion-MNIST from its IDX files (gzip or plain) to Parquet: {@code features} (784 pixels scaled
 * to [0, 1], an ml Vector) and {@code label} (0..9, double). Used by scripts/get-fashion-mnist.sh.
 *
 * <p>Usage: {@code FashionMnist <idx dir> <parquet dir>} writes {@code train.parquet} and
 * {@code test.parquet}.
 */
public final class FashionMnist {
  public static final StructType SCHEMA = new StructType()
      .add("features", new VectorUDT(), false)
      .add("label", DataTypes.DoubleType, false);

  private FashionMnist() {
  }

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: FashionMnist <idx dir> <parquet dir>");
      System.exit(2);
    }
    Path src = Path.of(args[0]);
    Path out = Path.of(args[1]);
    SparkSession spark = SparkSession.builder().master("local[2]").appName("fashion-mnist-to-parquet")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      for (String split : new String[] {"train", "t10k"}) {
        List<Row> rows = read(src, split);
        String name = split.equals("train") ? "train.parquet" : "test.parquet";
        Path tmp = out.resolve("._tmp-" + name);
        spark.createDataFrame(rows, SCHEMA).repartition(4).write().mode(SaveMode.Overwrite)
            .parquet(tmp.toString());
        Path target = out.resolve(name);
        if (Files.exists(target)) {
          deleteRecursively(target);
        }
        Files.move(tmp, target);
        System.out.println("wrote " + rows.size() + " rows to " + target);
      }
    } finally {
      spark.stop();
    }
  }

  /** The rows of one split ("train" or "t10k") from {@code dir}. */
  public static List<Row> read(Path dir, String split) throws IOException {
    byte[][] images = images(find(dir, split + "-images-idx3-ubyte"));
    byte[] labels = labels(find(dir, split + "-labels-idx1-ubyte"));
    if (images.length != labels.length) {
      throw new IOException(dir + ": " + split + " has " + images.length + " images but " + labels.length + " labels");
    }
    List<Row> rows = new ArrayList<>(images.length);
    for (int i = 0; i < images.length; i++) {
      double[] x = new double[images[i].length];
      for (int j = 0; j < x.length; j++) x[j] = (images[i][j] & 0xFF) / 255.0;
      rows.add(RowFactory.create(Vectors.dense(x), (double) labels[i]));
    }
    return rows;
  }

  private static Path find(Path dir, String base) throws IOException {
    for (String name : new String[] {base + ".gz", base}) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IOException(dir + ": expected " + base + "[.gz], found neither");
  }

  private static DataInputStream open(Path p) throws IOException {
    InputStream in = Files.newInputStream(p);
    if (p.toString().endsWith(".gz")) {
      in = new GZIPInputStream(in, 1 << 16);
    }
    return new DataInputStream(new BufferedInputStream(in, 1 << 16));
  }

  static byte[][] images(Path p) throws IOException {
    try (DataInputStream in = open(p)) {
      int magic = in.readInt();
      if (magic != 0x00000803) {
        throw new IOException(p + ": expected IDX image magic 0x803, found 0x" + Integer.toHexString(magic));
      }
      int n = in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      byte[][] out = new byte[n][rows * cols];
      for (int i = 0; i < n; i++) in.readFully(out[i]);
      return out;
    }
  }

  static byte[] labels(Path p) throws IOException {
    try (DataInputStream in = open(p)) {
      int magic = in.readInt();
      if (magic != 0x00000801) {
        throw new IOException(p + ": expected IDX label magic 0x801, found 0x" + Integer.toHexString(magic));
      }
      byte[] out = new byte[in.readInt()];
      in.readFully(out);
      return out;
    }
  }

  private static void deleteRecursively(Path p) throws IOException {
    try (var walk = Files.walk(p)) {
      for (Path q : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(q);
      }
    }
  }

  /** Reads one split written by {@link #main}. */
  public static Dataset<Row> load(SparkSession spark, String parquetDir, String split) {
    return spark.read().parquet(Path.of(parquetDir, split + ".parquet").toString());
  }
}
