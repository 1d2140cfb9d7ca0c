package io.sparktrain.examples;

import static org.apache.spark.ml.functions.vector_to_array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.xxhash64;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;

/**
 * The data sets of the pretraining benchmark (scripts/pretrain.py), from a labeled Parquet set such
 * as Fashion-MNIST's train.parquet:
 *
 * <ul>
 *   <li>{@code --per-class K --seed S IN OUT}: a stratified subset, the K rows of each label with the
 *       smallest xxhash64(S, pixels, label): the same rows whatever the files' order or partitioning
 *       (identical images of one label are interchangeable), written in the order of that hash;
 *   <li>{@code --features-only IN OUT}: the features column alone, the unlabeled rows.
 * </ul>
 */
public final class LabeledSubset {
  private LabeledSubset() {
  }

  public static void main(String[] args) {
    boolean featuresOnly = args.length == 3 && args[0].equals("--features-only");
    boolean subset = args.length == 6 && args[0].equals("--per-class") && args[2].equals("--seed");
    if (!featuresOnly && !subset) {
      System.err.println("usage: LabeledSubset --per-class K --seed S <in.parquet> <out.parquet>\n"
          + "       LabeledSubset --features-only <in.parquet> <out.parquet>");
      System.exit(2);
    }
    SparkSession spark = SparkSession.builder().master("local[2]").appName("labeled-subset")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    try {
      String in = args[args.length - 2];
      String out = args[args.length - 1];
      Dataset<Row> df = spark.read().parquet(in);
      Dataset<Row> result;
      if (featuresOnly) {
        result = df.select("features");
      } else {
        int k = Integer.parseInt(args[1]);
        long seed = Long.parseLong(args[3]);
        Dataset<Row> keyed = df.withColumn("key", xxhash64(lit(seed), vector_to_array(col("features"), "float64"),
            col("label")));
        result = keyed.withColumn("rank", row_number().over(Window.partitionBy("label").orderBy("key")))
            .where(col("rank").leq(k)).orderBy("key").drop("rank", "key");
      }
      result.coalesce(1).write().mode(SaveMode.Overwrite).parquet(out);
      Dataset<Row> written = spark.read().parquet(out);
      System.out.println("wrote " + written.count() + " rows to " + out + (featuresOnly ? " (features only)"
          : ", per label: " + written.groupBy("label").count().orderBy("label").collectAsList()));
    } finally {
      spark.stop();
    }
  }
}
