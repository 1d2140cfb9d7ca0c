package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Faults;
import io.sparktrain.testing.Spark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    // local[2,4]: two threads, up to 4 attempts per task (for the forced-failure test).
    spark = Spark.session("local[2,4]", "TrainerTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }


  static List<Row> blobs(int n, long seed) {
    return Blobs.rows(n, seed, true);
  }

  Dataset<Row> frame(List<Row> rows, int partitions) {
    return Blobs.frame(spark, rows, partitions, Blobs.WEIGHTED);
  }

  static Network net3() {
    return Network.builder(4).dense(16, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  static TrainConfig.Builder sync() {
    return TrainConfig.builder().mode(Mode.SYNC).epochs(3).batchSize(32).seed(7)
        .optimizer(OptimizerSpec.adam().learningRate(0.01).build());
  }

  TrainingData decode(List<Row> rows, int partitions, boolean weighted) {
    InputSpec spec = InputSpec.classification("features", "label");
    return TrainingData.decode(frame(rows, partitions), weighted ? spec.withWeightCol("weight") : spec);
  }

  @Test
  void onePartitionAndFourGiveTheSameParameters() {
    List<Row> rows = blobs(400, 1);
    TrainConfig cfg = sync().l2(1e-3f).build();
    TrainingData one = decode(rows, 1, true);
    TrainingData four = decode(rows, 4, true);
    float[] p1 = new Trainer(net3(), cfg).fit(one, null).params();
    float[] p4 = new Trainer(net3(), cfg).fit(four, null).params();
    one.unpersist();
    four.unpersist();
    double maxDiff = 0;
    for (int i = 0; i < p1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p1[i] - p4[i]));
    assertTrue(maxDiff < 1e-4, "1 vs 4 partitions differ by " + maxDiff);
    // And the data does matter: another seed gives other parameters.
    float[] other = new Trainer(net3(), sync().seed(8).build()).fit(decode(rows, 4, true), null).params();
    double d = 0;
    for (int i = 0; i < p1.length; i++) d = Math.max(d, Math.abs(p1[i] - other[i]));
    assertTrue(d > 1e-3, "seed must matter, max diff " + d);
  }

  @Test
  void syncAndAverageLearnThreeClasses() {
    TrainingData train = decode(blobs(600, 2), 3, false);
    TrainingData val = decode(blobs(300, 3), 2, false);
    TrainResult s = new Trainer(net3(), sync().epochs(5).build()).fit(train, val);
    TrainResult a = new Trainer(net3(), TrainConfig.builder().mode(Mode.AVERAGE).epochs(5).batchSize(16).localSteps(4)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).momentum(0.9).build()).seed(3).build()).fit(train, val);
    for (TrainResult r : List.of(s, a)) {
      double loss = r.finalValidation().get("val_loss");
      assertTrue(loss < 0.35, "validation loss " + loss);
      List<Map<String, Object>> epochs = r.history().records("epoch");
      assertEquals(5, epochs.size());
      double first = (Double) epochs.get(0).get("loss");
      double last = (Double) epochs.get(4).get("loss");
      assertTrue(last < first, "training loss must fall: " + first + " -> " + last);
    }
    assertEquals(5 * 19, s.rounds()); // ceil(600 / 32) rounds per epoch
    train.unpersist();
    val.unpersist();
  }

  @Test
  void resumedRunEndsWhereAnUninterruptedRunEnds(@TempDir Path dir) {
    TrainingData train = decode(blobs(300, 4), 2, true);
    TrainConfig full = sync().epochs(4).batchSize(64).build();
    float[] uninterrupted = new Trainer(net3(), full).fit(train, null).params();
    String ckpt = dir.resolve("ckpt").toUri().toString();
    // Stop after epoch 2, then resume to 4.
    new Trainer(net3(), sync().epochs(2).batchSize(64).checkpointDir(ckpt).build()).fit(train, null);
    TrainResult resumed = new Trainer(net3(), sync().epochs(4).batchSize(64).checkpointDir(ckpt).resume(true).build())
        .fit(train, null);
    assertEquals(4, resumed.epochs());
    assertArrayClose(uninterrupted, resumed.params(), 1e-6);
    // Stop mid-epoch (round 7; epochs have 5 rounds) with round checkpoints, then resume.
    String ckpt2 = dir.resolve("ckpt2").toUri().toString();
    TrainResult cut = new Trainer(net3(), sync().epochs(4).batchSize(64).maxRounds(7).checkpointDir(ckpt2)
        .checkpointEveryRounds(1).build()).fit(train, null);
    assertEquals("max_rounds", cut.stopReason());
    TrainResult rest = new Trainer(net3(), sync().epochs(4).batchSize(64).checkpointDir(ckpt2).resume(true).build())
        .fit(train, null);
    assertArrayClose(uninterrupted, rest.params(), 1e-6);
    train.unpersist();
  }

  @Test
  void aDamagedNewestCheckpointFallsBackToTheLastGoodOneAndEndsWhereTheUninterruptedRunEnds(@TempDir Path dir)
      throws Exception {
    TrainingData train = decode(blobs(300, 4), 2, true);
    float[] uninterrupted = new Trainer(net3(), sync().epochs(4).batchSize(64).build()).fit(train, null).params();
    Path ckptDir = dir.resolve("ckpt");
    String ckpt = ckptDir.toUri().toString();
    // Rounds 1-7 (epochs of 5 rounds), one checkpoint per round, the newest 3 kept: 5, 6, 7.
    new Trainer(net3(), sync().epochs(4).batchSize(64).maxRounds(7).checkpointDir(ckpt).checkpointEveryRounds(1)
        .checkpointKeep(3).build()).fit(train, null);
    Path seven = ckptDir.resolve("ckpt-000000000007.bin");
    byte[] b = Files.readAllBytes(seven);
    Files.write(seven, Arrays.copyOf(b, b.length / 2)); // truncated
    TrainResult rest = new Trainer(net3(), sync().epochs(4).batchSize(64).checkpointDir(ckpt).resume(true).build())
        .fit(train, null);
    assertArrayClose(uninterrupted, rest.params(), 1e-6);
    assertTrue(Files.exists(ckptDir.resolve("ckpt-000000000007.bin.damaged")), "moved aside");
    assertEquals(b.length / 2, Files.size(ckptDir.resolve("ckpt-000000000007.bin.damaged")));

    // A checkpoint directory of another network: the error lists every file, and nothing is moved.
    Network other = Network.builder(4).dense(5, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> new Trainer(other,
        sync().epochs(4).batchSize(64).checkpointDir(ckpt).resume(true).build()).fit(train, null));
    assertTrue(e.getMessage().startsWith("checkpoint.resume: no usable checkpoint in " + ckpt + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("another network: expected 4-5 tanh-3 softmax, softmax_cross_entropy, found 4-"),
        e.getMessage());
    CheckpointStore store = new CheckpointStore(ckpt, new Configuration(), 3);
    assertEquals(3, store.rounds().size(), "nothing moved: " + store.rounds());
    train.unpersist();
  }

  @Test
  void aTaskThatFailsOnceIsRetriedWithTheIdenticalUpdate() {
    // 4 partitions: with 3 or more, an arrival-order sum could differ in the last bits; the ordered one cannot.
    TrainingData train = decode(blobs(300, 5), 4, true);
    for (Mode mode : Mode.values()) {
      TrainConfig cfg = sync().mode(mode).localSteps(2).batchSize(mode == Mode.SYNC ? 32 : 16).build();
      float[] clean = new Trainer(net3(), cfg).fit(train, null).params();
      String failures = Faults.counter();
      TaskHook hook = (round, partition, attempt) -> {
        if (round == 3 && partition == 1 && attempt == 0) {
          Faults.increment(failures);
          throw new IllegalStateException("injected failure in round 3, partition 1");
        }
      };
      float[] retried = new Trainer(net3(), sync().mode(mode).localSteps(2).batchSize(mode == Mode.SYNC ? 32 : 16)
          .taskHook(hook).build()).fit(train, null).params();
      assertEquals(1, Faults.count(failures), "the hook must have failed exactly one task");
      assertArrayEquals(clean, retried, mode.name());
    }
    train.unpersist();
  }

  @Test
  void averageModeServerOptimizerSgdWithRateOneIsPlainAveraging() {
    TrainingData train = decode(blobs(240, 9), 3, true);
    TrainConfig.Builder avg = TrainConfig.builder().mode(Mode.AVERAGE).epochs(2).batchSize(16).localSteps(3)
        .seed(5).localOptimizer(OptimizerSpec.adam().learningRate(0.01).build());
    float[] plain = new Trainer(net3(), avg.serverUpdate(TrainConfig.ServerUpdate.PLAIN).build()).fit(train, null)
        .params();
    // params - 1 * (-mean delta) = params + mean delta: the pseudo-gradient path, checked against plain.
    float[] viaSgd = new Trainer(net3(), avg.serverUpdate(TrainConfig.ServerUpdate.OPTIMIZER)
        .optimizer(OptimizerSpec.sgd().learningRate(1.0).build()).build()).fit(train, null).params();
    assertArrayClose(plain, viaSgd, 1e-5);
    // A server Adam is a different rule: it must move the parameters elsewhere.
    float[] viaAdam = new Trainer(net3(), avg.serverUpdate(TrainConfig.ServerUpdate.OPTIMIZER)
        .optimizer(OptimizerSpec.adam().learningRate(0.01).build()).build()).fit(train, null).params();
    double d = 0;
    for (int i = 0; i < plain.length; i++) d = Math.max(d, Math.abs(plain[i] - viaAdam[i]));
    assertTrue(d > 1e-3, "server Adam must differ from plain averaging, max diff " + d);
    train.unpersist();
  }

  @Test
  void earlyStoppingStopsAndRestoresTheBestWeights() {
    TrainingData train = decode(blobs(200, 6), 2, false);
    TrainingData val = decode(blobs(200, 7), 2, false);
    // A learning rate so high that validation loss cannot keep improving for 30 epochs.
    TrainConfig cfg = sync().epochs(30).optimizer(OptimizerSpec.adam().learningRate(0.3).build())
        .earlyStopping("val_loss", 2, 0.0).build();
    TrainResult r = new Trainer(net3(), cfg).fit(train, val);
    assertEquals("early_stopping", r.stopReason());
    assertTrue(r.epochs() < 30);
    double best = Double.MAX_VALUE;
    for (Map<String, Object> e : r.history().records("epoch")) best = Math.min(best, (Double) e.get("val_loss"));
    assertEquals(best, r.finalValidation().get("val_loss"), 1e-6, "restored weights must be the best epoch's");
    train.unpersist();
    val.unpersist();
  }

  @Test
  void roundsCarryJobDescriptionsAndHistoryIsWritten(@TempDir Path dir) throws Exception {
    List<String> descriptions = new CopyOnWriteArrayList<>();
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart start) {
        String d = start.properties().getProperty("spark.job.description");
        if (d != null) {
          descriptions.add(d);
        }
      }
    };
    spark.sparkContext().addSparkListener(listener);
    TrainingData train = decode(blobs(100, 8), 2, false);
    Map<Long, Double> seen = new ConcurrentHashMap<>();
    TrainResult r = null;
    for (TrainConfig.SyncEngine engine : TrainConfig.SyncEngine.values()) {
      seen.clear();
      r = new Trainer(net3(), sync().syncEngine(engine).epochs(2).batchSize(50).build())
          .addListener(new TrainingListener() {
            @Override
            public void onRound(RoundEvent e) {
              seen.put(e.round(), e.loss());
            }
          }).fit(train, null);
      assertEquals(4, seen.size(), engine.name());
    }
    spark.sparkContext().listenerBus().waitUntilEmpty();
    spark.sparkContext().removeSparkListener(listener);
    assertTrue(descriptions.contains("sparktrain epoch 2/2 round 1/2"), descriptions.toString());
    assertTrue(descriptions.contains("sparktrain epoch 2/2 steps 1-2 (collective)"), descriptions.toString());
    Path out = dir.resolve("metrics.jsonl");
    r.history().writeJsonLines(out.toUri().toString(), spark.sparkContext().hadoopConfiguration());
    List<String> lines = Files.readAllLines(out);
    assertEquals(6, lines.size()); // 4 rounds + 2 epochs
    assertTrue(lines.get(0).startsWith("{\"type\":\"round\",\"epoch\":1,\"round\":1"), lines.get(0));
    train.unpersist();
  }

  @Test
  void aNonFiniteLossStopsTrainingNamingTheRound() {
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 20; i++) rows.add(RowFactory.create(Vectors.dense(1, 2), 3e38));
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    TrainingData data = TrainingData.decode(df, InputSpec.regression("features", "label"));
    Network net = Network.builder(2).dense(1, Activation.IDENTITY).loss(Loss.MSE).build();
    for (TrainConfig.SyncEngine engine : TrainConfig.SyncEngine.values()) {
      TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
          () -> new Trainer(net, sync().syncEngine(engine).build()).fit(data, null));
      assertTrue(e.getMessage().startsWith("round 1: ") && e.getMessage().contains("not finite"), e.getMessage());
    }
    data.unpersist();
  }

  static void assertArrayClose(float[] expected, float[] actual, double tol) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), "parameter " + i);
    }
  }
}
