package io.sparktrain.federated;

import io.sparktrain.util.Seeds;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Where silos come from. A silo is one partition of the training DataFrame.
 *
 * <ul>
 *   <li>Data already split: {@link #fromPaths} (one path per silo, each read into exactly one
 *       partition with {@code coalesce(1)}, no shuffle) or the input's existing partitions as they
 *       are.
 *   <li>Simulation: {@link #byColumn} (one silo per value of a column) and {@link #partition}
 *       (IID, Dirichlet(alpha) label skew, pathological shards, quantity skew). These move rows
 *       once, before training, and say so in the log.
 *   <li>{@link #synthetic}: the Synthetic(alpha, beta) data of FedProx (Li et al., "Federated
 *       Optimization in Heterogeneous Networks", MLSys 2020), generated in place, one partition per
 *       device.
 * </ul>
 */
public final class Silos {
  private static final Logger LOG = LoggerFactory.getLogger(Silos.class);

  /** Simulated non-IID splits. */
  public enum Split { IID, DIRICHLET, SHARDS, QUANTITY }

  private Silos() {
  }

  /** One silo per path, each exactly one partition, in the order given; no rows move. */
  public static Dataset<Row> fromPaths(SparkSession spark, String format, Map<String, String> options,
      List<String> paths) {
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("silos.paths: expected at least one path, found none");
    }
    // RDD union keeps every input partition; SQL's union of coalesce(1) plans may merge them.
    JavaRDD<Row> all = null;
    StructType schema = null;
    for (String p : paths) {
      Dataset<Row> one = spark.read().format(format).options(options).load(p);
      if (schema == null) {
        schema = one.schema();
      } else if (!schema.equals(one.schema())) {
        throw new IllegalArgumentException("silos.paths: expected every silo to have the schema of " + paths.get(0)
            + " " + schema.simpleString() + ", found " + one.schema().simpleString() + " at " + p);
      }
      JavaRDD<Row> rows = one.javaRDD().coalesce(1);
      all = all == null ? rows : all.union(rows);
    }
    return spark.createDataFrame(all, schema);
  }

  /**
   * Each silo's own held-out rows: {@code [training, held out]}, both with the partitions of
   * {@code silos}, partition k of each holding only rows of silo k (about {@code fraction} of them
   * held out). Spark's {@code randomSplit}: each partition is sorted locally (so a recomputed
   * partition splits the same way) and sampled by (seed, partition); nothing moves. Partition k of the
   * held-out rows is silo k's local test set, as federated evaluation on clients' own data (Flower's
   * {@code evaluate}) uses it; see {@link FederatedConfig#siloValidation()}.
   */
  public static Dataset<Row>[] holdOut(Dataset<Row> silos, double fraction, long seed) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new IllegalArgumentException("silos.test_fraction: expected a fraction in (0, 1), found " + fraction);
    }
    return silos.randomSplit(new double[] {1 - fraction, fraction}, seed);
  }

  /** One silo per distinct value of {@code column} (sorted); moves rows once, and says so. */
  public static Dataset<Row> byColumn(Dataset<Row> df, String column) {
    List<Row> values = df.select(column).distinct().orderBy(column).collectAsList();
    Map<Object, Integer> index = new HashMap<>();
    for (Row r : values) index.put(r.get(0), index.size());
    int col = df.schema().fieldIndex(column);
    LOG.warn("sparktrain silos: moving rows once to build {} silos from column '{}' (simulation; data that"
        + " is already split needs no move)", index.size(), column);
    return exact(df, df.javaRDD().keyBy(r -> index.get(r.get(col))), index.size());
  }

  /**
   * Simulated silos from a labelled DataFrame:
   * IID (uniform), DIRICHLET (label skew: each class spread over silos by proportions drawn from
   * Dir(alpha), Hsu et al. 2019), SHARDS (rows sorted by label, cut into {@code k} shards per silo,
   * McMahan et al. 2017's pathological non-IID), QUANTITY (silo sizes from Dir(alpha), labels IID).
   * Moves rows once, and says so.
   *
   * @param param alpha for DIRICHLET and QUANTITY, labels (shards) per silo for SHARDS
   */
  public static Dataset<Row> partition(Dataset<Row> df, String labelCol, Split split, int silos, double param,
      long seed) {
    if (silos < 1) {
      throw new IllegalArgumentException("silos.count: expected >= 1, found " + silos);
    }
    int labelIdx = df.schema().fieldIndex(labelCol);
    LOG.warn("sparktrain silos: moving rows once to build {} simulated {} silos (param {})", silos,
        split.name().toLowerCase(Locale.ROOT), param);
    switch (split) {
      case IID:
        return exact(df, df.javaRDD().zipWithIndex().mapToPair(t -> new Tuple2<>(
            (int) Math.floorMod(Seeds.of(seed, t._2()), (long) silos), t._1())), silos);
      case QUANTITY: {
        double[] share = dirichlet(new SplittableRandom(seed), silos, param);
        double[] cdf = cumulative(share);
        return exact(df, df.javaRDD().zipWithIndex().mapToPair(t -> new Tuple2<>(
            pick(cdf, uniform(seed, t._2())), t._1())), silos);
      }
      case DIRICHLET: {
        int classes = maxLabel(df, labelCol) + 1;
        SplittableRandom rnd = new SplittableRandom(seed);
        double[][] cdf = new double[classes][];
        for (int c = 0; c < classes; c++) cdf[c] = cumulative(dirichlet(rnd, silos, param));
        return exact(df, df.javaRDD().zipWithIndex().mapToPair(t -> {
          int c = (int) ((Number) t._1().get(labelIdx)).doubleValue();
          return new Tuple2<>(pick(cdf[c], uniform(seed, t._2())), t._1());
        }), silos);
      }
      case SHARDS: {
        int perSilo = (int) param;
        if (perSilo < 1) {
          throw new IllegalArgumentException("silos.shards_per_silo: expected >= 1, found " + param);
        }
        int shards = silos * perSilo;
        long n = df.count();
        long shardSize = Math.max(1, (n + shards - 1) / shards);
        int[] owner = new int[shards];
        for (int i = 0; i < shards; i++) owner[i] = i / perSilo;
        shuffle(owner, new SplittableRandom(seed));
        // Sort by (label, a seeded hash) so that each shard holds one or two labels.
        JavaRDD<Row> sorted = df.javaRDD().zipWithIndex().map(t -> t)
            .sortBy(t -> ((Number) t._1().get(labelIdx)).doubleValue() * 1e12
                + Math.floorMod(Seeds.of(seed, t._2()), 1_000_000_000_000L) / 1.0, true, df.rdd()
                .getNumPartitions())
            .map(t -> t._1());
        return exact(df, sorted.zipWithIndex().mapToPair(t -> new Tuple2<>(
            owner[(int) Math.min(shards - 1, t._2() / shardSize)], t._1())), silos);
      }
      default:
        throw new AssertionError(split);
    }
  }

  private static int maxLabel(Dataset<Row> df, String labelCol) {
    Object m = df.agg(org.apache.spark.sql.functions.max(labelCol)).first().get(0);
    return (int) ((Number) m).doubleValue();
  }

  /** Rows keyed by silo index into exactly {@code silos} partitions, partition i = silo i. */
  private static Dataset<Row> exact(Dataset<Row> df, JavaPairRDD<Integer, Row> keyed, int silos) {
    JavaRDD<Row> rows = keyed.partitionBy(new ExactPartitioner(silos)).values();
    return df.sparkSession().createDataFrame(rows, df.schema());
  }

  /** Key i goes to partition i. */
  static final class ExactPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int n;

    ExactPartitioner(int n) {
      this.n = n;
    }

    @Override
    public int numPartitions() {
      return n;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }
  }

  static double uniform(long seed, long i) {
    return (Seeds.of(seed, i, Seeds.SILO_ROW_UNIFORM) >>> 11) * 0x1.0p-53;
  }

  static int pick(double[] cdf, double u) {
    for (int i = 0; i < cdf.length; i++) {
      if (u < cdf[i]) {
        return i;
      }
    }
    return cdf.length - 1;
  }

  static double[] cumulative(double[] p) {
    double[] c = new double[p.length];
    double s = 0;
    for (int i = 0; i < p.length; i++) {
      s += p[i];
      c[i] = s;
    }
    for (int i = 0; i < c.length; i++) c[i] /= s;
    return c;
  }

  /** A draw from Dirichlet(alpha, ..., alpha) via normalised Gamma(alpha) draws (Marsaglia-Tsang). */
  static double[] dirichlet(SplittableRandom rnd, int k, double alpha) {
    if (!(alpha > 0)) {
      throw new IllegalArgumentException("silos.alpha: expected > 0, found " + alpha);
    }
    double[] g = new double[k];
    double s = 0;
    for (int i = 0; i < k; i++) {
      g[i] = gamma(rnd, alpha);
      s += g[i];
    }
    for (int i = 0; i < k; i++) g[i] = s > 0 ? g[i] / s : 1.0 / k;
    return g;
  }

  static double gamma(SplittableRandom rnd, double a) {
    if (a < 1) {
      double u = rnd.nextDouble();
      return gamma(rnd, 1 + a) * Math.pow(u, 1 / a);
    }
    double d = a - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x = normal(rnd);
      double v = 1 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = rnd.nextDouble();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
        return d * v;
      }
    }
  }

  static double normal(SplittableRandom rnd) {
    double u1 = 1.0 - rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  private static void shuffle(int[] a, SplittableRandom rnd) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  public static final StructType SYNTHETIC_SCHEMA = new StructType()
      .add("features", new VectorUDT(), false)
      .add("label", DataTypes.DoubleType, false);

  /**
   * FedProx's Synthetic(alpha, beta): for device k, u_k ~ N(0, alpha), B_k ~ N(0, beta);
   * W_k (10 x 60) and b_k ~ N(u_k, 1); v_k[j] ~ N(B_k, 1); x ~ N(v_k, diag(j^-1.2));
   * y = argmax(W_k x + b_k); device sizes lognormal(4, 2) + 50, as in the paper's generator.
   * One partition per device, generated where it lives: no rows move.
   */
  public static Dataset<Row> synthetic(SparkSession spark, double alpha, double beta, int devices, long seed) {
    return synthetic(spark, alpha, beta, devices, 0, seed);
  }

  /**
   * As {@link #synthetic(SparkSession, double, double, int, long)}, with {@code perDevice} rows on
   * every device instead of the paper's lognormal sizes when {@code perDevice > 0} (equal work per device, e.g.
   * to time rounds at different silo counts); the devices' models and features are drawn as there.
   */
  public static Dataset<Row> synthetic(SparkSession spark, double alpha, double beta, int devices, int perDevice,
      long seed) {
    if (devices < 1 || perDevice < 0) {
      throw new IllegalArgumentException("silos.synthetic: expected devices >= 1 and rows >= 0, found " + devices
          + " and " + perDevice);
    }
    int dim = 60;
    int classes = 10;
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < devices; i++) ids.add(i);
    JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(ids, devices)
        .flatMap(k -> {
          SplittableRandom rnd = new SplittableRandom(Seeds.of(seed, k));
          int n = (int) Math.exp(4 + 2 * normal(rnd)) + 50; // drawn either way: the same devices otherwise
          n = perDevice > 0 ? perDevice : Math.min(n, 20_000);
          double u = Math.sqrt(alpha) * normal(rnd);
          double bk = Math.sqrt(beta) * normal(rnd);
          double[][] w = new double[classes][dim];
          double[] b = new double[classes];
          for (int c = 0; c < classes; c++) {
            for (int j = 0; j < dim; j++) w[c][j] = u + normal(rnd);
            b[c] = u + normal(rnd);
          }
          double[] v = new double[dim];
          for (int j = 0; j < dim; j++) v[j] = bk + normal(rnd);
          List<Row> out = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            double[] x = new double[dim];
            for (int j = 0; j < dim; j++) x[j] = v[j] + Math.pow(j + 1, -0.6) * normal(rnd);
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
              double s = b[c];
              for (int j = 0; j < dim; j++) s += w[c][j] * x[j];
              if (s > bestScore) {
                bestScore = s;
                best = c;
              }
            }
            out.add(RowFactory.create(Vectors.dense(x), (double) best));
          }
          return out.iterator();
        });
    return spark.createDataFrame(rows, SYNTHETIC_SCHEMA);
  }
}
