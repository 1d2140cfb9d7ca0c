package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
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
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.TaskHook;
import io.sparktrain.train.Update;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Simulated stragglers (Li et al. 2020): who straggles and how much is a function of (seed, round,
 * silo); drop averages exactly the silos that finished; partial keeps the prefix of the full work;
 * retries are identical. Expected models are computed independently, by plain full-batch gradient
 * descent on each silo's rows (no LocalWork, no Spark).
 */
class StragglersTest {
  private static SparkSession spark;
  private static final float LR = 0.5f;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2,4]", "StragglersTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }


  static Network net() {
    return Network.builder(4).dense(6, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  TrainingData silos(int rows, int n, long seed) {
    return TrainingData.decode(Blobs.frame(spark, Blobs.rows(rows, seed, false), n, Blobs.PLAIN),
        InputSpec.classification("features", "label").withNumClasses(3));
  }

  /** Full batch (B = 0): one step per local epoch, so E and the step budgets count gradient steps. */
  static FederatedConfig.Builder fullBatch(int epochs) {
    return FederatedConfig.builder().rounds(1).clientFraction(1.0).localEpochs(epochs).localBatch(0)
        .localOptimizer(OptimizerSpec.sgd().learningRate(LR).build()).evalEveryRounds(0).seed(5);
  }

  /** Plain gradient descent on all rows of {@code b}: {@code steps} steps of lr * mean gradient. */
  static float[] gradientDescent(Network net, float[] p0, Block b, int steps) {
    float[] w = p0.clone();
    float[] x = Arrays.copyOf(b.features(), b.rows() * b.inputs());
    float[] y = Arrays.copyOf(b.labels(), b.rows());
    for (int s = 0; s < steps; s++) {
      float[] g = new float[w.length];
      net.lossAndGradient(w, MiniBatch.wrap(b.inputs(), 1, x, y, null, b.rows()), g, net.newWorkspace(), 0);
      for (int i = 0; i < w.length; i++) w[i] -= LR * g[i] / b.rows();
    }
    return w;
  }

  /** p0 + the row-weighted mean of (w_s - p0) over the silos with steps[s] > 0. */
  static float[] weightedMean(float[] p0, List<Block> blocks, Network net, int[] steps) {
    double[] sum = new double[p0.length];
    double n = 0;
    for (int s = 0; s < blocks.size(); s++) {
      if (steps[s] <= 0) {
        continue;
      }
      float[] w = gradientDescent(net, p0, blocks.get(s), steps[s]);
      for (int i = 0; i < w.length; i++) sum[i] += blocks.get(s).rows() * (double) (w[i] - p0[i]);
      n += blocks.get(s).rows();
    }
    float[] out = p0.clone();
    for (int i = 0; i < out.length; i++) out[i] += (float) (sum[i] / n);
    return out;
  }

  static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }

  @Test
  void whoStragglesAndHowMuchIsAFunctionOfSeedRoundAndSilo() {
    long[] rows = new long[30];
    Arrays.fill(rows, 55); // 6 steps per epoch with B = 10
    FederatedConfig cfg = FederatedConfig.builder().clientFraction(1.0).localEpochs(20).localBatch(10)
        .stragglers(0.5).stragglerPolicy(FederatedConfig.StragglerPolicy.PARTIAL).seed(3).build();
    boolean[] all = new boolean[30];
    Arrays.fill(all, true);
    int[] timesStraggled = new int[30];
    int[] epochCounts = new int[20];
    int differentFromPrevious = 0;
    boolean[] previous = null;
    int rounds = 400;
    for (int round = 1; round <= rounds; round++) {
      Stragglers.Plan a = Stragglers.plan(cfg, rows, all, round);
      Stragglers.Plan again = Stragglers.plan(cfg, rows, all, round);
      boolean[] who = new boolean[30];
      for (int s = 0; s < 30; s++) {
        who[s] = a.isStraggler(s);
        assertEquals(a.isStraggler(s), again.isStraggler(s));
        assertEquals(a.steps(s), again.steps(s));
        if (who[s]) {
          timesStraggled[s]++;
          assertEquals(0, a.steps(s) % 6, "whole epochs: " + a.steps(s));
          int epochs = a.steps(s) / 6;
          assertTrue(epochs >= 1 && epochs <= 19, "epochs " + epochs);
          epochCounts[epochs]++;
        } else {
          assertEquals(Stragglers.FULL, a.steps(s));
        }
      }
      assertEquals(15, a.stragglers()); // exactly round(0.5 * 30) every round
      assertEquals(0, a.dropped());
      assertEquals(30, a.working());
      if (previous != null && !Arrays.equals(previous, who)) {
        differentFromPrevious++;
      }
      previous = who;
    }
    assertTrue(differentFromPrevious >= rounds - 5, "a new draw each round: " + differentFromPrevious);
    for (int s = 0; s < 30; s++) {
      double f = timesStraggled[s] / (double) rounds;
      assertTrue(Math.abs(f - 0.5) < 0.1, "silo " + s + " straggled in " + f + " of the rounds");
    }
    // e uniform in 1..19: every value shows up about 400 * 15 / 19 = 316 times
    for (int e = 1; e <= 19; e++) {
      assertTrue(epochCounts[e] > 200 && epochCounts[e] < 450, "e = " + e + ": " + epochCounts[e]);
    }
    // Another seed draws differently; the policy and mu change nothing about who straggles.
    FederatedConfig otherSeed = FederatedConfig.builder().clientFraction(1.0).localEpochs(20).localBatch(10)
        .stragglers(0.5).seed(4).build();
    FederatedConfig prox = FederatedConfig.builder().clientFraction(1.0).localEpochs(20).localBatch(10)
        .stragglers(0.5).proxMu(1f).seed(3).build();
    Stragglers.Plan p1 = Stragglers.plan(cfg, rows, all, 7);
    Stragglers.Plan p2 = Stragglers.plan(otherSeed, rows, all, 7);
    Stragglers.Plan p3 = Stragglers.plan(prox, rows, all, 7);
    boolean sameAsOtherSeed = true;
    for (int s = 0; s < 30; s++) {
      sameAsOtherSeed &= p1.isStraggler(s) == p2.isStraggler(s);
      assertEquals(p1.isStraggler(s), p3.isStraggler(s));
      assertEquals(p1.steps(s), p3.steps(s));
    }
    assertFalse(sameAsOtherSeed);
    assertTrue(otherSeed.dropsStragglers(), "auto with mu 0 drops");
    assertFalse(prox.dropsStragglers(), "auto with mu > 0 keeps partial work");
    // Only sampled silos straggle; the count follows the sample: round(0.9 * 10) = 9 of 10.
    boolean[] ten = new boolean[30];
    for (int s = 0; s < 30; s += 3) ten[s] = true;
    FederatedConfig ninety = FederatedConfig.builder().clientFraction(1.0).localEpochs(20).localBatch(10)
        .stragglers(0.9).seed(4).build();
    Stragglers.Plan nine = Stragglers.plan(ninety, rows, ten, 2);
    assertEquals(9, nine.stragglers());
    assertEquals(9, nine.dropped());
    assertEquals(1, nine.working());
    for (int s = 0; s < 30; s++) {
      if (!ten[s]) {
        assertFalse(nine.isStraggler(s));
        assertEquals(Stragglers.NONE, nine.steps(s));
      }
    }
    // E = 1: fewer steps of the one epoch, 1..S-1; full batch with E = 1: the one step.
    assertEquals(1, Stragglers.stragglerSteps(1, 1, 0, 55, 1, 0));
    for (int round = 0; round < 200; round++) {
      int s = Stragglers.stragglerSteps(1, round, 2, 55, 1, 10);
      assertTrue(s >= 1 && s <= 5, "steps " + s);
    }
    assertEquals(0, Stragglers.count(10, 0.0));
    assertEquals(5, Stragglers.count(10, 0.5));
    assertEquals(9, Stragglers.count(10, 0.9));
    assertEquals(1, Stragglers.count(1, 0.5));
    assertEquals(0, Stragglers.count(1, 0.4));
  }

  @Test
  void localWorkStopsAfterTheBudgetAsAPrefixOfTheFullRun() {
    Network net = net();
    TrainingData data = silos(53, 1, 21);
    Block b = data.blocks().collect().get(0);
    float[] p0 = net.initParameters(2);
    OptimizerSpec sgd = OptimizerSpec.sgd().learningRate(0.1).build();
    LocalWork lw = new LocalWork(net, 0f);
    Update full = lw.localEpochs(p0, b, 3, 10, sgd, 0f, 99);
    assertEquals(18, full.steps()); // 3 epochs of ceil(53 / 10) = 6 steps
    Update seven = new LocalWork(net, 0f).localEpochs(p0, b, 3, 10, sgd, 0f, 99, 7);
    assertEquals(7, seven.steps());
    assertEquals(53 + 10, seven.rows()); // one epoch, then one batch of 10
    assertEquals(53.0, seven.weight()); // the client's weight stays n_k
    Update twoEpochs = new LocalWork(net, 0f).localEpochs(p0, b, 2, 10, sgd, 0f, 99);
    Update twelve = new LocalWork(net, 0f).localEpochs(p0, b, 3, 10, sgd, 0f, 99, 12);
    assertArrayEquals(twoEpochs.vector(), twelve.vector(), "12 steps = the first 2 epochs");
    assertEquals(twoEpochs.lossSum(), twelve.lossSum(), 1e-9);
    Update capped = new LocalWork(net, 0f).localEpochs(p0, b, 3, 10, sgd, 0f, 99, 100);
    assertArrayEquals(full.vector(), capped.vector(), "a budget above the full work changes nothing");
    assertFalse(Arrays.equals(full.vector(), seven.vector()));
    assertThrows(IllegalArgumentException.class,
        () -> new LocalWork(net, 0f).localEpochs(p0, b, 3, 10, sgd, 0f, 99, -1));
    data.unpersist();
  }

  @Test
  void dropAveragesExactlyTheSilosThatFinishedAndReportsThem() {
    TrainingData data = silos(300, 6, 31); // 6 silos of 50 rows
    List<Block> blocks = data.blocks().collect();
    Network net = net();
    float[] p0 = net.initParameters(5);
    FederatedConfig cfg = fullBatch(3).stragglers(0.5).stragglerPolicy(FederatedConfig.StragglerPolicy.DROP).build();
    FederatedResult r = new FederatedTrainer(net, cfg).fit(data, null);
    boolean[] all = new boolean[6];
    Arrays.fill(all, true);
    Stragglers.Plan plan = Stragglers.plan(cfg, data.partitionRows(), all, 1);
    int[] steps = new int[6];
    int[] everyone = new int[6];
    for (int s = 0; s < 6; s++) {
      steps[s] = plan.isStraggler(s) ? 0 : 3;
      everyone[s] = 3;
    }
    assertEquals(3, plan.stragglers());
    float[] expected = weightedMean(p0, blocks, net, steps);
    float[] withStragglers = weightedMean(p0, blocks, net, everyone);
    assertTrue(maxDiff(expected, withStragglers) > 1e-3, "the test must tell the two apart");
    assertTrue(maxDiff(expected, r.params()) < 2e-5, "drop: mean of the 3 finished silos, diff "
        + maxDiff(expected, r.params()));
    Map<String, Object> rec = r.history().records("round").get(0);
    assertEquals(3.0, rec.get("stragglers"));
    assertEquals(3.0, rec.get("dropped"));
    assertEquals(6.0, rec.get("silos"));
    data.unpersist();
  }

  @Test
  void partialAveragesEveryStragglersFewerStepsIn() {
    TrainingData data = silos(240, 4, 41); // 4 silos of 60 rows
    List<Block> blocks = data.blocks().collect();
    Network net = net();
    float[] p0 = net.initParameters(5);
    FederatedConfig cfg = fullBatch(6).stragglers(0.5).stragglerPolicy(FederatedConfig.StragglerPolicy.PARTIAL)
        .build();
    assertEquals("FedProx", cfg.algorithmName(), "FedAvg keeping partial work is FedProx with mu 0");
    FederatedResult r = new FederatedTrainer(net, cfg).fit(data, null);
    boolean[] all = new boolean[4];
    Arrays.fill(all, true);
    Stragglers.Plan plan = Stragglers.plan(cfg, data.partitionRows(), all, 1);
    int[] steps = new int[4];
    int[] full = new int[4];
    for (int s = 0; s < 4; s++) {
      steps[s] = plan.isStraggler(s) ? plan.steps(s) : 6;
      full[s] = 6;
      if (plan.isStraggler(s)) {
        assertTrue(steps[s] >= 1 && steps[s] <= 5, "a straggler does fewer than E = 6 steps: " + steps[s]);
      }
    }
    assertEquals(2, plan.stragglers());
    float[] expected = weightedMean(p0, blocks, net, steps);
    assertTrue(maxDiff(expected, weightedMean(p0, blocks, net, full)) > 1e-3);
    assertTrue(maxDiff(expected, r.params()) < 2e-5, "partial: diff " + maxDiff(expected, r.params()));
    Map<String, Object> rec = r.history().records("round").get(0);
    assertEquals(2.0, rec.get("stragglers"));
    assertEquals(0.0, rec.get("dropped"));
    // One silo alone: a straggler with e epochs ends where a run with E = e ends.
    TrainingData one = silos(60, 1, 42);
    FederatedConfig single = fullBatch(6).stragglers(0.5).stragglerPolicy(FederatedConfig.StragglerPolicy.PARTIAL)
        .localBatch(10).build();
    Stragglers.Plan p = Stragglers.plan(single, one.partitionRows(), new boolean[] {true}, 1);
    assertTrue(p.isStraggler(0)); // round(0.5 * 1) = 1
    int e = p.steps(0) / 6;
    float[] partial = new FederatedTrainer(net, single).fit(one, null).params();
    float[] shorter = new FederatedTrainer(net, fullBatch(e).localBatch(10).build()).fit(one, null).params();
    float[] whole = new FederatedTrainer(net, fullBatch(6).localBatch(10).build()).fit(one, null).params();
    assertArrayEquals(shorter, partial, "straggler with " + e + " epochs");
    assertTrue(maxDiff(whole, partial) > 1e-4);
    data.unpersist();
    one.unpersist();
  }

  @Test
  void whenEveryoneStragglesAndDropIsOnTheModelStays() {
    TrainingData data = silos(120, 4, 51);
    Network net = net();
    // C = 0.25: one silo per round; round(0.5 * 1) = 1 straggler: every round is empty.
    FederatedConfig cfg = fullBatch(2).rounds(3).clientFraction(0.25).stragglers(0.5)
        .server(ServerOptimizer.Kind.FEDAVGM).serverLr(1.0).build();
    assertTrue(cfg.dropsStragglers());
    FederatedResult r = new FederatedTrainer(net, cfg).fit(data, null);
    assertArrayEquals(net.initParameters(5), r.params());
    List<Map<String, Object>> rounds = r.history().records("round");
    assertEquals(3, rounds.size());
    for (Map<String, Object> rec : rounds) {
      assertEquals(1.0, rec.get("dropped"));
      assertTrue(Double.isNaN((Double) rec.get("loss")), "no training loss without an update");
    }
    // The same with partial work does train.
    FederatedConfig partial = fullBatch(2).rounds(3).clientFraction(0.25).stragglers(0.5)
        .stragglerPolicy(FederatedConfig.StragglerPolicy.PARTIAL).build();
    assertTrue(maxDiff(net.initParameters(5), new FederatedTrainer(net, partial).fit(data, null).params()) > 1e-4);
    data.unpersist();
  }

  @Test
  void aRetriedTaskSendsTheIdenticalUpdate() {
    TrainingData data = silos(240, 4, 61);
    for (FederatedConfig.StragglerPolicy policy : new FederatedConfig.StragglerPolicy[] {
        FederatedConfig.StragglerPolicy.PARTIAL, FederatedConfig.StragglerPolicy.DROP}) {
      FederatedConfig cfg = FederatedConfig.builder().rounds(3).clientFraction(1.0).localEpochs(4).localBatch(10)
          .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(8)
          .stragglers(0.5).stragglerPolicy(policy).build();
      float[] clean = new FederatedTrainer(net(), cfg).fit(data, null).params();
      String failures = Faults.counter();
      TaskHook hook = (round, partition, attempt) -> {
        if (round == 2 && attempt == 0) {
          Faults.increment(failures);
          throw new IllegalStateException("injected failure in round 2");
        }
      };
      FederatedConfig failing = FederatedConfig.builder().rounds(3).clientFraction(1.0).localEpochs(4).localBatch(10)
          .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(8).stragglers(0.5)
          .stragglerPolicy(policy).taskHook(hook).build();
      float[] retried = new FederatedTrainer(net(), failing).fit(data, null).params();
      assertTrue(Faults.count(failures) >= 1, policy.name());
      // Each silo's update is identical and the driver adds them in silo order: bit-identical.
      assertArrayEquals(clean, retried, policy.name());
      assertTrue(maxDiff(clean, new FederatedTrainer(net(), FederatedConfig.builder().rounds(3).clientFraction(1.0)
          .localEpochs(4).localBatch(10).localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build())
          .evalEveryRounds(0).seed(8).build()).fit(data, null).params()) > 1e-4, "stragglers change the result");
    }
    data.unpersist();
  }

  @Test
  void secureAggregationAndDpCountOnlyTheSilosThatFinish() {
    TrainingData data = silos(200, 4, 71);
    FederatedConfig.Builder b = FederatedConfig.builder().rounds(2).clientFraction(1.0).localEpochs(2).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(9).stragglers(0.5);
    float[] plain = new FederatedTrainer(net(), b.build()).fit(data, null).params();
    // Masks are agreed among the 2 silos that finish: the unmasked sum is the plain one.
    float[] masked = new FederatedTrainer(net(), b.secureAggregation(true).build()).fit(data, null).params();
    for (int i = 0; i < plain.length; i++) assertEquals(plain[i], masked[i], 1e-4, "parameter " + i);
    // DP: 2 of the 4 silos contribute each round, so the accountant charges q = 0.5, not 1.
    FederatedResult dp = new FederatedTrainer(net(), b.secureAggregation(false).differentialPrivacy(1.0, 1.1, 1e-5)
        .build()).fit(data, null);
    assertEquals(new RdpAccountant().step(0.5, 1.1, 2).epsilon(1e-5), dp.epsilon(), 1e-9);
    assertEquals(2.0, dp.history().records("round").get(1).get("dropped"));
    data.unpersist();
  }

  @Test
  void badSettingsAreRejectedNamingTheKey() {
    IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
        () -> FederatedConfig.builder().stragglers(1.0).build());
    assertEquals("federated.stragglers: expected a fraction in [0, 1), found 1.0", one.getMessage());
    assertEquals("federated.stragglers: expected a fraction in [0, 1), found -0.1", assertThrows(
        IllegalArgumentException.class, () -> FederatedConfig.builder().stragglers(-0.1).build()).getMessage());
    assertEquals("federated.stragglers: expected a fraction in [0, 1), found NaN", assertThrows(
        IllegalArgumentException.class, () -> FederatedConfig.builder().stragglers(Double.NaN).build()).getMessage());
    assertEquals("federated.straggler_policy: expected one of auto, drop, partial, found null", assertThrows(
        IllegalArgumentException.class, () -> FederatedConfig.builder().stragglerPolicy(null).build()).getMessage());
    String dp = assertThrows(IllegalArgumentException.class, () -> FederatedConfig.builder().stragglers(0.5)
        .sampling(FederatedConfig.Sampling.POISSON).differentialPrivacy(1, 1, 1e-5).build()).getMessage();
    assertTrue(dp.startsWith("federated.straggler_policy: expected partial with DP and poisson sampling"), dp);
    assertTrue(dp.endsWith("found drop"), dp);
  }
}
