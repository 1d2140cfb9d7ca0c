package io.sparktrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Standardization statistics on a real local[2] Spark: the one-pass distributed means and
 * variances equal a plain two-pass computation on the driver, whatever the partitioning; zero
 * variance scales by 1; sparse data is scaled by 1/max|x| (MaxAbsScaler), never centred, and stays sparse.
 */
class InputScalingTest {
  private static SparkSession spark;
  /** Unscaled columns, as real tables have them: one in the thousands, one constant, one tiny. */
  private static final List<double[]> ROWS = new ArrayList<>();

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "InputScalingTest");
    Random r = new Random(11);
    for (int i = 0; i < 257; i++) {
      ROWS.add(new double[] {1000 + 300 * r.nextGaussian(), 7.0, 1e-3 * r.nextGaussian(), r.nextInt(5) - 2});
    }
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static TrainingData decode(int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < ROWS.size(); i++) rows.add(RowFactory.create(Vectors.dense(ROWS.get(i)), (double) (i % 2)));
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    Dataset<Row> df = spark.createDataFrame(rows, schema).coalesce(1);
    if (partitions > 1) {
      df = df.repartition(partitions);
    }
    return TrainingData.decode(df, InputSpec.classification("features", "label"));
  }

  /** The driver-side reference: the float features (as decoded), two passes in double, population variance. */
  private static double[][] twoPass() {
    int d = ROWS.get(0).length;
    double[] mean = new double[d];
    double[] var = new double[d];
    for (double[] x : ROWS) {
      for (int j = 0; j < d; j++) mean[j] += (float) x[j];
    }
    for (int j = 0; j < d; j++) mean[j] /= ROWS.size();
    for (double[] x : ROWS) {
      for (int j = 0; j < d; j++) var[j] += ((float) x[j] - mean[j]) * ((float) x[j] - mean[j]);
    }
    for (int j = 0; j < d; j++) var[j] /= ROWS.size();
    return new double[][] {mean, var};
  }

  @Test
  void meansAndVariancesEqualATwoPassComputationOnTheDriverForOneAndFivePartitions() {
    double[][] ref = twoPass();
    for (int partitions : new int[] {1, 5}) {
      TrainingData td = decode(partitions);
      try {
        assertEquals(partitions, td.numPartitions());
        InputScaling.Moments m = td.featureMoments(2);
        assertEquals(ROWS.size(), m.count());
        for (int j = 0; j < 4; j++) {
          assertEquals(ref[0][j], m.mean()[j], 1e-9 * Math.max(1, Math.abs(ref[0][j])), "mean of feature " + j);
          assertEquals(ref[1][j], m.variance()[j], 1e-9 * Math.max(1e-12, ref[1][j]), "variance of feature " + j);
        }
        InputScaling s = td.fitScaling(2);
        assertFalse(s.scaleOnly());
        for (int j = 0; j < 4; j++) {
          assertEquals((float) ref[0][j], s.shift()[j], "shift " + j);
          float expected = ref[1][j] > 0 ? (float) (1 / Math.sqrt(ref[1][j])) : 1f;
          assertEquals(expected, s.scale()[j], Math.ulp(expected) * 2, "scale " + j);
        }
        assertEquals(1f, s.scale()[1], "a constant feature (zero variance) is scaled by 1");
      } finally {
        td.unpersist();
      }
    }
  }

  @Test
  void scaledBlocksHaveMeanZeroAndVarianceOneExceptConstantFeatures() {
    TrainingData td = decode(3);
    InputScaling s = td.fitScaling(2);
    TrainingData scaled = td.scaled(s);
    try {
      InputScaling.Moments m = scaled.featureMoments(2);
      for (int j = 0; j < 4; j++) {
        assertEquals(0, m.mean()[j], 1e-5, "mean of scaled feature " + j);
        assertEquals(j == 1 ? 0 : 1, m.variance()[j], 1e-4, "variance of scaled feature " + j);
      }
      assertEquals(td.rows(), scaled.rows());
      assertArrayEquals(td.partitionRows(), scaled.partitionRows());
    } finally {
      scaled.unpersist();
      td.unpersist();
    }
  }

  @Test
  void sparseDataIsScaledButNotCentredAndStaysSparse() {
    int dim = 50;
    Random r = new Random(3);
    List<Row> rows = new ArrayList<>();
    double[][] dense = new double[120][dim];
    for (int i = 0; i < dense.length; i++) {
      TreeMap<Integer, Double> nz = new TreeMap<>();
      while (nz.size() < 4) nz.put(r.nextInt(dim - 1), 10 + 5 * r.nextGaussian()); // the last column: all zero
      nz.forEach((k, v) -> dense[rows.size()][k] = v);
      rows.add(RowFactory.create(Vectors.sparse(dim, nz.keySet().stream().mapToInt(Integer::intValue).toArray(),
          nz.values().stream().mapToDouble(Double::doubleValue).toArray()), (double) (i % 2)));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    TrainingData td = TrainingData.decode(spark.createDataFrame(rows, schema).repartition(2),
        InputSpec.classification("features", "label"));
    try {
      assertTrue(td.sparsePartitions() > 0);
      InputScaling s = td.fitScaling(2);
      assertTrue(s.scaleOnly(), "sparse data: no centring");
      assertEquals(1f, s.scale()[dim - 1], "an all-zero column is scaled by 1");
      for (int j = 0; j < dim - 1; j++) {
        // scikit-learn's MaxAbsScaler: 1 / max |x| of the decoded floats.
        double max = 0;
        for (double[] x : dense) max = Math.max(max, Math.abs((float) x[j]));
        float expected = max > 0 ? (float) (1 / max) : 1f;
        assertEquals(expected, s.scale()[j], Math.ulp(expected) * 2, "scale of sparse feature " + j);
      }
      TrainingData scaled = td.scaled(s);
      try {
        List<Block> before = td.blocks().collect();
        List<Block> after = scaled.blocks().collect();
        for (int p = 0; p < before.size(); p++) {
          Block a = before.get(p);
          Block b = after.get(p);
          assertTrue(b.isSparse(), "a scaled CSR block stays CSR");
          assertArrayEquals(a.cols(), b.cols());
          assertArrayEquals(a.rowPtr(), b.rowPtr());
          for (int k = 0; k < a.features().length; k++) {
            assertEquals(a.features()[k] * s.scale()[a.cols()[k]], b.features()[k], "value " + k);
          }
        }
      } finally {
        scaled.unpersist();
      }
    } finally {
      td.unpersist();
    }
  }

  @Test
  void mergingIsOrderIndependentAndEmptySidesAreNeutral() {
    TrainingData td = decode(4);
    try {
      List<Block> blocks = td.blocks().collect();
      InputScaling.Moments forward = new InputScaling.Moments();
      for (Block b : blocks) forward.merge(InputScaling.Moments.of(b));
      InputScaling.Moments backward = new InputScaling.Moments().merge(new InputScaling.Moments());
      for (int p = blocks.size() - 1; p >= 0; p--) backward.merge(InputScaling.Moments.of(blocks.get(p)));
      backward.merge(new InputScaling.Moments());
      assertEquals(forward.count(), backward.count());
      assertArrayEquals(forward.mean(), backward.mean(), 1e-9);
      assertArrayEquals(forward.variance(), backward.variance(), 1e-6);
      InputScaling s = InputScaling.of(forward);
      assertEquals(s, InputScaling.decode(s.encode()), "the checkpoint text form round-trips");
    } finally {
      td.unpersist();
    }
  }
}
