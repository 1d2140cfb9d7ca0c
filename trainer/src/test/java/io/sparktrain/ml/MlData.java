package io.sparktrain.ml;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Small synthetic data sets for the ml tests. */
final class MlData {
  private MlData() {
  }

  static final String[] COLS = {"x0", "x1", "x2", "x3"};

  /** Three Gaussian blobs in 4-D as columns x0..x3 (scaled differently), label, weight 1. */
  static Dataset<Row> blobs(SparkSession spark, int n, long seed, int partitions) {
    Random r = new Random(seed);
    double[][] centres = {{2, 0, 0, 1}, {-1, 2, 0, -1}, {-1, -2, 1, 0}};
    double[] scale = {1, 10, 0.1, 3};
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = r.nextInt(3);
      Object[] v = new Object[6];
      for (int j = 0; j < 4; j++) v[j] = scale[j] * (centres[k][j] + 0.6 * r.nextGaussian());
      v[4] = (double) k;
      v[5] = 1.0;
      rows.add(RowFactory.create(v));
    }
    StructType schema = new StructType();
    for (String c : COLS) schema = schema.add(c, DataTypes.DoubleType);
    schema = schema.add("label", DataTypes.DoubleType).add("weight", DataTypes.DoubleType);
    return spark.createDataFrame(rows, schema).repartition(partitions);
  }

  /** Fraction of rows whose prediction equals the label. */
  static double accuracy(Dataset<Row> predictions) {
    List<Row> rows = predictions.select("label", "prediction").collectAsList();
    long ok = rows.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count();
    return (double) ok / rows.size();
  }

  static double[] values(Row r, String col) {
    return ((Vector) r.getAs(col)).toArray();
  }
}
