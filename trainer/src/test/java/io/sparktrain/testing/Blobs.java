package io.sparktrain.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/** Three Gaussian blobs in 4-D, the small classification problem of the Spark tests. */
public final class Blobs {
  /** (features, label). */
  public static final StructType PLAIN = new StructType().add("features", new VectorUDT())
      .add("label", DataTypes.DoubleType);
  /** (features, label, weight). */
  public static final StructType WEIGHTED = PLAIN.add("weight", DataTypes.DoubleType);

  private Blobs() {
  }

  /** {@code n} rows of the {@link #PLAIN} or {@link #WEIGHTED} schema, from {@code seed}. */
  public static List<Row> rows(int n, long seed, boolean weighted) {
    Random r = new Random(seed);
    double[][] centres = {{2, 0, 0, 1}, {-1, 2, 0, -1}, {-1, -2, 1, 0}};
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = r.nextInt(3);
      double[] x = new double[4];
      for (int j = 0; j < 4; j++) x[j] = centres[k][j] + 0.8 * r.nextGaussian();
      rows.add(weighted ? RowFactory.create(Vectors.dense(x), (double) k, 0.5 + r.nextDouble())
          : RowFactory.create(Vectors.dense(x), (double) k));
    }
    return rows;
  }

  /** The rows in exactly {@code partitions} partitions, in order (partition 0 first). */
  public static Dataset<Row> frame(SparkSession spark, List<Row> rows, int partitions, StructType schema) {
    return spark.createDataFrame(spark.sparkContext().parallelize(
        CollectionConverters.asScala(rows).toSeq(), partitions,
        ClassTag$.MODULE$.apply(Row.class)), schema);
  }
}
