package io.sparktrain.train;

import static io.sparktrain.train.TrainerTest.assertArrayClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
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
 * SparseVector features on a real local[2] Spark: they decode into CSR blocks whose cached size
 * follows the nonzeros, and every training path (sync on both engines, average, validation) gives
 * the parameters and metrics of the same rows as DenseVectors.
 */
class SparseInputTest {
  private static final int DIM = 2000;
  private static SparkSession spark;
  private static TrainingData sparse;
  private static TrainingData dense;
  private static long nonzeros;
  private static Dataset<Row> sparseDf;
  private static Dataset<Row> denseDf;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "SparseInputTest");
    Random r = new Random(4);
    List<Row> sparseRows = new ArrayList<>();
    List<Row> denseRows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      TreeMap<Integer, Double> nz = new TreeMap<>();
      while (nz.size() < 6) nz.put(r.nextInt(DIM), r.nextGaussian());
      nz.put(i % 3, 2.0); // the label's own feature, so there is something to learn
      int[] idx = nz.keySet().stream().mapToInt(Integer::intValue).toArray();
      double[] val = nz.values().stream().mapToDouble(Double::doubleValue).toArray();
      nonzeros += idx.length;
      sparseRows.add(RowFactory.create(Vectors.sparse(DIM, idx, val), (double) (i % 3)));
      denseRows.add(RowFactory.create(Vectors.sparse(DIM, idx, val).toDense(), (double) (i % 3)));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(3);
    sparseDf = spark.createDataFrame(jsc.parallelize(sparseRows, 2), schema);
    denseDf = spark.createDataFrame(jsc.parallelize(denseRows, 2), schema);
    sparse = TrainingData.decode(sparseDf, spec);
    dense = TrainingData.decode(denseDf, spec);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Network net() {
    return Network.builder(DIM).dense(16, Activation.RELU, 0.1f).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  @Test
  void sparseVectorsDecodeIntoCsrBlocksSizedByTheirNonzeros() {
    assertEquals(2, sparse.sparsePartitions());
    assertEquals(0, dense.sparsePartitions());
    assertEquals(nonzeros, sparse.nonzeros());
    List<Block> blocks = sparse.blocks().collect();
    assertTrue(blocks.stream().allMatch(Block::isSparse));
    // Values, column indices, row pointers and labels: 4 bytes each.
    assertEquals(4L * (2 * nonzeros + (300 + 2) + 300), sparse.cachedBytes());
    assertTrue(dense.cachedBytes() > 100 * sparse.cachedBytes(), dense.cachedBytes() + " vs " + sparse.cachedBytes());
  }

  @Test
  void transformScoresSparseVectorsLikeTheirDenseTwins() {
    TrainResult r = new Trainer(net(), TrainConfig.builder().epochs(2).batchSize(32).seed(9).build()).fit(sparse, null);
    NeuralNetClassificationModel model = NeuralNetClassificationModel.of(net(), r.params());
    List<Row> s = model.transform(sparseDf).select("probability", "prediction").collectAsList();
    List<Row> d = model.transform(denseDf).select("probability", "prediction").collectAsList();
    assertEquals(d.size(), s.size());
    for (int i = 0; i < d.size(); i++) {
      double[] ps = ((Vector) s.get(i).get(0)).toArray();
      double[] pd = ((Vector) d.get(i).get(0)).toArray();
      for (int k = 0; k < pd.length; k++) assertEquals(pd[k], ps[k], 1e-6, "row " + i + " class " + k);
      assertEquals(d.get(i).getDouble(1), s.get(i).getDouble(1), 0.0);
    }
  }

  @Test
  void everyTrainingPathGivesTheDenseResultOnSparseRows() {
    TrainConfig.Builder base = TrainConfig.builder().epochs(3).batchSize(32).seed(9)
        .optimizer(OptimizerSpec.adam().learningRate(0.01).build());
    for (TrainConfig.Builder cfg : List.of(base.mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.COLLECTIVE),
        TrainConfig.builder().epochs(3).batchSize(32).seed(9).optimizer(OptimizerSpec.adam().learningRate(0.01)
            .build()).mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.DRIVER).maxRounds(12),
        TrainConfig.builder().epochs(3).batchSize(16).localSteps(4).seed(9).mode(Mode.AVERAGE)
            .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()))) {
      TrainConfig c = cfg.build();
      TrainResult s = new Trainer(net(), c).fit(sparse, sparse);
      TrainResult d = new Trainer(net(), c).fit(dense, dense);
      assertEquals(d.rounds(), s.rounds());
      assertArrayClose(d.params(), s.params(), 1e-5);
      assertEquals(d.finalValidation().get("val_loss"), s.finalValidation().get("val_loss"), 1e-5);
      assertEquals(d.finalValidation().get("val_accuracy"), s.finalValidation().get("val_accuracy"), 1e-9);
      float[] init = net().initParameters(9);
      double moved = 0;
      for (int i = 0; i < init.length; i++) moved = Math.max(moved, Math.abs(init[i] - s.params()[i]));
      assertTrue(moved > 1e-3, c.mode() + ": the parameters must move");
    }
  }
}
