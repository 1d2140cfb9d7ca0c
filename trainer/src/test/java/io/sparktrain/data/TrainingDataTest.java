package io.sparktrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.Trainer;
import java.util.Arrays;
import java.util.List;
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
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/** Decoding and every bad-input case: each error names the column, expected, found and where. */
class TrainingDataTest {
  private static SparkSession spark;
  private static final StructType VEC = new StructType().add("features", new VectorUDT())
      .add("label", DataTypes.DoubleType).add("w", DataTypes.DoubleType);

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "TrainingDataTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private Dataset<Row> vec(int partitions, Row... rows) {
    return spark.createDataFrame(spark.sparkContext().parallelize(
        CollectionConverters.asScala(Arrays.asList(rows)).toSeq(), partitions,
        ClassTag$.MODULE$.apply(Row.class)), VEC);
  }

  private static Row r(double[] x, double label, double w) {
    return RowFactory.create(Vectors.dense(x), label, w);
  }

  private String error(Dataset<Row> df, InputSpec spec) {
    return assertThrows(InvalidInputException.class, () -> TrainingData.decode(df, spec)).getMessage();
  }

  private static final InputSpec CLS = InputSpec.classification("features", "label");

  @Test
  void decodesDenseSparseArraysAndColumnsAlike() {
    Dataset<Row> dense = vec(2, r(new double[] {1, 0, 3}, 0, 1), r(new double[] {0, 2, 0}, 2, 1),
        r(new double[] {4, 5, 6}, 1, 1));
    StructType sparseSchema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.IntegerType);
    Dataset<Row> sparse = spark.createDataFrame(List.of(
        RowFactory.create(Vectors.sparse(3, new int[] {0, 2}, new double[] {1, 3}), 0),
        RowFactory.create(Vectors.sparse(3, new int[] {1}, new double[] {2}), 2),
        RowFactory.create(Vectors.dense(4, 5, 6), 1)), sparseSchema);
    StructType arraySchema = new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType))
        .add("label", DataTypes.LongType);
    Dataset<Row> arrays = spark.createDataFrame(List.of(
        RowFactory.create(new float[] {1, 0, 3}, 0L), RowFactory.create(new float[] {0, 2, 0}, 2L),
        RowFactory.create(new float[] {4, 5, 6}, 1L)), arraySchema);
    StructType colsSchema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.IntegerType)
        .add("c", DataTypes.FloatType).add("label", DataTypes.ShortType);
    Dataset<Row> cols = spark.createDataFrame(List.of(
        RowFactory.create(1.0, 0, 3f, (short) 0), RowFactory.create(0.0, 2, 0f, (short) 2),
        RowFactory.create(4.0, 5, 6f, (short) 1)), colsSchema);
    float[] expectedX = {1, 0, 3, 0, 2, 0, 4, 5, 6};
    float[] expectedY = {0, 2, 1};
    TrainingData csr = TrainingData.decode(sparse, CLS);
    for (TrainingData td : List.of(TrainingData.decode(dense, CLS), csr,
        TrainingData.decode(arrays, CLS), TrainingData.decode(cols, CLS.withFeatureColumns("a", "b", "c")))) {
      assertEquals(3, td.numFeatures());
      assertEquals(3, td.numClasses());
      assertEquals(3, td.rows());
      List<Block> blocks = td.blocks().collect();
      float[] x = new float[0];
      float[] y = new float[0];
      for (Block b : blocks) {
        x = concat(x, denseFeatures(b));
        y = concat(y, b.labels());
        assertNull(b.weights());
      }
      assertArrayEquals(expectedX, x);
      // SparseVectors stay sparse (CSR blocks); the other inputs are dense.
      assertEquals(td == csr, blocks.stream().anyMatch(Block::isSparse));
      assertEquals(td == csr, td.sparsePartitions() > 0);
      assertArrayEquals(expectedY, y);
      td.unpersist();
    }
  }

  /** The block's features as dense rows (CSR blocks expanded). */
  private static float[] denseFeatures(Block b) {
    if (!b.isSparse()) {
      return b.features();
    }
    float[] x = new float[b.rows() * b.inputs()];
    for (int r = 0; r < b.rows(); r++) {
      for (int k = b.rowPtr()[r]; k < b.rowPtr()[r + 1]; k++) x[r * b.inputs() + b.cols()[k]] = b.features()[k];
    }
    return x;
  }

  private static float[] concat(float[] a, float[] b) {
    float[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  @Test
  void emptyPartitionsAreFineAndWeightsAndRegressionArraysDecode() {
    Dataset<Row> df = vec(5, r(new double[] {1, 2}, 1, 0.5), r(new double[] {3, 4}, 0, 2));
    TrainingData td = TrainingData.decode(df, CLS.withWeightCol("w"));
    assertEquals(5, td.numPartitions());
    assertEquals(2, td.rows());
    assertEquals(2.5, td.weightSum(), 1e-9);
    td.unpersist();
    StructType s = new StructType().add("features", new VectorUDT())
        .add("y", DataTypes.createArrayType(DataTypes.DoubleType));
    Dataset<Row> reg = spark.createDataFrame(List.of(RowFactory.create(Vectors.dense(1, 2), new double[] {3, 4})), s);
    TrainingData rd = TrainingData.decode(reg, InputSpec.regression("features", "y"));
    assertEquals(2, rd.labelWidth());
    assertEquals(0, rd.numClasses());
    rd.unpersist();
  }

  @Test
  void missingColumnsAndWrongTypes() {
    Dataset<Row> df = vec(1, r(new double[] {1, 2}, 1, 1));
    assertEquals("label column 'lbl': not found; the DataFrame has columns [features, label, w]",
        error(df, InputSpec.classification("features", "lbl")));
    assertTrue(error(df, CLS.withWeightCol("weight")).startsWith("weight column 'weight': not found"));
    Dataset<Row> strings = df.withColumn("label", df.col("label").cast("string"));
    assertEquals("label column 'label': expected a numeric class index 0..K-1, found string", error(strings, CLS));
    Dataset<Row> textFeatures = df.withColumn("features", org.apache.spark.sql.functions.lit("x"));
    assertEquals("features column 'features': expected a Vector or array<float|double> (or several numeric"
        + " columns), found string", error(textFeatures, CLS));
    Dataset<Row> textWeight = df.withColumn("w", org.apache.spark.sql.functions.lit("x"));
    assertEquals("weight column 'w': expected a numeric type, found string", error(textWeight, CLS.withWeightCol("w")));
  }

  @Test
  void vectorsOfDifferentSizes() {
    Dataset<Row> within = vec(1, r(new double[] {1, 2, 3}, 0, 1), r(new double[] {1, 2}, 1, 1));
    assertEquals("features column 'features': expected 3 values (the size of the first row of this partition),"
        + " found 2 at partition 0 row 1", error(within, CLS));
    Dataset<Row> across = vec(2, r(new double[] {1, 2, 3}, 0, 1), r(new double[] {1, 2}, 1, 1));
    assertEquals("features column 'features': vectors of different sizes: partition 0 has 3, partition 1 has 2",
        error(across, CLS));
    assertEquals("features column 'features': expected 2 values (numFeatures), found 3 at partition 0 row 0",
        error(within, CLS.withNumFeatures(2)));
  }

  @Test
  void nonFiniteValues() {
    assertEquals("features column 'features': expected finite values, found NaN at partition 0 row 1",
        error(vec(1, r(new double[] {1, 2}, 0, 1), r(new double[] {1, Double.NaN}, 1, 1)), CLS));
    assertEquals("label column 'label': expected finite values, found Infinity at partition 0 row 0",
        error(vec(1, r(new double[] {1, 2}, Double.POSITIVE_INFINITY, 1)), CLS));
    assertEquals("weight column 'w': expected finite values, found NaN at partition 0 row 0",
        error(vec(1, r(new double[] {1, 2}, 0, Double.NaN)), CLS.withWeightCol("w")));
  }

  @Test
  void badLabelsAndWeights() {
    Dataset<Row> df = vec(1, r(new double[] {1, 2}, 0, 1), r(new double[] {1, 2}, 5, 1));
    assertEquals("label column 'label': expected a class index in 0..2, found 5 at partition 0 row 1",
        error(df, CLS.withNumClasses(3)));
    assertEquals("label column 'label': expected an integral class index >= 0, found 1.5 at partition 0 row 0",
        error(vec(1, r(new double[] {1, 2}, 1.5, 1)), CLS));
    assertEquals("label column 'label': expected an integral class index >= 0, found -1.0 at partition 0 row 0",
        error(vec(1, r(new double[] {1, 2}, -1, 1)), CLS));
    assertEquals("weight column 'w': expected a weight >= 0, found -0.5 at partition 0 row 0",
        error(vec(1, r(new double[] {1, 2}, 1, -0.5)), CLS.withWeightCol("w")));
    StructType s = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    Dataset<Row> nulls = spark.createDataFrame(List.of(RowFactory.create(null, 1.0)), s);
    assertEquals("features column 'features': expected a vector, found null at partition 0 row 0", error(nulls, CLS));
  }

  @Test
  void emptyDatasetAndNetworkMismatch() {
    Dataset<Row> empty = spark.createDataFrame(List.of(), VEC);
    assertTrue(error(empty, CLS).startsWith("training data has no rows ("), error(empty, CLS));
    // A filter that leaves nothing: the same sentence.
    Dataset<Row> none = vec(2, r(new double[] {1, 2}, 0, 1), r(new double[] {3, 4}, 1, 1)).filter("label > 5");
    assertTrue(error(none, CLS).startsWith("training data has no rows ("), error(none, CLS));
    TrainingData td = TrainingData.decode(vec(2, r(new double[] {1, 2}, 0, 1), r(new double[] {3, 4}, 3, 1)), CLS);
    Network wide = Network.builder(3).dense(4, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Network fewClasses = Network.builder(2).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    TrainConfig cfg = TrainConfig.builder().epochs(1).build();
    assertEquals("training data features: expected 3 values per row (the input width of layer 0), found 2",
        assertThrows(InvalidInputException.class, () -> new Trainer(wide, cfg).fit(td, null)).getMessage());
    assertEquals("training data label column 'label': expected class indices 0..2 (the output layer has 3 units),"
        + " found 4 classes",
        assertThrows(InvalidInputException.class, () -> new Trainer(fewClasses, cfg).fit(td, null)).getMessage());
    td.unpersist();
  }
}
