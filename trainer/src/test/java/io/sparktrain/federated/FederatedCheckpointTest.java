package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import io.sparktrain.optim.OptimizerState;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.Checkpoint;
import io.sparktrain.train.CheckpointStore;
import io.sparktrain.train.RoundEvent;
import io.sparktrain.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Federated checkpoints, resume and early stopping on a real local[2] session. Runs compare against
 * an uninterrupted run or a plain run of fewer rounds. With at most two sampled silos per round the
 * sum of their updates does not depend on the order Spark returns them, so equal runs are
 * bit-identical and the comparisons are exact.
 */
class FederatedCheckpointTest {
  private static SparkSession spark;
  private static TrainingData silos;
  private static TrainingData validation;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "FederatedCheckpointTest");
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(3);
    silos = TrainingData.decode(Blobs.frame(spark, Blobs.rows(240, 21, false), 4, Blobs.PLAIN), spec);
    validation = TrainingData.decode(Blobs.frame(spark, Blobs.rows(90, 22, false), 2, Blobs.PLAIN), spec);
  }

  @AfterAll
  static void stop() {
    silos.unpersist();
    validation.unpersist();
    spark.stop();
  }

  static Network net(int hidden) {
    return Network.builder(4).dense(hidden, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  /** FedAdam (server moments), DP-FedAvg with noise (the accountant), 2 of 4 silos a round. */
  static FederatedConfig.Builder fedAdamWithDp(int rounds) {
    return FederatedConfig.builder().rounds(rounds).clientFraction(0.5).localEpochs(1).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build())
        .server(ServerOptimizer.Kind.FEDADAM).serverLr(0.05)
        .differentialPrivacy(1.0, 0.8, 1e-5).evalEveryRounds(3).seed(11);
  }

  /** Throws at the end of a round, before its checkpoint: a crash of the driver. */
  static final class CrashAfter implements TrainingListener {
    private final long round;

    CrashAfter(long round) {
      this.round = round;
    }

    @Override
    public void onRound(RoundEvent e) {
      if (e.round() == round) {
        throw new IllegalStateException("simulated crash after round " + round);
      }
    }
  }

  @Test
  void aRunResumedAfterACrashEndsWithTheParametersAndEpsilonOfAnUninterruptedRun(@TempDir Path dir) throws Exception {
    int rounds = 7;
    FederatedResult clean = new FederatedTrainer(net(8), fedAdamWithDp(rounds).build()).fit(silos, validation);

    String ckpt = dir.resolve("ckpt").toUri().toString();
    FederatedConfig cfg = fedAdamWithDp(rounds).checkpoints(ckpt, 2, 2).resume(true).build();
    IllegalStateException crash = assertThrows(IllegalStateException.class,
        () -> new FederatedTrainer(net(8), cfg).addListener(new CrashAfter(5)).fit(silos, validation));
    assertEquals("simulated crash after round 5", crash.getMessage());
    CheckpointStore store = new CheckpointStore(ckpt, spark.sparkContext().hadoopConfiguration(), 2);
    assertEquals(List.of(2L, 4L), store.rounds());
    assertEquals(2, store.latest().get().optimizerState().slotCount(), "FedAdam's m and v are in the checkpoint");

    List<Long> seen = new ArrayList<>();
    FederatedResult resumed = new FederatedTrainer(net(8), cfg)
        .addListener(new TrainingListener() {
          @Override
          public void onRound(RoundEvent e) {
            seen.add(e.round());
          }
        }).fit(silos, validation);
    assertEquals(List.of(5L, 6L, 7L), seen, "the resumed run continues after round 4");
    assertEquals(rounds, resumed.rounds());
    assertArrayEquals(clean.params(), resumed.params());
    assertEquals(clean.epsilon(), resumed.epsilon(), 0.0);
    // The accountant itself, independently: 7 rounds at q = 2/4, z = 0.8.
    assertEquals(new RdpAccountant().step(0.5, 0.8, rounds).epsilon(1e-5), resumed.epsilon(), 1e-12);
    assertEquals(clean.finalValidation().get("val_loss"), resumed.finalValidation().get("val_loss"), 0.0);
    // The last round is checkpointed too (round 6 and 7 are kept with keep 2).
    assertEquals(List.of(6L, 7L), store.rounds());

    // Extending the finished run to 9 rounds equals an uninterrupted 9-round run.
    FederatedResult longer = new FederatedTrainer(net(8), fedAdamWithDp(9).checkpoints(ckpt, 2, 2).resume(true)
        .build()).fit(silos, validation);
    FederatedResult clean9 = new FederatedTrainer(net(8), fedAdamWithDp(9).build()).fit(silos, validation);
    assertArrayEquals(clean9.params(), longer.params());
    assertEquals(clean9.epsilon(), longer.epsilon(), 0.0);
  }

  @Test
  void theControlAFreshServerOptimizerAndAccountantWouldNotReproduceTheRun(@TempDir Path dir) throws Exception {
    // The control for the test above: round 4's checkpoint without the FedAdam moments and with a fresh
    // accountant's RDP resumes to other parameters and a smaller epsilon, so that test can fail.
    String ckpt = dir.resolve("ckpt").toUri().toString();
    FederatedResult clean = new FederatedTrainer(net(8), fedAdamWithDp(6).build()).fit(silos, validation);
    new FederatedTrainer(net(8), fedAdamWithDp(4).checkpoints(ckpt, 2, 3).build()).fit(silos, validation);
    CheckpointStore store = new CheckpointStore(ckpt, spark.sparkContext().hadoopConfiguration(), 3);
    Checkpoint c = store.load(4);
    Map<String, String> extras = new LinkedHashMap<>(c.extras());
    String zeros = Arrays.stream(new RdpAccountant().rdp()).mapToObj(Double::toString)
        .collect(Collectors.joining(","));
    extras.put("federated.rdp", zeros);
    store.save(new Checkpoint(c.round(), c.epoch(), c.roundInEpoch(), c.seed(), c.params(), c.bestParams(), null,
        c.configJson(), extras, c.createdMillis()));
    FederatedResult tampered = new FederatedTrainer(net(8), fedAdamWithDp(6).checkpoints(ckpt, 2, 3).resume(true)
        .build()).fit(silos, validation);
    assertFalse(Arrays.equals(clean.params(), tampered.params()));
    assertEquals(new RdpAccountant().step(0.5, 0.8, 2).epsilon(1e-5), tampered.epsilon(), 1e-12);
    assertTrue(tampered.epsilon() < clean.epsilon());
  }

  @Test
  void serverOptimizerStateRoundTrips() {
    for (ServerOptimizer.Kind kind : ServerOptimizer.Kind.values()) {
      ServerOptimizer a = new ServerOptimizer(kind, 0.1, 0.9, 0.9, 0.99, 1e-3);
      float[] xa = {1f, -2f, 3f};
      a.apply(xa, new float[] {0.3f, -0.1f, 0.2f});
      a.apply(xa, new float[] {-0.2f, 0.4f, 0.1f});
      ServerOptimizer b = new ServerOptimizer(kind, 0.1, 0.9, 0.9, 0.99, 1e-3);
      b.restore(a.state());
      float[] xb = xa.clone();
      float[] d = {0.05f, 0.05f, -0.3f};
      a.apply(xa, d);
      b.apply(xb, d);
      assertArrayEquals(xa, xb, kind.name());
      assertEquals(a.state().steps(), b.state().steps());
    }
    ServerOptimizer avg = new ServerOptimizer(ServerOptimizer.Kind.FEDAVG, 1, 0.9, 0.9, 0.99, 1e-3);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> avg.restore(new OptimizerState(3, new float[][] {{1f}, {2f}})));
    assertEquals("server optimizer state: expected at most 0 slot(s) for fedavg, found 2", e.getMessage());
  }

  @Test
  void resumingWithAnotherNetworkOrSiloCountFailsNamingWhatDiffers(@TempDir Path dir) {
    String ckpt = dir.resolve("ckpt").toUri().toString();
    new FederatedTrainer(net(8), fedAdamWithDp(2).checkpoints(ckpt, 1, 1).build()).fit(silos, validation);
    TrainingData threeSilos = TrainingData.decode(Blobs.frame(spark, Blobs.rows(240, 21, false), 3, Blobs.PLAIN),
        InputSpec.classification("features", "label").withNumClasses(3));
    try {
      FederatedConfig resume = fedAdamWithDp(4).checkpoints(ckpt, 1, 1).resume(true).build();
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> new FederatedTrainer(net(6), resume).fit(threeSilos, validation));
      String m = e.getMessage();
      assertTrue(m.startsWith("checkpoint.resume: no usable checkpoint in " + ckpt + ": ckpt-000000000002.bin (does"
          + " not fit this run: network: expected Network(inputs=4 -> "), m);
      assertTrue(m.contains("silos: expected 3 (this run), found 4 (the checkpoint)"), m);
      assertTrue(m.contains("params=51) (this run), found Network(") && m.contains("params=67) (the checkpoint)"), m);
      assertTrue(m.endsWith("Nothing was moved or deleted; set checkpoint.resume: false (or another checkpoint.dir)"
          + " to start fresh"), m);
      IllegalStateException server = assertThrows(IllegalStateException.class,
          () -> new FederatedTrainer(net(8), fedAdamWithDp(4).server(ServerOptimizer.Kind.FEDAVGM)
              .checkpoints(ckpt, 1, 1).resume(true).build()).fit(silos, validation));
      assertTrue(server.getMessage().contains("does not fit this run: server: expected fedavgm (this run),"
          + " found fedadam (the checkpoint))"), server.getMessage());
    } finally {
      threeSilos.unpersist();
    }
  }

  /** FedAvg with int8 uploads and error feedback, 2 of 4 silos a round, no evaluation. */
  static FederatedConfig.Builder errorFeedback(int rounds) {
    return FederatedConfig.builder().rounds(rounds).clientFraction(0.5).localEpochs(1).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).compression(true, true).evalEveryRounds(0)
        .seed(13);
  }

  private static final int WIDE = 256; // 2051 parameters: a residual (8 KB) is far larger than a task's result

  /** The names in {@code <ckpt>/silo-state}, sorted. */
  private static List<String> stateDirs(Path ckpt) throws IOException {
    try (Stream<Path> s = Files.list(ckpt.resolve("silo-state"))) {
      return s.map(x -> x.getFileName().toString()).sorted().toList();
    }
  }

  /**
   * Error feedback with partial sampling: a run crashed after round 5 and resumed from round 4 ends
   * with bit-identical parameters to the uninterrupted run, because every silo wrote its residual
   * with the checkpoint (from its task: one job of one task per silo with a residual, nothing
   * shuffled, no task result near a residual's size) and reads it back on resume. A silo sampled
   * by then holds a residual and is listed by the manifest; one never sampled has no file.
   * Keep-last-2 drops the residuals with the checkpoints; the checkpoint and resume jobs are not
   * training rounds and nothing moves.
   */
  @Test
  void withErrorFeedbackAResumedRunEqualsAnUninterruptedOneFromTheSilosResidualFiles(@TempDir Path dir)
      throws Exception {
    int rounds = 7;
    JobWatch watch = new JobWatch();
    spark.sparkContext().addSparkListener(watch);
    try {
      FederatedResult clean = new FederatedTrainer(net(WIDE), errorFeedback(rounds).build()).fit(silos, null);
      Path ckptDir = dir.resolve("ckpt");
      String ckpt = ckptDir.toUri().toString();
      FederatedConfig cfg = errorFeedback(rounds).checkpoints(ckpt, 2, 2).resume(true).build();
      assertThrows(IllegalStateException.class,
          () -> new FederatedTrainer(net(WIDE), cfg).addListener(new CrashAfter(5)).fit(silos, null));
      CheckpointStore store = new CheckpointStore(ckpt, spark.sparkContext().hadoopConfiguration(), 2);
      assertEquals(List.of(2L, 4L), store.rounds());
      assertEquals(List.of("round-000000000002", "round-000000000004"), stateDirs(ckptDir));
      assertEquals("silo-state/round-000000000004", store.load(4).extras().get("federated.residuals"));

      // A file with a residual exactly for the silos sampled up to that round, listed by the manifest.
      int d = net(WIDE).initParameters(0).length;
      long[] rows = silos.partitionRows();
      boolean[] seen = new boolean[rows.length];
      Map<Integer, Integer> withResidual = new HashMap<>(); // round -> silos sampled by then
      int withNone = 0;
      FileSystem fs = store.fileSystem();
      for (int round = 1; round <= rounds; round++) {
        boolean[] sampled = ClientSampler.sample(rows, 0.5, cfg.sampling(), cfg.seed(), round);
        for (int p = 0; p < rows.length; p++) seen[p] |= sampled[p];
        int n = 0;
        for (boolean x : seen) n += x ? 1 : 0;
        withResidual.put(round, n);
        if (round % 2 == 1 || round > 4) continue;
        String state = store.stateDir(round).toString();
        int[] listed = ResidualFiles.readManifest(fs, state, round, rows.length);
        for (int p = 0; p < rows.length; p++) {
          assertEquals(seen[p], Arrays.binarySearch(listed, p) >= 0, "round " + round + " silo " + p + " listed");
          if (seen[p]) {
            assertEquals(d, ResidualFiles.read(fs, state, round, p, d).length, "round " + round + " silo " + p);
          } else {
            assertFalse(fs.exists(ResidualFiles.path(state, p)), "round " + round + " silo " + p + ": no file");
            withNone++;
          }
        }
      }
      assertTrue(withNone > 0, "a silo not yet sampled at a checkpoint (this seed): it has no file");

      FederatedResult resumed = new FederatedTrainer(net(WIDE), cfg).fit(silos, null);
      assertArrayEquals(clean.params(), resumed.params());
      assertEquals(0L, resumed.audit().get("rows_moved_during_training"), resumed.audit().toString());
      assertEquals(3, resumed.audit().get("training_stages"), "rounds 5-7 only: " + resumed.audit());
      // Keep the last 2: the checkpoints of rounds 6 and 7, and only their residuals.
      assertEquals(List.of(6L, 7L), store.rounds());
      assertEquals(List.of("round-000000000006", "round-000000000007"), stateDirs(ckptDir));

      spark.sparkContext().listenerBus().waitUntilEmpty();
      for (String job : List.of("sparktrain federated checkpoint residuals round 2",
          "sparktrain federated checkpoint residuals round 4", "sparktrain federated resume residuals round 4",
          "sparktrain federated checkpoint residuals round 7")) {
        assertFalse(LocalityAudit.isTrainingRound(job), job);
        List<JobWatch.Task> tasks = watch.tasks(job);
        int round = Integer.parseInt(job.substring(job.lastIndexOf(' ') + 1));
        assertEquals(withResidual.get(round), tasks.size(), job + ": one task per silo with a residual");
        for (JobWatch.Task t : tasks) {
          assertEquals(0L, t.shuffleRecords() + t.shuffleBytes(), t.toString());
          assertTrue(t.resultBytes() < 4L * d / 2, "a task result of " + t.resultBytes() + " bytes: " + t);
        }
      }
    } finally {
      spark.sparkContext().removeSparkListener(watch);
    }
  }

  /**
   * A checkpoint whose silo residual file is missing (found by the listing) or has damaged bytes
   * (found by the silo reading it) is set aside with its state directory and the run resumes from
   * the checkpoint before, ending where the uninterrupted run ends; the control: the checkpoint
   * resumed without residuals (its record removed: zeros) ends elsewhere.
   */
  @Test
  void aMissingOrDamagedResidualFallsBackToThePreviousCheckpointAndNoneEndsElsewhere(@TempDir Path dir)
      throws Exception {
    FederatedResult clean = new FederatedTrainer(net(WIDE), errorFeedback(6).build()).fit(silos, null);
    for (String fault : new String[] {"damaged", "missing"}) {
      Path ckptDir = dir.resolve(fault);
      String ckpt = ckptDir.toUri().toString();
      new FederatedTrainer(net(WIDE), errorFeedback(4).checkpoints(ckpt, 2, 3).build()).fit(silos, null);
      Path file = ckptDir.resolve("silo-state/round-000000000004/silo-00001.bin");
      Files.deleteIfExists(file.resolveSibling(".silo-00001.bin.crc"));
      if (fault.equals("damaged")) {
        byte[] b = Files.readAllBytes(file);
        b[b.length / 2] ^= 0x10; // the length stays right: only the silo's checksum finds it
        Files.write(file, b);
      } else {
        Files.delete(file);
      }
      FederatedResult fellBack = new FederatedTrainer(net(WIDE), errorFeedback(6).checkpoints(ckpt, 2, 3)
          .resume(true).build()).fit(silos, null);
      assertEquals(6, fellBack.rounds(), fault);
      assertArrayEquals(clean.params(), fellBack.params(), fault + ": resumed from round 2, the uninterrupted bits");
      assertTrue(Files.exists(ckptDir.resolve("ckpt-000000000004.bin.damaged")), fault);
      assertTrue(Files.isDirectory(ckptDir.resolve("silo-state/round-000000000004.damaged")), fault);
    }

    // The control: round 4's checkpoint without its residuals record resumes with zero residuals.
    Path ckptDir = dir.resolve("zeros");
    String ckpt = ckptDir.toUri().toString();
    new FederatedTrainer(net(WIDE), errorFeedback(4).checkpoints(ckpt, 2, 3).build()).fit(silos, null);
    CheckpointStore store = new CheckpointStore(ckpt, spark.sparkContext().hadoopConfiguration(), 3);
    Checkpoint four = store.load(4);
    Map<String, String> extras = new LinkedHashMap<>(four.extras());
    assertTrue(extras.remove("federated.residuals") != null);
    store.save(new Checkpoint(four.round(), four.epoch(), four.roundInEpoch(), four.seed(), four.params(),
        four.bestParams(), four.optimizerState(), four.configJson(), extras, four.createdMillis()));
    FederatedResult zeros = new FederatedTrainer(net(WIDE), errorFeedback(6).checkpoints(ckpt, 2, 3).resume(true)
        .build()).fit(silos, null);
    assertEquals(6, zeros.rounds());
    assertFalse(Arrays.equals(clean.params(), zeros.params()), "the residuals changed nothing");
  }

  /**
   * Error feedback on one side only: a checkpoint with residuals resumed with plain int8 ignores them
   * and writes none; that checkpoint resumed with error feedback starts from zero residuals and
   * writes them again. Both run.
   */
  @Test
  void errorFeedbackOnOneSideOfAResumeIsAllowed(@TempDir Path dir) throws Exception {
    Path ckptDir = dir.resolve("ckpt");
    String ckpt = ckptDir.toUri().toString();
    new FederatedTrainer(net(8), errorFeedback(2).checkpoints(ckpt, 2, 3).build()).fit(silos, null);
    FederatedResult int8 = new FederatedTrainer(net(8), errorFeedback(4).compression(true, false)
        .checkpoints(ckpt, 2, 3).resume(true).build()).fit(silos, null);
    assertEquals(4, int8.rounds());
    CheckpointStore store = new CheckpointStore(ckpt, spark.sparkContext().hadoopConfiguration(), 3);
    assertEquals(null, store.load(4).extras().get("federated.residuals"));
    assertEquals(List.of("round-000000000002"), stateDirs(ckptDir));
    FederatedResult again = new FederatedTrainer(net(8), errorFeedback(6).checkpoints(ckpt, 2, 3).resume(true)
        .build()).fit(silos, null);
    assertEquals(6, again.rounds());
    assertEquals("silo-state/round-000000000006", store.load(6).extras().get("federated.residuals"));
    assertEquals(List.of("round-000000000002", "round-000000000006"), stateDirs(ckptDir));
  }

  /** FedAvg, 2 of 4 silos a round, evaluation every 2 rounds. */
  static FederatedConfig.Builder fedAvg(int rounds) {
    return FederatedConfig.builder().rounds(rounds).clientFraction(0.5).localEpochs(1).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(2).seed(5);
  }

  @Test
  void earlyStoppingCountsEvaluationsAndRestoresTheBestRound(@TempDir Path dir) {
    // min_delta 100: only the first evaluation (round 2) improves; patience 2 stops after the evaluations
    // of rounds 4 and 6, at round 6 of 20.
    String ckpt = dir.resolve("ckpt").toUri().toString();
    FederatedConfig cfg = fedAvg(20).earlyStopping("val_loss", 2, 100).checkpoints(ckpt, 4, 3).resume(true).build();
    FederatedResult stopped = new FederatedTrainer(net(8), cfg).fit(silos, validation);
    assertEquals(6, stopped.rounds());
    assertEquals("early_stopping", stopped.stopReason());
    assertEquals(6, stopped.history().records("round").size());
    // Restore best: the parameters of a plain 2-round run, and its validation metrics.
    FederatedResult two = new FederatedTrainer(net(8), fedAvg(2).build()).fit(silos, validation);
    assertArrayEquals(two.params(), stopped.params());
    assertEquals(two.finalValidation().get("val_loss"), stopped.finalValidation().get("val_loss"), 0.0);
    // Without restore: the parameters of a plain 6-round run.
    FederatedResult last = new FederatedTrainer(net(8), fedAvg(20).earlyStopping("val_loss", 2, 100)
        .restoreBestWeights(false).build()).fit(silos, validation);
    assertEquals(6, last.rounds());
    assertArrayEquals(new FederatedTrainer(net(8), fedAvg(6).build()).fit(silos, validation).params(), last.params());
    // The stop is checkpointed (round 6, besides the every-4 checkpoint of round 4); resuming a finished
    // run does no more rounds and returns the same result.
    FederatedResult again = new FederatedTrainer(net(8), cfg).fit(silos, validation);
    assertEquals(0, again.history().records("round").size());
    assertEquals(6, again.rounds());
    assertEquals("early_stopping", again.stopReason());
    assertArrayEquals(stopped.params(), again.params());
    // A metric that keeps improving (min_delta 0, val_loss on a learnable problem) runs every round.
    FederatedResult full = new FederatedTrainer(net(8), fedAvg(6).earlyStopping("val_loss", 1, 0).build())
        .fit(silos, validation);
    assertEquals("rounds", full.stopReason());
    assertEquals(6, full.rounds());
  }

  @Test
  void earlyStoppingNeedsValidationDataBeforeAnyRound() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new FederatedTrainer(net(8), fedAvg(4).earlyStopping("val_accuracy", 2, 0).build()).fit(silos, null));
    assertEquals("early_stopping.metric: val_accuracy needs validation data, found none", e.getMessage());
    IllegalArgumentException every = assertThrows(IllegalArgumentException.class,
        () -> fedAvg(4).checkpoints("file:///tmp/x", 0, 3).build());
    assertEquals("checkpoint.every_rounds: expected >= 1 with a checkpoint dir, found 0", every.getMessage());
  }
}
