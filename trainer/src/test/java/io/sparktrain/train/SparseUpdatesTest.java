package io.sparktrain.train;

import static io.sparktrain.train.TrainerTest.assertArrayClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedResult;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sparse updates on a real local[2] Spark, 2^14 inputs (a first kernel of 2^14 x 16 floats, 1 MiB)
 * and 7 nonzeros a row: the collective all-reduce sends the touched rows, the driver engine's and the
 * federated silos' uploads are row-sparse, and each still gives the parameters of the dense
 * exchange (the DenseVector twins, or lazy_adam on the other engine).
 */
class SparseUpdatesTest {
  private static final int DIM = 1 << 14;
  private static SparkSession spark;
  private static TrainingData sparse;
  private static TrainingData dense;

  @BeforeAll
  static void start() {
    // Kryo, as conf/spark-defaults.conf sets it: the row-sparse wire forms must survive it.
    spark = Spark.kryoSession("local[2]", "SparseUpdatesTest");
    Random r = new Random(11);
    List<Row> sparseRows = new ArrayList<>();
    List<Row> denseRows = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      TreeMap<Integer, Double> nz = new TreeMap<>();
      while (nz.size() < 6) nz.put(3 + r.nextInt(DIM - 3), r.nextGaussian());
      nz.put(i % 3, 2.0);
      int[] idx = nz.keySet().stream().mapToInt(Integer::intValue).toArray();
      double[] val = nz.values().stream().mapToDouble(Double::doubleValue).toArray();
      sparseRows.add(RowFactory.create(Vectors.sparse(DIM, idx, val), (double) (i % 3)));
      denseRows.add(RowFactory.create(Vectors.sparse(DIM, idx, val).toDense(), (double) (i % 3)));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(3);
    sparse = TrainingData.decode(spark.createDataFrame(jsc.parallelize(sparseRows, 2), schema), spec);
    dense = TrainingData.decode(spark.createDataFrame(jsc.parallelize(denseRows, 2), schema), spec);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Network net() {
    return Network.builder(DIM).dense(16, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  private static double number(Map<String, Object> m, String key) {
    assertNotNull(m.get(key), key + " in " + m);
    return ((Number) m.get(key)).doubleValue();
  }

  @Test
  void theCollectiveAllReduceSendsTouchedRowsAndGivesTheDenseResult() {
    TrainConfig c = TrainConfig.builder().epochs(2).batchSize(32).seed(3).mode(Mode.SYNC)
        .syncEngine(TrainConfig.SyncEngine.COLLECTIVE).optimizer(OptimizerSpec.adam().learningRate(0.01).build())
        .build();
    Trainer ts = new Trainer(net(), c);
    TrainResult s = ts.fit(sparse, null);
    Trainer td = new Trainer(net(), c);
    TrainResult d = td.fit(dense, null);
    assertArrayClose(d.params(), s.params(), 1e-5);
    Map<String, Object> ps = ts.collectiveProfile();
    Map<String, Object> pd = td.collectiveProfile();
    assertEquals(number(ps, "steps"), number(ps, "row_sparse_steps"), 0.0, "every step row-sparse: " + ps);
    assertNull(pd.get("row_sparse_steps"), "dense inputs use the plain ring: " + pd);
    // 2 x 32 rows x 7 nonzeros touch at most 448 of 16,384 rows: far fewer bytes than the dense ring.
    double ratio = number(ps, "bytes_sent_per_step") / number(pd, "bytes_sent_per_step");
    assertTrue(ratio < 0.1, "row-sparse bytes per step / dense: " + ratio);
  }

  @Test
  void lazyAdamGivesTheSameParametersOnBothEngines() {
    TrainConfig.Builder b = TrainConfig.builder().epochs(1).batchSize(32).seed(5).mode(Mode.SYNC).maxRounds(6)
        .optimizer(OptimizerSpec.lazyAdam().learningRate(0.01).build());
    TrainResult collective = new Trainer(net(), b.syncEngine(TrainConfig.SyncEngine.COLLECTIVE).build())
        .fit(sparse, null);
    Trainer driver = new Trainer(net(), b.syncEngine(TrainConfig.SyncEngine.DRIVER).build());
    TrainResult onDriver = driver.fit(sparse, null);
    assertArrayClose(onDriver.params(), collective.params(), 1e-5);
    // Rows no mini-batch touched keep their initial values exactly (dense Adam would not move them
    // either here, as their gradient was always 0; the difference is in touched rows, tested against
    // PyTorch's SparseAdam in LazyAdamReferenceTest).
    float[] init = net().initParameters(5);
    int untouchedSeen = 0;
    for (int row = 3; row < DIM && untouchedSeen < 50; row++) {
      boolean moved = false;
      for (int j = 0; j < 16; j++) moved |= init[row * 16 + j] != collective.params()[row * 16 + j];
      if (!moved) {
        untouchedSeen++;
      }
    }
    assertEquals(50, untouchedSeen);
    Map<String, Object> traffic = driver.traffic();
    assertEquals(number(traffic, "rounds"), number(traffic, "row_sparse_rounds"), 0.0, traffic.toString());
  }

  @Test
  void replicaChecksumsKeptByRowsLetSpansReuseTheReplicasAndCatchOneFlippedFloat() {
    // 3 epochs = 3 spans, every step row-sparse and lazy: the checksums are kept by rows on the
    // replicas and on the driver, and they must agree for spans 2 and 3 to start from the replicas.
    TrainConfig.Builder b = TrainConfig.builder().epochs(3).batchSize(32).seed(5).mode(Mode.SYNC).spanRetries(0)
        .syncEngine(TrainConfig.SyncEngine.COLLECTIVE).optimizer(OptimizerSpec.lazyAdam().learningRate(0.01).build());
    Trainer clean = new Trainer(net(), b.build());
    TrainResult ok = clean.fit(sparse, null);
    Map<String, Object> p = clean.collectiveProfile();
    assertEquals(3.0, number(p, "spans"), 0.0, p.toString());
    assertEquals(2.0, number(p, "spans_from_executor_replicas"), 0.0, "spans 2 and 3 from the replicas: " + p);
    assertEquals(number(p, "steps"), number(p, "row_sparse_steps"), 0.0, p.toString());
    assertTrue(ok.params().length > 0);
    // One bit of one float on rank 1 in round 20 (epoch 3's span): in kernel row 0 (input 0 is in every
    // third row, so every step changes that row), or in the dense rest (the last bias).
    int last = net().layout().size() - 1;
    for (int at : new int[] {5, last}) {
      b.taskHook(TaskHook.afterEachStep((rank, round, params) -> {
        if (rank == 1 && round == 20) {
          params[at] = Math.nextUp(params[at]);
        }
      }));
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> new Trainer(net(), b.build()).fit(sparse, null), "a flipped float at " + at);
      assertTrue(e.getMessage().contains("replicas diverged"), e.getMessage());
    }
  }

  @Test
  void averageModeUploadsOnlyTheTouchedRows() {
    TrainConfig.Builder b = TrainConfig.builder().epochs(2).batchSize(16).localSteps(2).seed(9).mode(Mode.AVERAGE)
        .localOptimizer(OptimizerSpec.adam().learningRate(0.01).build());
    TrainConfig c = b.averageEngine(TrainConfig.SyncEngine.DRIVER).build();
    Trainer ts = new Trainer(net(), c);
    TrainResult s = ts.fit(sparse, null);
    Trainer td = new Trainer(net(), c);
    TrainResult d = td.fit(dense, null);
    assertArrayClose(d.params(), s.params(), 1e-5);
    Map<String, Object> sparseTraffic = ts.traffic();
    Map<String, Object> denseTraffic = td.traffic();
    assertEquals(number(sparseTraffic, "rounds"), number(sparseTraffic, "row_sparse_rounds"), 0.0);
    assertEquals(0.0, number(denseTraffic, "row_sparse_rounds"), 0.0);
    assertEquals(number(denseTraffic, "upload_bytes_per_round"), number(denseTraffic, "dense_upload_bytes_per_round"),
        0.0);
    double ratio = number(sparseTraffic, "upload_bytes_per_round") / number(sparseTraffic,
        "dense_upload_bytes_per_round");
    assertTrue(ratio < 0.1, "row-sparse upload / dense: " + ratio);
    // The collective engine all-reduces the same row-sparse deltas.
    Trainer tc = new Trainer(net(), b.averageEngine(TrainConfig.SyncEngine.COLLECTIVE).build());
    assertArrayClose(s.params(), tc.fit(sparse, null).params(), 1e-5);
    Map<String, Object> p = tc.collectiveProfile();
    assertEquals(number(p, "steps"), number(p, "row_sparse_steps"), 0.0, p.toString());
  }

  @Test
  void federatedSilosUploadTheTouchedRows() {
    FederatedConfig c = FederatedConfig.builder().rounds(3).clientFraction(1.0).localEpochs(1).localBatch(32)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).seed(4).build();
    FederatedResult s = new FederatedTrainer(net(), c).fit(sparse, null);
    FederatedResult d = new FederatedTrainer(net(), c).fit(dense, null);
    assertArrayClose(d.params(), s.params(), 1e-5);
    double ratio = number(s.audit(), "row_sparse_upload_bytes_per_round") / number(s.audit(),
        "dense_upload_bytes_per_round");
    assertTrue(ratio < 0.2, "row-sparse upload / dense: " + ratio);
    assertNull(d.audit().get("row_sparse_upload_bytes_per_round"), "dense silos upload dense: " + d.audit());
  }
}
