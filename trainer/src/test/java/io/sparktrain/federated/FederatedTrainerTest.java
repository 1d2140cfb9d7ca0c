package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Faults;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.TaskHook;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FederatedTrainerTest {
  private static SparkSession spark;
  private static final StructType SCHEMA = Blobs.PLAIN;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2,4]", "FederatedTrainerTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }


  static List<Row> blobs(int n, long seed) {
    return Blobs.rows(n, seed, false);
  }

  Dataset<Row> frame(List<Row> rows, int partitions) {
    return Blobs.frame(spark, rows, partitions, SCHEMA);
  }

  static Network net() {
    return Network.builder(4).dense(8, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  TrainingData silos(List<Row> rows, int n) {
    return TrainingData.decode(frame(rows, n), InputSpec.classification("features", "label").withNumClasses(3));
  }

  /**
   * Cross-device scale: a round schedules a task for each working silo only. With 40 silos and
   * C = 0.1, 3 rounds run 12 training tasks (plain, error feedback, secure aggregation; with 50 %
   * stragglers dropped, 6), not 120; and the silos no round sampled do not matter: giving them other
   * labels (the same row counts, so the same samples) leaves the parameters bit-identical.
   */
  @Test
  void aRoundRunsTasksOnlyForTheSampledSilos() {
    List<Row> rows = blobs(400, 11);
    int k = 40;
    FederatedConfig.Builder base = FederatedConfig.builder().rounds(3).clientFraction(0.1).localEpochs(1)
        .localBatch(5).localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(5);
    long[] siloRows = new long[k];
    Arrays.fill(siloRows, 10);
    boolean[] used = new boolean[k];
    for (int round = 1; round <= 3; round++) {
      for (int s : ClientSampler.silos(siloRows, 0.1, FederatedConfig.Sampling.UNIFORM, 5, round)) used[s] = true;
    }
    List<Row> relabelled = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) { // parallelize slices contiguously: row i is in silo i / 10
      Row r = rows.get(i);
      relabelled.add(used[i / 10] ? r : RowFactory.create(r.get(0), (r.getDouble(1) + 1) % 3));
    }
    TrainingData data = silos(rows, k);
    TrainingData other = silos(relabelled, k);
    try {
      for (FederatedConfig cfg : List.of(base.build(), base.compression(true, true).build(),
          base.compression(false, false).secureAggregation(true).build())) {
        FederatedResult a = new FederatedTrainer(net(), cfg).fit(data, null);
        assertEquals(12L, a.audit().get("training_tasks"), cfg.toMap() + ": " + a.audit());
        assertEquals(0L, a.audit().get("rows_moved_during_training"), a.audit().toString());
        FederatedResult b = new FederatedTrainer(net(), cfg).fit(other, null);
        assertArrayEquals(a.params(), b.params(), cfg.toMap().toString());
      }
      FederatedConfig drop = base.secureAggregation(false).stragglers(0.5)
          .stragglerPolicy(FederatedConfig.StragglerPolicy.DROP).build();
      assertEquals(6L, new FederatedTrainer(net(), drop).fit(data, null).audit().get("training_tasks"));
      // The control: relabelling a silo that was sampled changes the model.
      base.stragglers(0);
      List<Row> touched = new ArrayList<>(rows);
      int s = 0;
      while (!used[s]) s++;
      Row r = rows.get(s * 10);
      touched.set(s * 10, RowFactory.create(r.get(0), (r.getDouble(1) + 1) % 3));
      TrainingData t = silos(touched, k);
      assertTrue(!Arrays.equals(new FederatedTrainer(net(), base.build()).fit(data, null).params(),
          new FederatedTrainer(net(), base.build()).fit(t, null).params()), "a sampled silo's labels did not matter");
      t.unpersist();
    } finally {
      data.unpersist();
      other.unpersist();
    }
  }

  @Test
  void fedSgdRoundIsOneFullBatchGradientStepAndNoRowMoves() {
    List<Row> rows = blobs(200, 1);
    TrainingData data = silos(rows, 5);
    float lr = 0.5f;
    FederatedConfig cfg = FederatedConfig.builder().rounds(1).clientFraction(1.0).localEpochs(1).localBatch(0)
        .localOptimizer(OptimizerSpec.sgd().learningRate(lr).build()).evalEveryRounds(0).seed(3).build();
    assertEquals("FedSGD", cfg.algorithmName());
    FederatedResult r = new FederatedTrainer(net(), cfg).fit(data, null);
    // Independent path: the full-batch mean gradient of all 200 rows, one SGD step.
    Network net = net();
    float[] p0 = net.initParameters(3);
    float[] x = new float[200 * 4];
    float[] y = new float[200];
    for (int i = 0; i < 200; i++) {
      double[] v = ((Vector) rows.get(i).get(0)).toArray();
      for (int j = 0; j < 4; j++) x[i * 4 + j] = (float) v[j];
      y[i] = (float) rows.get(i).getDouble(1);
    }
    float[] g = new float[p0.length];
    net.lossAndGradient(p0, MiniBatch.wrap(4, 1, x, y, null, 200), g, net.newWorkspace(), 0);
    float[] expected = p0.clone();
    for (int i = 0; i < g.length; i++) expected[i] -= lr * g[i] / 200f;
    float[] got = r.params();
    for (int i = 0; i < got.length; i++) assertEquals(expected[i], got[i], 1e-5, "parameter " + i);
    // The locality audit: training stages shuffled nothing; uploads are model-sized.
    assertEquals(0L, r.audit().get("rows_moved_during_training"));
    assertEquals(0L, r.audit().get("shuffle_read_bytes"));
    assertEquals(0L, r.audit().get("shuffle_write_bytes"));
    assertTrue((Long) r.audit().get("largest_upload_bytes") >= 4L * got.length, r.audit().toString());
    assertTrue((Long) r.audit().get("largest_upload_bytes") < 4L * got.length + 4096, r.audit().toString());
    data.unpersist();
  }

  @Test
  void theAuditSeesAShuffleInATrainingStage() throws Exception {
    LocalityAudit audit = new LocalityAudit();
    spark.sparkContext().addSparkListener(audit);
    spark.sparkContext().setJobDescription("sparktrain federated round 1/1");
    frame(blobs(100, 2), 4).repartition(3).count();
    spark.sparkContext().setJobDescription(null);
    spark.sparkContext().listenerBus().waitUntilEmpty();
    spark.sparkContext().removeSparkListener(audit);
    assertTrue(audit.rowsMoved() > 0, "a repartition inside a round must be caught: " + audit.summary(1));
    assertTrue(audit.summary(1).startsWith("rows moved during training: "));
  }

  @Test
  void fedAvgLearnsOnNonIidSilosAndRetriesAreIdentical() {
    List<Row> rows = blobs(600, 4);
    Dataset<Row> skewed = Silos.partition(frame(rows, 2), "label", Silos.Split.DIRICHLET, 6, 0.3, 5);
    TrainingData data = TrainingData.decode(skewed, InputSpec.classification("features", "label").withNumClasses(3));
    TrainingData val = silos(blobs(300, 6), 3);
    SiloSummary summary = SiloSummary.of(data, 3);
    assertEquals(6, summary.silos());
    assertTrue(summary.meanTvDistance() > 0.2, summary.describe(6));
    FederatedConfig cfg = FederatedConfig.builder().rounds(12).clientFraction(0.5).localEpochs(2).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(6).seed(7).build();
    FederatedResult clean = new FederatedTrainer(net(), cfg).fit(data, val);
    assertTrue(clean.finalValidation().get("val_accuracy") > 0.85, clean.finalValidation().toString());
    assertTrue(!clean.finalValidation().containsKey("val_accuracy_silo_min")); // a shared set: no per-silo figures
    String failures = Faults.counter();
    TaskHook hook = (round, partition, attempt) -> {
      // compareAndSet: two tasks of round 5 run at once, and only one of them may fail.
      if (round == 5 && attempt == 0 && Faults.first(failures)) {
        throw new IllegalStateException("injected failure in federated round 5");
      }
    };
    FederatedResult retried = new FederatedTrainer(net(), FederatedConfig.builder().rounds(12).clientFraction(0.5)
        .localEpochs(2).localBatch(10).localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(6)
        .seed(7).taskHook(hook).build()).fit(data, val);
    assertEquals(1, Faults.count(failures));
    float[] a = clean.params();
    float[] b = retried.params();
    assertArrayEquals(a, b); // identical uploads, summed in silo order
    data.unpersist();
    val.unpersist();
  }

  @Test
  void fedProxKeepsClientsCloserToTheGlobalModel() {
    List<Row> rows = blobs(400, 8);
    TrainingData data = TrainingData.decode(Silos.partition(frame(rows, 2), "label", Silos.Split.SHARDS, 4, 1, 3),
        InputSpec.classification("features", "label").withNumClasses(3));
    FederatedConfig.Builder b = FederatedConfig.builder().rounds(1).clientFraction(1.0).localEpochs(5).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(1);
    float[] p0 = net().initParameters(1);
    float[] avg = new FederatedTrainer(net(), b.build()).fit(data, null).params();
    float[] prox = new FederatedTrainer(net(), b.proxMu(1.0f).build()).fit(data, null).params();
    assertTrue(distance(prox, p0) < 0.9 * distance(avg, p0),
        "prox " + distance(prox, p0) + " vs avg " + distance(avg, p0));
    data.unpersist();
  }

  static double distance(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
    return Math.sqrt(s);
  }

  @Test
  void silosFromPathsAreOnePartitionEachAndSplitsKeepEveryRow(@TempDir Path dir) {
    List<Row> rows = blobs(300, 9);
    Dataset<Row> df = frame(rows, 3);
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String p = dir.resolve("silo" + i).toString();
      df.limit(50 + 10 * i).repartition(2).write().parquet(p);
      paths.add(p);
    }
    Dataset<Row> fromPaths = Silos.fromPaths(spark, "parquet", Map.of(), paths);
    assertEquals(3, fromPaths.rdd().getNumPartitions());
    List<Integer> sizes = fromPaths.javaRDD().mapPartitions(it -> {
      int n = 0;
      while (it.hasNext()) {
        it.next();
        n++;
      }
      return List.of(n).iterator();
    }).collect();
    assertEquals(List.of(50, 60, 70), sizes);
    for (Silos.Split s : Silos.Split.values()) {
      Dataset<Row> split = Silos.partition(df, "label", s, 5, s == Silos.Split.SHARDS ? 1 : 0.5, 11);
      assertEquals(5, split.rdd().getNumPartitions(), s.name());
      assertEquals(300, split.count(), s.name());
    }
    TrainingData shards = TrainingData.decode(Silos.partition(df, "label", Silos.Split.SHARDS, 3, 1, 2),
        InputSpec.classification("features", "label").withNumClasses(3));
    SiloSummary s = SiloSummary.of(shards, 3);
    assertTrue(s.meanLabelsPerSilo() <= 2.0, s.describe(3));
    TrainingData iid = TrainingData.decode(Silos.partition(df, "label", Silos.Split.IID, 3, 0, 2),
        InputSpec.classification("features", "label").withNumClasses(3));
    assertTrue(SiloSummary.of(iid, 3).meanTvDistance() < s.meanTvDistance());
    shards.unpersist();
    iid.unpersist();
  }

  @Test
  void syntheticHasOnePartitionPerDevice() {
    Dataset<Row> syn = Silos.synthetic(spark, 1, 1, 6, 3);
    assertEquals(6, syn.rdd().getNumPartitions());
    Row first = syn.first();
    assertEquals(60, ((Vector) first.get(0)).size());
    double max = syn.agg(org.apache.spark.sql.functions.max("label")).first().getDouble(0);
    assertTrue(max <= 9 && max >= 1);
  }

  @Test
  void samplerPicksAtLeastOneAndIsSeeded() {
    long[] rows = {5, 0, 5, 5, 5, 5, 5, 5, 5, 5};
    boolean[] a = ClientSampler.sample(rows, 0.3, FederatedConfig.Sampling.UNIFORM, 1, 7);
    int n = 0;
    for (boolean x : a) n += x ? 1 : 0;
    assertEquals(3, n); // round(0.3 * 9 non-empty)
    assertTrue(!a[1], "empty silos are never sampled");
    assertArrayEquals(a, ClientSampler.sample(rows, 0.3, FederatedConfig.Sampling.UNIFORM, 1, 7));
    for (long round = 0; round < 50; round++) {
      boolean[] p = ClientSampler.sample(rows, 0.01, FederatedConfig.Sampling.POISSON, 1, round);
      int m = 0;
      for (boolean x : p) m += x ? 1 : 0;
      assertTrue(m >= 1);
    }
  }

  @Test
  void serverRulesMatchHandComputedSteps() {
    float[] d = {0.5f, -2f};
    float[] x = {1f, 1f};
    new ServerOptimizer(ServerOptimizer.Kind.FEDAVG, 1.0, 0.9, 0.9, 0.99, 1e-3).apply(x, d);
    assertArrayEquals(new float[] {1.5f, -1f}, x);
    ServerOptimizer adam = new ServerOptimizer(ServerOptimizer.Kind.FEDADAM, 0.1, 0.9, 0.9, 0.99, 1e-3);
    float[] y = {0f, 0f};
    adam.apply(y, d);
    for (int i = 0; i < 2; i++) {
      double m = 0.1 * d[i];
      double v = 0.99 * 1e-6 + 0.01 * d[i] * d[i];
      assertEquals(0.1 * m / (Math.sqrt(v) + 1e-3), y[i], 1e-6);
    }
    ServerOptimizer yogi = new ServerOptimizer(ServerOptimizer.Kind.FEDYOGI, 0.1, 0.9, 0.9, 0.99, 1e-3);
    float[] z = {0f, 0f};
    yogi.apply(z, d);
    for (int i = 0; i < 2; i++) {
      double v = 1e-6 - 0.01 * d[i] * d[i] * Math.signum(1e-6 - d[i] * d[i]);
      assertEquals(0.1 * (0.1 * d[i]) / (Math.sqrt(v) + 1e-3), z[i], 1e-6);
    }
    ServerOptimizer avgm = new ServerOptimizer(ServerOptimizer.Kind.FEDAVGM, 1.0, 0.5, 0.9, 0.99, 1e-3);
    float[] w = {0f, 0f};
    avgm.apply(w, d);
    avgm.apply(w, d);
    assertArrayEquals(new float[] {0.5f + 0.75f, -2f - 3f}, w, 1e-6f);
  }

  private FederatedConfig.Builder small() {
    return FederatedConfig.builder().rounds(3).clientFraction(1.0).localEpochs(1).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(4);
  }

  @Test
  void secureAggregationEqualsPlainAggregationAndSurvivesARetry() {
    TrainingData data = silos(blobs(200, 12), 4);
    float[] plain = new FederatedTrainer(net(), small().build()).fit(data, null).params();
    FederatedConfig secure = small().secureAggregation(true).build();
    float[] masked = new FederatedTrainer(net(), secure).fit(data, null).params();
    for (int i = 0; i < plain.length; i++) assertEquals(plain[i], masked[i], 1e-4, "parameter " + i);
    // With DP noise too: a task that fails once is retried with the identical masked, noised upload.
    FederatedConfig both = small().secureAggregation(true).differentialPrivacy(1.0, 0.5, 1e-5).build();
    float[] clean = new FederatedTrainer(net(), both).fit(data, null).params();
    String failures = Faults.counter();
    TaskHook hook = (round, partition, attempt) -> {
      if (round == 2 && partition == 1 && attempt == 0) {
        Faults.increment(failures);
        throw new IllegalStateException("injected failure");
      }
    };
    float[] retried = new FederatedTrainer(net(), small().secureAggregation(true).differentialPrivacy(1.0, 0.5, 1e-5)
        .taskHook(hook).build()).fit(data, null).params();
    assertTrue(Faults.count(failures) >= 1);
    assertArrayEquals(clean, retried);
    data.unpersist();
  }

  @Test
  void dpWithoutNoiseOnEqualSilosIsFedAvgAndTheAccountantReportsEpsilon() {
    TrainingData data = silos(blobs(200, 13), 4); // 4 silos of 50 rows
    float[] fedAvg = new FederatedTrainer(net(), small().build()).fit(data, null).params();
    float[] dp0 = new FederatedTrainer(net(), small().differentialPrivacy(1e6, 0, 1e-5).build()).fit(data, null)
        .params();
    for (int i = 0; i < fedAvg.length; i++) assertEquals(fedAvg[i], dp0[i], 1e-5, "parameter " + i);
    FederatedConfig noisy = small().rounds(4).clientFraction(0.5).differentialPrivacy(0.5, 1.1, 1e-5).build();
    FederatedResult r = new FederatedTrainer(net(), noisy).fit(data, null);
    double expected = new RdpAccountant().step(0.5, 1.1, 4).epsilon(1e-5);
    assertEquals(expected, r.epsilon(), 1e-9);
    assertTrue(r.history().records("round").get(3).containsKey("dp_epsilon"));
    data.unpersist();
  }

  @Test
  void robustRulesAndCompressionStillLearnAndCompressionUploadsLess() {
    TrainingData data = silos(blobs(400, 14), 5);
    TrainingData val = silos(blobs(200, 15), 1);
    FederatedConfig.Builder b = small().rounds(6).localEpochs(2).evalEveryRounds(6);
    FederatedResult mean = new FederatedTrainer(net(), b.build()).fit(data, val);
    for (FederatedConfig.Aggregation a : new FederatedConfig.Aggregation[] {FederatedConfig.Aggregation.MEDIAN,
        FederatedConfig.Aggregation.TRIMMED_MEAN, FederatedConfig.Aggregation.MULTI_KRUM}) {
      FederatedResult r = new FederatedTrainer(net(), b.aggregation(a).krum(1, 0).trimFraction(0.2).build())
          .fit(data, val);
      assertTrue(r.finalValidation().get("val_accuracy") > 0.85, a + " " + r.finalValidation());
    }
    // Compression on a model large enough for int8 codes to outweigh their per-chunk headers.
    Network wide = Network.builder(4).dense(256, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    b.aggregation(FederatedConfig.Aggregation.MEAN);
    FederatedResult plain = new FederatedTrainer(wide, b.build()).fit(data, val);
    FederatedResult q = new FederatedTrainer(wide, b.compression(true, false).build()).fit(data, val);
    assertTrue(q.finalValidation().get("val_accuracy") > 0.85, q.finalValidation().toString());
    long plainUpload = (Long) plain.audit().get("largest_upload_bytes");
    long int8Upload = (Long) q.audit().get("largest_upload_bytes");
    assertTrue(int8Upload < 0.5 * plainUpload, int8Upload + " vs " + plainUpload);
    assertTrue(mean.finalValidation().get("val_accuracy") > 0.85, mean.finalValidation().toString());
    data.unpersist();
    val.unpersist();
  }

  @Test
  void manySilosStillShuffleNothing() {
    // With 12 partitions a depth-2 treeAggregate would add a shuffle of partial aggregates; the
    // federated default (depth 1) must not.
    TrainingData data = silos(blobs(240, 16), 12);
    FederatedResult r = new FederatedTrainer(net(), small().rounds(2).clientFraction(0.5).build()).fit(data, null);
    assertEquals(0L, r.audit().get("rows_moved_during_training"), r.audit().toString());
    assertEquals(0L, r.audit().get("shuffle_write_bytes"), r.audit().toString());
    assertEquals(2, r.audit().get("training_stages"), r.audit().toString());
    data.unpersist();
  }
}
