package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Spark;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory plan: its arithmetic against figures computed by hand, and on a real local[2] Spark a
 * run whose model cannot fit the test JVM's heap refused before round 1 with the figures, and a
 * normal run that reports its plan.
 */
class MemoryPlanTest {
  private static final long MB300 = 300L << 20;
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "MemoryPlanTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Fashion-MNIST's 784-256-128-10 classifier. */
  private static Network mnist() {
    return Network.builder(784).dense(256, Activation.RELU).dense(128, Activation.RELU)
        .dense(10, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  /** 60,000 dense rows of 784 floats and a label, in 4 partitions of 15,000. */
  private static final MemoryPlan.Data MNIST_DATA = new MemoryPlan.Data(188_400_000L, 47_100_000L, 4, 60_000, -1,
      15_000);

  @Test
  void theParameterCountAndTheHelpers() {
    assertEquals(235_146, mnist().layout().size()); // 784*256+256 + 256*128+128 + 128*10+10
    assertEquals(2, MemoryPlan.slots(OptimizerSpec.adam().build()));
    assertEquals(2, MemoryPlan.slots(OptimizerSpec.adamW().build()));
    assertEquals(0, MemoryPlan.slots(OptimizerSpec.sgd().build()));
    assertEquals(1, MemoryPlan.slots(OptimizerSpec.sgd().momentum(0.9).build()));
    assertEquals(2, MemoryPlan.lastLevel(2, 2));
    assertEquals(10, MemoryPlan.lastLevel(100, 2)); // scale 10: 100 partials into 10
    assertEquals(100, MemoryPlan.lastLevel(100, 1));
    assertEquals(4, MemoryPlan.lastLevel(100, 3)); // scale 5: 100 -> 20 -> 4 (4 > 5 + 1 is false)
    // 128 rows: inputs 128*784 = 100,352; z, activation, delta of 256+128+10 units: 151,296; labels 128.
    assertEquals(4L * 251_776, MemoryPlan.workspaceBytes(mnist(), 128, -1));
    // CSR rows of 10 nonzeros: values and indices 2,560, row pointers 129.
    assertEquals(4L * (2_560 + 129 + 151_296 + 128), MemoryPlan.workspaceBytes(mnist(), 128, 10));
    assertEquals("1.5 GiB", MemoryPlan.bytes(3L << 29));
    assertEquals("67.0 MiB", MemoryPlan.bytes(67L << 20));
    assertEquals("512 B", MemoryPlan.bytes(512));
  }

  @Test
  void syncCollectiveAdamOnTwoExecutorsMatchesTheFiguresByHand() {
    // Two executors of 2g with 2 task slots each; the driver has 4 GiB.
    MemoryPlan.Cluster cluster = new MemoryPlan.Cluster(false, 4L << 30, 2L << 30, "2g", 2, 2, 0.6, MB300);
    TrainConfig cfg = TrainConfig.builder().mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.COLLECTIVE)
        .batchSize(128).optimizer(OptimizerSpec.adam().build()).build();
    MemoryPlan plan = MemoryPlan.forTrainer(mnist(), cfg, MNIST_DATA, cluster);
    long p = 4L * 235_146; // 940,584 bytes
    assertEquals(940_584, p);
    // Driver: parameters 1, Adam 2, span start copy 3, span broadcast 3, rank 0's result 6 = 15 P.
    assertEquals(MB300 + 15 * p, plan.driverBytes());
    assertEquals(328_681_560L, plan.driverBytes());
    // A task: replica 1 + Adam 2 + gradient 1 + state snapshot 2 = 6 P, and the workspace of 128 rows.
    assertEquals(6 * p + 1_007_104, plan.taskBytes());
    assertEquals(2, plan.tasks());
    // Cached: 1.25 x 188.4 MB / 2 executors = 117.75 MB, all in memory (unified region 1.1 GB).
    assertEquals(117_750_000L, plan.cachedShare());
    assertEquals(117_750_000L, plan.cachedInMemory());
    // Executor: reserved + 2 tasks + broadcast 6 P + rank 0's serialized result 9 P + cached.
    assertEquals(MB300 + 2 * (6 * p + 1_007_104) + 15 * p + 117_750_000L, plan.executorBytes());
    assertEquals(459_732_776L, plan.executorBytes());
    assertEquals(2L << 30, plan.executorLimit());
    assertTrue(plan.fits());
    assertNull(plan.failure());
    Map<String, Object> m = plan.toMap();
    assertEquals(328_681_560L, m.get("driver_bytes"));
    assertEquals(459_732_776L, m.get("executor_bytes"));
    assertEquals(4L << 30, m.get("driver_limit"));
    assertEquals(2L << 30, m.get("executor_limit"));
    assertEquals("sync/collective", m.get("run"));
  }

  @Test
  void averageOnTheDriverEngineCountsLocalStepsAndTheTaskResults() {
    MemoryPlan.Cluster cluster = new MemoryPlan.Cluster(false, 4L << 30, 1L << 30, "1g", 4, 1, 0.6, MB300);
    TrainConfig cfg = TrainConfig.builder().mode(Mode.AVERAGE).averageEngine(TrainConfig.SyncEngine.DRIVER)
        .batchSize(32).localOptimizer(OptimizerSpec.sgd().momentum(0.9).build()).aggregationDepth(2).build();
    MemoryPlan.Data data = new MemoryPlan.Data(100L << 20, 10L << 20, 16, 1000, -1, 100);
    MemoryPlan plan = MemoryPlan.forTrainer(mnist(), cfg, data, cluster);
    long p = 940_584;
    // Driver, plain server update: parameters, broadcast pieces, 16 partitions -> 4 results, aggregate and mean.
    assertEquals(MB300 + (1 + 1 + 4 + 2) * p, plan.driverBytes());
    // A task: local copy, local gradient, momentum, partial sum, serialized result; 32 rows of workspace.
    long workspace = 4L * (32 * 784 + 32 * 394 * 3 + 32);
    assertEquals(5 * p + workspace, plan.taskBytes());
    assertEquals(1, plan.tasks());
    // Cached: 1.25 x 100 MiB / 4 = 31.25 MiB (more than the largest partition's 10 MiB).
    assertEquals((long) Math.ceil(1.25 * (100L << 20) / 4), plan.cachedShare());
    assertEquals(MB300 + 5 * p + workspace + 2 * p + plan.cachedShare(), plan.executorBytes());
    assertTrue(plan.fits(), plan.describe());
  }

  @Test
  void theLocalEngineHoldsTheCollectedBlocksAndEachPartitionsGradientOnTheDriver() {
    MemoryPlan.Cluster cluster = new MemoryPlan.Cluster(true, 1L << 30, 1L << 30, null, 1, 2, 0.6, MB300);
    MemoryPlan.Data data = new MemoryPlan.Data(8L << 20, 4L << 20, 2, 1000, -1, 500);
    TrainConfig local = TrainConfig.builder().mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.LOCAL).build();
    TrainConfig driver = TrainConfig.builder().mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.DRIVER).build();
    MemoryPlan a = MemoryPlan.forTrainer(mnist(), local, data, cluster);
    MemoryPlan b = MemoryPlan.forTrainer(mnist(), driver, data, cluster);
    assertEquals("sync/local", a.toMap().get("run"));
    long p = 940_584;
    // The driver engine's items plus the 8 MiB of collected blocks and 2 partition gradients.
    assertEquals(b.driverBytes() + (8L << 20) + 2 * p, a.driverBytes());
  }

  @Test
  void localModeSumsTheDriverAndTheExecutorsIntoOneHeap() {
    MemoryPlan.Cluster cluster = new MemoryPlan.Cluster(true, 1L << 30, 1L << 30, null, 1, 2, 0.6, MB300);
    TrainConfig cfg = TrainConfig.builder().mode(Mode.SYNC).syncEngine(TrainConfig.SyncEngine.DRIVER)
        .batchSize(128).build();
    // The data's 800 MiB do not all fit the unified region of 0.6 x (1 GiB - 300 MiB) = 434.4 MiB.
    MemoryPlan.Data data = new MemoryPlan.Data(800L << 20, 400L << 20, 2, 1000, -1, 500);
    MemoryPlan plan = MemoryPlan.forTrainer(mnist(), cfg, data, cluster);
    long p = 940_584;
    long unified = (long) ((1L << 30) - MB300) * 6 / 10;
    assertEquals(unified, plan.cachedInMemory(), 1.0);
    // A task: gradient, partial sum, serialized result, workspace, and its 400 MiB block read back from disk.
    long workspace = 4L * (128 * 784 + 128 * 394 * 3 + 128);
    assertEquals(3 * p + workspace + (400L << 20), plan.taskBytes());
    // Parameters, Adam's 2 slots, broadcast pieces, 2 task results, aggregate and mean.
    long driver = (1 + 2 + 1 + 2 + 2) * p;
    assertEquals(MB300 + driver + 2 * plan.taskBytes() + plan.cachedInMemory(), plan.driverBytes());
    assertEquals(plan.driverBytes() - MB300 - driver, plan.executorBytes());
    assertFalse(plan.fits());
    String f = plan.failure();
    assertTrue(f.startsWith("memory plan: this JVM (the driver, which runs the local-mode executors too) needs"
        + " about " + MemoryPlan.bytes(plan.driverBytes()) + " (driver 7.2 MiB (parameters 918.5 KiB,"), f);
    assertTrue(f.contains("but its heap is 1.0 GiB"), f);
    assertTrue(f.contains("its block read back from disk 400.0 MiB"), f);
    assertTrue(f.contains("cached blocks 800.0 MiB, at most 434.4 MiB of it in memory"), f);
    assertTrue(f.contains(MemoryPlan.CHECK_CONF + "=false"), f);
  }

  @Test
  void aClusterRunThatCannotFitItsExecutorsNamesTheirFigures() {
    MemoryPlan.Cluster cluster = new MemoryPlan.Cluster(false, 8L << 30, 4L << 30, "4g", 2, 2, 0.6, MB300);
    // 2^20 hashed features into 64 units: 67 M parameters (268 MB per copy), Adam, collective.
    Network net = Network.builder(1 << 20).dense(64, Activation.RELU).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    MemoryPlan.Data data = new MemoryPlan.Data(10L << 20, 3L << 20, 4, 40_000, 30, 10_000);
    MemoryPlan plan = MemoryPlan.forTrainer(net, TrainConfig.builder().build(), data, cluster);
    assertFalse(plan.fits());
    String f = plan.failure();
    assertTrue(f.startsWith("memory plan: the executors need about"), f);
    assertTrue(f.contains("2 tasks x 1.5 GiB (replica parameters 256.0 MiB, replica optimizer state 512.0 MiB,"),
        f);
    assertTrue(f.contains("but spark.executor.memory is 4g (4.0 GiB heap: 300.0 MiB reserved, 2.2 GiB for Spark's"
        + " storage and execution, 1.5 GiB user memory)"), f);
    assertTrue(f.contains("Raise spark.executor.memory, use more partitions/executors"), f);
    assertFalse(f.contains("the driver needs"), f); // 15 x 256 MiB + 300 MiB fits the driver's 8 GiB
  }

  @Test
  void aModelTooLargeForThisJvmIsRefusedBeforeRoundOne(@TempDir Path dir) {
    // 2^20 sparse inputs into 1024 units: 1.07 G parameters, 4 GiB per copy; the test JVM has 3 GiB.
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
    TrainingData data = TrainingData.decode(spark.createDataFrame(jsc.parallelize(rows, 2), schema),
        InputSpec.classification("features", "label"));
    try {
      Network net = Network.builder(dim).dense(1024, Activation.RELU).dense(2, Activation.SOFTMAX)
          .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
      Path ckpt = dir.resolve("ckpt");
      List<RoundEvent> rounds = new ArrayList<>();
      Trainer trainer = new Trainer(net, TrainConfig.builder().epochs(1).checkpointDir(ckpt.toString())
          .checkpointEveryRounds(1).build());
      trainer.addListener(new TrainingListener() {
        @Override
        public void onRound(RoundEvent e) {
          rounds.add(e);
        }
      });
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer.fit(data, null));
      String m = e.getMessage();
      assertTrue(m.startsWith("memory plan: this JVM (the driver, which runs the local-mode executors too) needs"
          + " about "), m);
      assertTrue(m.contains("parameters 4.0 GiB, optimizer state (2 slots) 8.0 GiB"), m);
      assertTrue(m.contains("2 tasks x "), m);
      String heap = MemoryPlan.bytes(Runtime.getRuntime().maxMemory());
      assertTrue(m.contains("but its heap is " + heap), m);
      assertTrue(m.contains("Raise the heap"), m);
      assertTrue(m.contains("checkpoint bytes 12.0 GiB"), m);
      assertTrue(rounds.isEmpty());
      assertFalse(Files.exists(ckpt), "no checkpoint directory: no round ran");
    } finally {
      data.unpersist();
    }
  }

  @Test
  void aRunThatFitsReportsItsPlan() {
    Random r = new Random(6);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      double[] x = new double[8];
      for (int j = 0; j < x.length; j++) x[j] = r.nextGaussian();
      rows.add(RowFactory.create(Vectors.dense(x), x[0] > 0 ? 1.0 : 0.0));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    TrainingData data = TrainingData.decode(spark.createDataFrame(jsc.parallelize(rows, 2), schema),
        InputSpec.classification("features", "label"));
    try {
      Network net = Network.builder(8).dense(16, Activation.RELU).dense(2, Activation.SOFTMAX)
          .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
      for (TrainConfig.SyncEngine engine : TrainConfig.SyncEngine.values()) {
        Trainer trainer = new Trainer(net, TrainConfig.builder().epochs(1).syncEngine(engine).build());
        TrainResult res = trainer.fit(data, null);
        assertTrue(res.rounds() > 0);
        MemoryPlan plan = trainer.memoryPlan();
        assertTrue(plan.fits(), plan.describe());
        assertTrue(plan.cluster().local());
        assertEquals(2, plan.tasks());
        assertEquals(data.cachedBytes(), plan.cachedShare());
        Map<String, Object> m = plan.toMap();
        assertEquals(Runtime.getRuntime().maxMemory(), m.get("driver_limit"));
        assertEquals(m.get("driver_limit"), m.get("executor_limit"));
        long p = 4L * net.layout().size();
        assertTrue((Long) m.get("driver_bytes") > MemoryPlan.SPARK_RESERVED + 15 * p, m.toString());
        assertTrue((Long) m.get("executor_bytes") >= 2 * 3 * p + data.cachedBytes(), m.toString());
      }
    } finally {
      data.unpersist();
    }
  }

  @Test
  void theSwitchLogsAPlanThatDoesNotFitInsteadOfRefusingIt() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    MemoryPlan.Cluster tiny = new MemoryPlan.Cluster(true, 400L << 20, 400L << 20, null, 1, 2, 0.6, MB300);
    MemoryPlan plan = MemoryPlan.forTrainer(mnist(), TrainConfig.builder().build(), MNIST_DATA, tiny);
    assertFalse(plan.fits());
    assertTrue(MemoryPlan.checkEnabled(jsc));
    assertThrows(IllegalArgumentException.class, () -> plan.check(jsc));
    spark.conf().set(MemoryPlan.CHECK_CONF, "false");
    try {
      assertFalse(MemoryPlan.checkEnabled(jsc));
      assertSame(plan, plan.check(jsc));
    } finally {
      spark.conf().unset(MemoryPlan.CHECK_CONF);
    }
    assertTrue(MemoryPlan.checkEnabled(jsc));
  }
}
