package io.sparktrain.train;

import static io.sparktrain.train.TrainerTest.assertArrayClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.LearningRateSchedule;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Faults;
import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The collective engine of sync mode on a real local[2] Spark: barrier stages, the rendezvous
 * service and the ring all-reduce over loopback, checked against the driver engine (one Spark job
 * per step, the reference), against itself (run to run, 1 vs 4 partitions) and under faults.
 */
class CollectiveEngineTest {
  private static SparkSession spark;
  private static TrainingData two;
  private static List<Row> rows;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "CollectiveEngineTest");
    rows = Blobs.rows(400, 21, true);
    two = decode(2);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }


  static TrainingData decode(int partitions) {
    return TrainingData.decode(Blobs.frame(spark, rows, partitions, Blobs.WEIGHTED),
        InputSpec.classification("features", "label").withWeightCol("weight"));
  }

  static Network net(float dropout) {
    return Network.builder(4).dense(16, Activation.RELU, dropout).dense(8, Activation.TANH)
        .dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  /** 100 Adam steps: batch 32 over 400 rows is 13 steps per epoch. */
  static TrainConfig.Builder hundredSteps() {
    return TrainConfig.builder().mode(Mode.SYNC).epochs(10).maxRounds(100).batchSize(32).seed(3)
        .optimizer(OptimizerSpec.adam().learningRate(0.01).build());
  }

  float[] fit(Network net, TrainConfig.Builder cfg, TrainConfig.SyncEngine engine, TrainingData data) {
    TrainResult r = new Trainer(net, cfg.syncEngine(engine).build()).fit(data, null);
    assertEquals(100, r.rounds());
    return r.params();
  }

  @Test
  void collectiveAndDriverEnginesAgreeAfterHundredAdamSteps() {
    float[] driver = fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.DRIVER, two);
    float[] collective = fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, two);
    assertArrayClose(driver, collective, 1e-5);
    float[] init = net(0f).initParameters(3);
    double moved = 0;
    for (int i = 0; i < init.length; i++) moved = Math.max(moved, Math.abs(init[i] - collective[i]));
    assertTrue(moved > 0.05, "the parameters must have moved, max change " + moved);
    // Run after run, the same partition count gives the same bits.
    assertArrayEquals(collective, fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, two));
  }

  @Test
  void dropoutL2ClippingAndSchedulesBehaveTheSameOnBothEngines() {
    TrainConfig.Builder cfg = hundredSteps().l2(1e-3f).optimizer(OptimizerSpec.adam().learningRate(0.02)
        .clipNorm(0.5).schedule(LearningRateSchedule.cosine(10, 100, 0.1)).build());
    float[] driver = fit(net(0.2f), cfg, TrainConfig.SyncEngine.DRIVER, two);
    float[] collective = fit(net(0.2f), cfg, TrainConfig.SyncEngine.COLLECTIVE, two);
    assertArrayClose(driver, collective, 1e-5);
    // The options do act: without them the parameters end elsewhere.
    float[] plain = fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, two);
    double d = 0;
    for (int i = 0; i < plain.length; i++) d = Math.max(d, Math.abs(plain[i] - collective[i]));
    assertTrue(d > 1e-3, "dropout/L2/clipping/schedule must change the run, max diff " + d);
  }

  @Test
  void averageModeOnTheCollectiveEngineMatchesTheDriverPath() {
    for (TrainConfig.ServerUpdate server : TrainConfig.ServerUpdate.values()) {
      TrainConfig.Builder avg = TrainConfig.builder().mode(Mode.AVERAGE).epochs(3).batchSize(16).localSteps(3)
          .seed(5).serverUpdate(server).optimizer(OptimizerSpec.adam().learningRate(0.01).build())
          .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).momentum(0.9).build());
      TrainResult viaDriver = new Trainer(net(0.1f), avg.averageEngine(TrainConfig.SyncEngine.DRIVER).build())
          .fit(two, null);
      Trainer t = new Trainer(net(0.1f), avg.averageEngine(TrainConfig.SyncEngine.COLLECTIVE).build());
      TrainResult viaRing = t.fit(two, null);
      assertEquals(viaDriver.rounds(), viaRing.rounds());
      assertTrue(((Number) t.collectiveProfile().get("steps")).longValue() == viaRing.rounds(), server.name());
      assertArrayClose(viaDriver.params(), viaRing.params(), 1e-5);
      double epochLossDriver = (Double) viaDriver.history().records("epoch").get(2).get("loss");
      double epochLossRing = (Double) viaRing.history().records("epoch").get(2).get("loss");
      assertEquals(epochLossDriver, epochLossRing, 1e-5, server.name());
    }
  }

  @Test
  void spansStartFromTheReplicasKeptOnTheExecutorsAndALostReplicaIsFetchedFromTheDriver() {
    Trainer kept = new Trainer(net(0.2f), hundredSteps().syncEngine(TrainConfig.SyncEngine.COLLECTIVE).build());
    float[] viaReplicas = kept.fit(two, null).params();
    long spans = ((Number) kept.collectiveProfile().get("spans")).longValue();
    assertEquals(8, spans, "100 steps of 13 per epoch: 8 spans");
    // Only the first span needs the start from the driver (a broadcast); the others start where the
    // replicas on the executors ended.
    assertEquals(spans - 1, ((Number) kept.collectiveProfile().get("spans_from_executor_replicas")).longValue());
    assertEquals(0L, ((Number) kept.collectiveProfile().get("spans_with_a_fetch_from_the_driver")).longValue());
    // Lose every replica before each span (as memory pressure may, or a new executor): the tasks fetch
    // the start from the driver's rendezvous, and the run ends on the same bits.
    Trainer lost = new Trainer(net(0.2f), hundredSteps().syncEngine(TrainConfig.SyncEngine.COLLECTIVE).build());
    lost.addListener(new TrainingListener() {
      @Override
      public void onEpoch(EpochEvent e) {
        CollectiveEngine.dropReplicas();
      }
    });
    assertArrayEquals(viaReplicas, lost.fit(two, null).params());
    assertEquals(0L, ((Number) lost.collectiveProfile().get("spans_from_executor_replicas")).longValue());
    assertEquals(spans - 1, ((Number) lost.collectiveProfile().get("spans_with_a_fetch_from_the_driver")).longValue());
    // And both equal the driver engine (which never caches anything).
    assertArrayClose(fit(net(0.2f), hundredSteps(), TrainConfig.SyncEngine.DRIVER, two), viaReplicas, 1e-5);
  }

  @Test
  void allFiniteAgreesWithFloatIsFinite() {
    Random rnd = new Random(11);
    float[] edge = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
        1e-40f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7fc00001),
        Float.intBitsToFloat(0xff800001)};
    for (int trial = 0; trial < 2000; trial++) {
      float[] v = new float[1 + rnd.nextInt(300)];
      for (int i = 0; i < v.length; i++) {
        v[i] = rnd.nextInt(10) == 0 ? edge[rnd.nextInt(edge.length)] : Float.intBitsToFloat(rnd.nextInt());
      }
      boolean expected = true;
      for (float x : v) expected &= Float.isFinite(x);
      assertEquals(expected, CollectiveEngine.allFinite(v), Arrays.toString(v));
    }
  }

  @Test
  void aCachedReplicaIsUsedOnlyWhereTheSpanStarts() {
    float[] p = {1f, 2f};
    CollectiveEngine.Replica r = new CollectiveEngine.Replica(42L, 13, CollectiveEngine.checksum(p), 7L, p, null);
    CollectiveEngine.keepReplica(0, r);
    assertEquals(null, CollectiveEngine.takeReplica(42L, 0, 14, r.paramsSum, 7L), "another round");
    CollectiveEngine.keepReplica(0, r);
    assertEquals(null, CollectiveEngine.takeReplica(42L, 0, 13, r.paramsSum ^ 1, 7L), "other parameters");
    CollectiveEngine.keepReplica(0, r);
    assertEquals(null, CollectiveEngine.takeReplica(42L, 0, 13, r.paramsSum, 8L), "another optimizer state");
    CollectiveEngine.keepReplica(0, r);
    assertEquals(null, CollectiveEngine.takeReplica(42L, 1, 13, r.paramsSum, 7L), "another rank");
    assertEquals(r, CollectiveEngine.takeReplica(42L, 0, 13, r.paramsSum, 7L));
    assertEquals(null, CollectiveEngine.takeReplica(42L, 0, 13, r.paramsSum, 7L), "taken: a failed span leaves none");
    CollectiveEngine.keepReplica(0, r);
    CollectiveEngine.keepReplica(1, new CollectiveEngine.Replica(43L, 1, 0, 0, p, null));
    assertEquals(null, CollectiveEngine.takeReplica(42L, 0, 13, r.paramsSum, 7L), "a newer run evicts the older");
    CollectiveEngine.dropReplicas();
  }

  @Test
  void oneAndFourPartitionsAgree() {
    TrainingData one = decode(1);
    TrainingData four = decode(4); // 4 partitions on 2 slots: grouped into 2 barrier tasks
    try (CollectiveEngine e = new CollectiveEngine(four.blocks(), new long[4], four.rows(), net(0f),
        hundredSteps().build())) {
      assertEquals(2, e.tasks(), "4 partitions on local[2] run as 2 tasks");
    }
    float[] p1 = fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, one);
    float[] p4 = fit(net(0f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, four);
    assertArrayClose(p1, p4, 1e-5);
    // With 4 partitions the driver engine gives the same too (same dropout seeds per partition).
    float[] d4 = fit(net(0.3f), hundredSteps(), TrainConfig.SyncEngine.DRIVER, four);
    float[] c4 = fit(net(0.3f), hundredSteps(), TrainConfig.SyncEngine.COLLECTIVE, four);
    assertArrayClose(d4, c4, 1e-5);
    one.unpersist();
    four.unpersist();
  }

  @Test
  void replicasAreComparedAndADivergentReplicaStopsTheRun() {
    TrainConfig.Builder cfg = hundredSteps().replicaCheckEvery(1).spanRetries(0);
    float[] clean = fit(net(0f), cfg, TrainConfig.SyncEngine.COLLECTIVE, two); // checksums compared every step
    cfg.taskHook(TaskHook.afterEachStep((rank, round, params) -> {
      if (rank == 1 && round == 20) {
        params[0] = Math.nextUp(params[0]); // one bit of one parameter on one replica
      }
    }));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> fit(net(0f), cfg, TrainConfig.SyncEngine.COLLECTIVE, two));
    assertTrue(e.getMessage().contains("replicas diverged"), e.getMessage());
    assertEquals(100, clean.length > 0 ? 100 : 0);
  }

  @Test
  void aFailedTaskAndAPeerThatStopsAnsweringRerunTheSpanToTheSameBits() {
    TrainConfig.Builder cfg = hundredSteps().collectiveTimeoutMillis(3_000);
    float[] clean = fit(net(0.1f), cfg, TrainConfig.SyncEngine.COLLECTIVE, two);
    String failures = Faults.counter();
    TaskHook fail = (round, partition, attempt) -> {
      if (round == 30 && partition == 1 && attempt == 0) {
        Faults.increment(failures);
        throw new IllegalStateException("injected failure in round 30, partition 1");
      }
    };
    assertArrayEquals(clean, fit(net(0.1f), cfg.taskHook(fail), TrainConfig.SyncEngine.COLLECTIVE, two));
    assertEquals(1, Faults.count(failures));
    // A peer that hangs: its neighbour times out, the stage fails, the span reruns.
    String hangs = Faults.counter();
    TaskHook hang = (round, partition, attempt) -> {
      if (round == 50 && partition == 0 && attempt == 0) {
        Faults.increment(hangs);
        try {
          Thread.sleep(60_000); // interrupted when Spark kills the failed stage's tasks
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("hung task interrupted", e);
        }
      }
    };
    long t0 = System.nanoTime();
    assertArrayEquals(clean, fit(net(0.1f), cfg.taskHook(hang), TrainConfig.SyncEngine.COLLECTIVE, two));
    double secs = (System.nanoTime() - t0) / 1e9;
    assertEquals(1, Faults.count(hangs));
    assertTrue(secs < 40, "a hung peer must fail the span within the timeout; the run took " + secs + " s");
  }

  @Test
  void dynamicAllocationIsRefusedBeforeAnyWork() {
    spark.sparkContext().conf().set("spark.dynamicAllocation.enabled", "true");
    try {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new Trainer(net(0f), hundredSteps().build()).fit(two, null));
      assertTrue(e.getMessage().contains("dynamic allocation") && e.getMessage().contains("sync_engine"),
          e.getMessage());
    } finally {
      spark.sparkContext().conf().set("spark.dynamicAllocation.enabled", "false");
    }
    // The driver engine does not need barrier mode.
    assertEquals(100, new Trainer(net(0f), hundredSteps().syncEngine(TrainConfig.SyncEngine.DRIVER).build())
        .fit(two, null).rounds());
  }

  @Test
  void progressEventsArriveForEveryStepInOrder() {
    List<Long> seen = new ArrayList<>();
    new Trainer(net(0f), hundredSteps().build()).addListener(new TrainingListener() {
      @Override
      public void onRound(RoundEvent e) {
        seen.add(e.round());
        assertTrue(Double.isFinite(e.loss()) && e.rows() > 0, "round " + e.round());
      }
    }).fit(two, null);
    assertEquals(100, seen.size());
    for (int i = 0; i < seen.size(); i++) assertEquals(i + 1, seen.get(i));
  }
}
