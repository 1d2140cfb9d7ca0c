package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.MemoryPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The federated memory plan: figures by hand, and a real federated run refused before its first round. */
class FederatedMemoryPlanTest {
  private static final long MB300 = 300L << 20;
  private static final long P = 940_584; // 4 x 235,146 parameters of 784-256-128-10
  private static final MemoryPlan.Cluster CLUSTER = new MemoryPlan.Cluster(false, 4L << 30, 2L << 30, "2g", 4, 2,
      0.6, MB300);
  /** 10 silos, 100 MiB cached, the largest 12 MiB (1,200 rows). */
  private static final MemoryPlan.Data DATA = new MemoryPlan.Data(100L << 20, 12L << 20, 10, 10_000, -1, 1_200);

  private static Network mnist() {
    return Network.builder(784).dense(256, Activation.RELU).dense(128, Activation.RELU)
        .dense(10, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  @Test
  void fedAvgWithTheMeanMatchesTheFiguresByHand() {
    FederatedConfig cfg = FederatedConfig.builder().clientFraction(0.5).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().build()).build();
    MemoryPlan plan = FederatedMemoryPlan.of(mnist(), cfg, DATA, CLUSTER);
    // Driver: parameters, broadcast pieces, 5 sampled silos' results (depth 1), aggregate and mean.
    assertEquals(MB300 + 9 * P, plan.driverBytes());
    // A silo: local copy, gradient, partial sum, serialized result; 10 rows x (784 + 3 x 394 + 1) floats.
    long workspace = 4L * (10 * 784 + 10 * 394 * 3 + 10);
    assertEquals(78_680, workspace);
    assertEquals(4 * P + workspace, plan.taskBytes());
    assertEquals(2, plan.tasks());
    assertEquals(32_768_000L, plan.cachedShare()); // 1.25 x 100 MiB / 4 executors
    assertEquals(MB300 + 2 * (4 * P + workspace) + 2 * P + 32_768_000L, plan.executorBytes());
    assertTrue(plan.fits(), plan.describe());
  }

  @Test
  void robustAggregationOfInt8UploadsWithErrorFeedbackCollectsEverySampledUpdate() {
    FederatedConfig cfg = FederatedConfig.builder().clientFraction(0.3).localBatch(10)
        .localOptimizer(OptimizerSpec.adam().build()).server(ServerOptimizer.Kind.FEDADAM)
        .aggregation(FederatedConfig.Aggregation.MEDIAN).compression(true, true).build();
    MemoryPlan plan = FederatedMemoryPlan.of(mnist(), cfg, DATA, CLUSTER);
    long q = Compression.quantized(8).payloadBytes((int) (P / 4)); // an int8 upload: + 8 bytes per 4,096 values
    assertEquals(P / 4 + 8 * ((P / 4 + 4095) / 4096), q);
    // Driver: parameters, FedAdam's 2 slots, broadcast pieces, 3 updates as floats and as int8, the aggregate.
    assertEquals(MB300 + (1 + 2 + 1 + 3 + 1) * P + 3 * q + 8 * 9, plan.driverBytes());
    // A silo: local copy, gradient, Adam's 2 slots, int8 upload, residual copy, serialized int8 result.
    long workspace = 78_680;
    assertEquals(5 * P + 2 * q + workspace, plan.taskBytes());
    // Cached: the blocks' share plus two rounds of residuals and uploads of ceil(1.25 x 10 / 4) = 4 silos.
    assertEquals(32_768_000L + 2 * 4 * (P + q), plan.cachedShare());
    assertEquals(3, FederatedMemoryPlan.sampled(10, 0.3, FederatedConfig.Sampling.UNIFORM));
    assertEquals(8, FederatedMemoryPlan.sampled(10, 0.3, FederatedConfig.Sampling.POISSON)); // ceil(3 + 3 x 1.45)
  }

  @Test
  void aFederatedModelTooLargeForThisJvmIsRefusedBeforeItsFirstRound(@TempDir Path dir) {
    SparkSession spark = Spark.session("local[2]", "FederatedMemoryPlanTest");
    try {
      int dim = 1 << 20;
      Random r = new Random(5);
      List<Row> rows = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        TreeMap<Integer, Double> nz = new TreeMap<>();
        while (nz.size() < 5) nz.put(r.nextInt(dim), r.nextGaussian());
        rows.add(RowFactory.create(Vectors.sparse(dim, nz.keySet().stream().mapToInt(Integer::intValue).toArray(),
            nz.values().stream().mapToDouble(Double::doubleValue).toArray()), (double) (i % 2)));
      }
      StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      TrainingData data = TrainingData.decode(spark.createDataFrame(jsc.parallelize(rows, 4), schema),
          InputSpec.classification("features", "label"));
      Network net = Network.builder(dim).dense(1024, Activation.RELU).dense(2, Activation.SOFTMAX)
          .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
      Path ckpt = dir.resolve("ckpt");
      FederatedConfig cfg = FederatedConfig.builder().rounds(2).clientFraction(0.5).checkpoints(ckpt.toString(), 1, 2)
          .build();
      FederatedTrainer trainer = new FederatedTrainer(net, cfg);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer.fit(data, null));
      String m = e.getMessage();
      assertTrue(m.startsWith("memory plan: this JVM (the driver, which runs the local-mode executors too) needs"
          + " about "), m);
      assertTrue(m.contains("parameters 4.0 GiB, broadcast pieces 4.0 GiB, 2 task results 8.0 GiB"), m);
      assertTrue(m.contains("but its heap is " + MemoryPlan.bytes(Runtime.getRuntime().maxMemory())), m);
      assertFalse(Files.exists(ckpt), "no checkpoint directory: no round ran");
      data.unpersist();
    } finally {
      spark.stop();
    }
  }
}
