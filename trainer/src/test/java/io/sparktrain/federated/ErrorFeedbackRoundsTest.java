package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Faults;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.TaskHook;
import io.sparktrain.util.Seeds;
import java.io.Serializable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/** Error feedback in the federated round loop: residuals kept per silo on the executors across rounds. */
class ErrorFeedbackRoundsTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2,4]", "ErrorFeedbackRoundsTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }


  private static TrainingData silos(int rows, int n, long seed) {
    return TrainingData.decode(Blobs.frame(spark, Blobs.rows(rows, seed, false), n, Blobs.PLAIN),
        InputSpec.classification("features", "label").withNumClasses(3));
  }

  /** A silo's "true delta" in a round: known to the test independently of Spark. */
  private static float[] trueDelta(int silo, long round, int d) {
    SplittableRandom r = new SplittableRandom(Seeds.of(99, round, silo));
    float[] v = new float[d];
    float scale = (float) Math.pow(10, -1 - silo % 3); // silos of different magnitudes
    for (int i = 0; i < d; i++) v[i] = (float) (scale * r.nextGaussian());
    return v;
  }

  /**
   * The error-feedback invariant, silo by silo, through the executor-side residuals: the sum of
   * what a silo sent (dequantized, as the driver applies it) plus the residual it holds at the end
   * equals the sum of its true deltas over the rounds it was sampled in. A residual that were not
   * carried between rounds, or changed in rounds the silo sat out, breaks it. Also: one Spark job
   * per round, and a silo never sampled holds no residual.
   */
  @Test
  void sentPlusFinalResidualEqualsTheSumOfTrueDeltas() throws Exception {
    TrainingData data = silos(100, 5, 21);
    int d = 5000; // two quantization chunks
    int silos = 5;
    boolean[][] sampled = {
        {true, true, true, true, false},
        {true, false, true, false, false},
        {true, true, true, true, false},
        {false, true, false, false, false},
        {true, true, true, true, false},
        {true, true, false, true, false}};
    double[][] truth = new double[silos][d];
    double[][] sent = new double[silos][d];
    AtomicInteger jobs = new AtomicInteger();
    SparkListener countJobs = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart e) {
        jobs.incrementAndGet();
      }
    };
    spark.sparkContext().addSparkListener(countJobs);
    try (SiloResiduals residuals = new SiloResiduals(data.blocks(), d)) {
      for (int round = 1; round <= sampled.length; round++) {
        long r = round;
        jobs.set(0);
        List<SiloWork.Result> uploads = uploads(residuals, r, sampled[round - 1], (p, b, residual) -> {
          SiloWork.Result out = new SiloWork.Result();
          out.silo = p;
          out.compressed = ErrorFeedback.compress(trueDelta(p, r, d), residual, SiloWork.QUANTIZATION_CHUNK,
              Seeds.of(7, r, p, 0x71));
          return out;
        }).collect();
        residuals.commit();
        spark.sparkContext().listenerBus().waitUntilEmpty();
        assertEquals(1, jobs.get(), "round " + round + ": the uploads and the new residuals in one job");
        assertEquals(residuals.partsForTesting(), cachedResiduals(), "round " + round + ": parts no silo needs"
            + " any more are dropped from the executors");
        int expectedUploads = 0;
        for (int p = 0; p < silos; p++) {
          if (sampled[round - 1][p]) {
            expectedUploads++;
            float[] t = trueDelta(p, r, d);
            for (int i = 0; i < d; i++) truth[p][i] += t[i];
          }
        }
        assertEquals(expectedUploads, uploads.size());
        for (SiloWork.Result u : uploads) {
          assertTrue(sampled[round - 1][u.silo]);
          float[] y = u.compressed.decode();
          for (int i = 0; i < d; i++) sent[u.silo][i] += y[i];
        }
      }
      List<float[]> held = residuals.collectForTesting();
      assertEquals(silos, held.size());
      assertNull(held.get(4), "silo 4 was never sampled: no residual");
      for (int p = 0; p < 4; p++) {
        float[] e = held.get(p);
        double lost = 0;
        double scale = Math.pow(10, -1 - p % 3);
        for (int i = 0; i < d; i++) {
          assertEquals(truth[p][i], sent[p][i] + e[i], 1e-4 * scale, "silo " + p + " index " + i);
          lost = Math.max(lost, Math.abs(truth[p][i] - sent[p][i]));
        }
        // Not vacuous: quantization did lose something the residual now holds.
        assertTrue(lost > 1e-3 * scale, "silo " + p + ": max |truth - sent| " + lost);
      }
      assertTrue(residuals.partsForTesting() > 1, "partial sampling spreads the residuals over parts");
      residuals.close();
      assertEquals(0, cachedResiduals(), "close drops every residual");
    } finally {
      spark.sparkContext().removeSparkListener(countJobs);
      data.unpersist();
    }
  }

  /** Persisted RDDs of error-feedback residuals. */
  private static int cachedResiduals() {
    int n = 0;
    for (RDD<?> rdd : CollectionConverters.asJava(spark.sparkContext().getPersistentRDDs()).values()) {
      n += rdd.name() != null && rdd.name().contains("error-feedback") ? 1 : 0;
    }
    return n;
  }

  /**
   * Checkpointing the residuals: each silo's task writes its own file (one job of one task per silo,
   * not a training round, no shuffle, task results far smaller than one float32 residual, so no
   * residual travels to the driver), the files hold exactly the residuals the executors hold (a silo
   * never sampled has no file; the manifest lists the others), and a fresh SiloResiduals loads them back
   * bit-exact. A length that does not fit the run fails naming the silo, the round and the file.
   */
  @Test
  // CHECKSTYLE:QUALIFIED org.apache.hadoop.fs.Path is imported: the test reads the files through Hadoop
  void theSilosWriteTheirOwnResidualFilesAndReadThemBackBitExact(@TempDir java.nio.file.Path tmp) throws Exception {
    TrainingData data = silos(100, 4, 25);
    int d = 5000;
    boolean[][] sampled = {{true, false, true, false}, {false, true, true, false}};
    String dir = tmp.resolve("silo-state").resolve("round-2").toUri().toString();
    JobWatch watch = new JobWatch();
    spark.sparkContext().addSparkListener(watch);
    try (SiloResiduals residuals = new SiloResiduals(data.blocks(), d)) {
      for (int round = 1; round <= sampled.length; round++) {
        long r = round;
        uploads(residuals, r, sampled[round - 1], (p, b, residual) -> {
          SiloWork.Result out = new SiloWork.Result();
          out.silo = p;
          out.compressed = ErrorFeedback.compress(trueDelta(p, r, d), residual, SiloWork.QUANTIZATION_CHUNK,
              Seeds.of(7, r, p, 0x71));
          return out;
        }).count();
        residuals.commit();
      }
      String description = "sparktrain federated checkpoint residuals round 2";
      assertFalse(LocalityAudit.isTrainingRound(description), "the checkpoint job is not a training round");
      residuals.save(dir, 2, new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
      spark.sparkContext().listenerBus().waitUntilEmpty();
      List<JobWatch.Task> tasks = watch.tasks(description);
      assertEquals(3, tasks.size(), "one task per silo with a residual wrote the files: " + tasks);
      for (JobWatch.Task t : tasks) {
        assertEquals(0L, t.shuffleRecords(), t.toString());
        assertEquals(0L, t.shuffleBytes(), t.toString());
        assertTrue(t.resultBytes() < 4L * d / 4, "a task result of " + t.resultBytes() + " bytes: " + t);
      }
      List<float[]> held = residuals.collectForTesting(); // the test's view; the round loop never collects
      FileSystem fs = new Path(dir).getFileSystem(spark.sparkContext().hadoopConfiguration());
      assertNull(held.get(3));
      for (int p = 0; p < 3; p++) {
        assertTrue(fs.exists(new Path(dir, String.format("silo-%05d.bin", p))), "silo " + p + "'s file");
        assertArrayEquals(held.get(p), ResidualFiles.read(fs, dir, 2, p, d), "silo " + p);
      }
      assertFalse(fs.exists(new Path(dir, "silo-00003.bin")), "silo 3 was never sampled: it has no file");
      assertArrayEquals(new int[] {0, 1, 2}, ResidualFiles.readManifest(fs, dir, 2, 4), "the manifest");
      assertEquals(4, fs.listStatus(new Path(dir)).length, "three files and the manifest, no temporary left behind");

      try (SiloResiduals back = new SiloResiduals(data.blocks(), d)) {
        back.load(dir, 2, new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
        List<float[]> loaded = back.collectForTesting();
        for (int p = 0; p < 4; p++) assertArrayEquals(held.get(p), loaded.get(p), "silo " + p);
      }
      // A directory written before manifests: a file for every silo, one without a residual saying so.
      fs.delete(new Path(dir, ResidualFiles.MANIFEST), false);
      assertTrue(ResidualFiles.check(fs, dir, 2, 4, d).contains("silo 3's error-feedback residual silo-00003.bin is"
          + " missing (the directory has no manifest"), "without a manifest every silo needs a file");
      ResidualFiles.write(fs, dir, 2, 3, null);
      assertNull(ResidualFiles.check(fs, dir, 2, 4, d));
      try (SiloResiduals back = new SiloResiduals(data.blocks(), d)) {
        back.load(dir, 2, new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
        List<float[]> loaded = back.collectForTesting();
        for (int p = 0; p < 4; p++) assertArrayEquals(held.get(p), loaded.get(p), "old format, silo " + p);
      }
      try (SiloResiduals wrong = new SiloResiduals(data.blocks(), d + 1)) {
        ResidualFiles.Corrupt e = assertThrows(ResidualFiles.Corrupt.class, () -> wrong.load(dir, 2,
            new SerializableConfiguration(spark.sparkContext().hadoopConfiguration())));
        assertTrue(e.getMessage().matches("checkpoint\\.resume: silo [012]: the error-feedback residual of round 2 at "
            + "file:.*/silo-state/round-2/silo-0000[012]\\.bin has the wrong length: expected 20037 bytes \\(5001"
            + " values\\) or 33 \\(no residual\\), found 20033"), e.getMessage());
      }
    } finally {
      spark.sparkContext().removeSparkListener(watch);
      data.unpersist();
    }
  }

  /** A round's work in these tests: a full client (no step budget). */
  interface FullWork extends Serializable {
    SiloWork.Result run(int silo, Block block, float[] residual) throws Exception;
  }

  /** The uploads of the silos {@code mask} marks, each a full client. */
  private static JavaRDD<SiloWork.Result> uploads(SiloResiduals residuals, long round, boolean[] mask, FullWork w) {
    int[] silos = IntStream.range(0, mask.length).filter(i -> mask[i]).toArray();
    return residuals.uploads(round, silos, new int[silos.length], null, (p, steps, b, r) -> w.run(p, b, r));
  }

  private static FederatedConfig.Builder small() {
    return FederatedConfig.builder().rounds(5).clientFraction(0.5).localEpochs(1).localBatch(10)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(0).seed(4);
  }

  private static Network wide() {
    return Network.builder(4).dense(256, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  /** Tasks that fail once (after residuals exist) are retried with the identical upload and residual. */
  @Test
  void aRetriedTaskWithErrorFeedbackGivesTheIdenticalModel() {
    TrainingData data = silos(200, 4, 22);
    FederatedConfig ef = small().compression(true, true).build();
    float[] clean = new FederatedTrainer(wide(), ef).fit(data, null).params();
    String failures = Faults.counter();
    TaskHook hook = (round, partition, attempt) -> {
      if ((round == 3 || round == 4) && attempt == 0) { // every silo sampled in rounds 3 and 4 fails once
        Faults.increment(failures);
        throw new IllegalStateException("injected failure in round " + round);
      }
    };
    float[] retried = new FederatedTrainer(wide(), small().compression(true, true).taskHook(hook).build())
        .fit(data, null).params();
    assertTrue(Faults.count(failures) >= 2, "failures injected: " + Faults.count(failures));
    assertArrayEquals(clean, retried);
    // Error feedback is wired: the same run without it ends elsewhere.
    float[] int8 = new FederatedTrainer(wide(), small().compression(true, false).build()).fit(data, null).params();
    assertFalse(Arrays.equals(clean, int8), "error feedback changed nothing");
    data.unpersist();
  }

  /**
   * The coarse methods in the round loop, with and without error feedback: tasks that fail once (in
   * rounds 3 and 4, after residuals exist) are retried with the identical uploads, so the model is
   * bit-identical; the audit's payload bytes per round and every round's upload_bytes equal the
   * payload formula for the 2 silos sampled a round (and 4 bytes per value as float32); error
   * feedback is wired for top-k and sign (the runs without it end elsewhere).
   */
  @Test
  void coarseMethodsRetryIdenticallyAndReportTheirBytesPerRound() {
    TrainingData data = silos(200, 4, 25);
    int params = wide().initParameters(0).length;
    String failures = Faults.counter();
    TaskHook hook = (round, partition, attempt) -> {
      if ((round == 3 || round == 4) && attempt == 0) { // every silo sampled in rounds 3 and 4 fails once
        Faults.increment(failures);
        throw new IllegalStateException("injected failure in round " + round);
      }
    };
    Map<String, float[]> ends = new HashMap<>();
    for (String m : new String[] {"none", "int4", "int2_error_feedback", "sign", "sign_error_feedback", "topk(0.05)",
        "topk(0.05)_error_feedback"}) {
      Compression c = Compression.parse(m);
      FederatedResult clean = new FederatedTrainer(wide(), small().compression(c).build()).fit(data, null);
      float[] retried = new FederatedTrainer(wide(), small().compression(c).taskHook(hook).build())
          .fit(data, null).params();
      assertArrayEquals(clean.params(), retried, m + ": a retried task changed the model");
      ends.put(m, clean.params());
      long perRound = 2 * c.payloadBytes(params); // C 0.5 of 4 silos
      if (c.compresses()) {
        assertEquals(perRound, clean.audit().get("compressed_payload_bytes_per_round"), m);
        assertEquals(2L * 4 * params, clean.audit().get("float32_payload_bytes_per_round"), m);
      }
      List<Map<String, Object>> rounds = clean.history().records("round");
      assertEquals(5, rounds.size());
      for (Map<String, Object> rec : rounds) {
        assertEquals((double) perRound, rec.get("upload_bytes"), m + " round " + rec.get("round"));
      }
    }
    assertTrue(Faults.count(failures) >= 28, "failures injected: " + Faults.count(failures)); // 2 silos x 2 rounds x 7
    assertFalse(Arrays.equals(ends.get("topk(0.05)"), ends.get("topk(0.05)_error_feedback")));
    assertFalse(Arrays.equals(ends.get("sign"), ends.get("sign_error_feedback")));
    assertFalse(Arrays.equals(ends.get("none"), ends.get("int4")));
    data.unpersist();
  }

  /**
   * Residuals never reach the driver and nothing shuffles: rounds stay one stage each, no record
   * moves, the largest upload stays int8-sized (a float32 residual alone would be 4 bytes per
   * parameter), and no residual is left cached after the run.
   */
  @Test
  void residualsStayOnTheExecutorsAndNothingShuffles() {
    TrainingData data = silos(200, 4, 23);
    TrainingData val = silos(150, 1, 24);
    int params = wide().initParameters(0).length;
    FederatedResult ef = new FederatedTrainer(wide(), small().rounds(4).clientFraction(1.0).evalEveryRounds(4)
        .compression(true, true).build()).fit(data, val);
    FederatedResult int8 = new FederatedTrainer(wide(), small().rounds(4).clientFraction(1.0).evalEveryRounds(4)
        .compression(true, false).build()).fit(data, val);
    assertEquals(0L, ef.audit().get("rows_moved_during_training"), ef.audit().toString());
    assertEquals(0L, ef.audit().get("shuffle_read_bytes"), ef.audit().toString());
    assertEquals(0L, ef.audit().get("shuffle_write_bytes"), ef.audit().toString());
    assertEquals(4, ef.audit().get("training_stages"), "one stage per round: " + ef.audit());
    long largest = (Long) ef.audit().get("largest_upload_bytes");
    assertTrue(largest < 2L * params, largest + " bytes for " + params + " parameters");
    assertTrue(largest < 1.1 * (Long) int8.audit().get("largest_upload_bytes"), ef.audit() + " vs " + int8.audit());
    // Bytes saved, as reported: int8 payloads against float32.
    long payload = (Long) ef.audit().get("compressed_payload_bytes_per_round");
    long float32 = (Long) ef.audit().get("float32_payload_bytes_per_round");
    assertEquals(4L * 4 * params, float32); // 4 silos sampled per round, 4 bytes per parameter
    assertEquals(4L * (params + 8L), payload); // one byte per parameter + one (min, step) chunk header
    assertTrue(ef.finalValidation().get("val_accuracy") > 0.85, ef.finalValidation().toString());
    for (RDD<?> rdd : CollectionConverters.asJava(spark.sparkContext().getPersistentRDDs()).values()) {
      String name = rdd.name();
      assertFalse(name != null && name.contains("error-feedback"), "left cached: " + name);
    }
    data.unpersist();
    val.unpersist();
  }

  @Test
  void badCompressionSettingsFailBeforeAnyWork() {
    IllegalArgumentException noInt8 = assertThrows(IllegalArgumentException.class,
        () -> small().compression(false, true).build());
    assertEquals("federated.compression: expected a compression method with error feedback, e.g."
        + " int8_error_feedback (error feedback corrects what compression loses), found error feedback without"
        + " compression", noInt8.getMessage());
    IllegalArgumentException secure = assertThrows(IllegalArgumentException.class,
        () -> small().compression(true, true).secureAggregation(true).build());
    assertEquals("federated.compression: expected none with secure_aggregation true (masked uploads are not"
        + " compressed), found int8_error_feedback", secure.getMessage());
    IllegalArgumentException secureInt8 = assertThrows(IllegalArgumentException.class,
        () -> small().compression(true, false).secureAggregation(true).build());
    assertTrue(secureInt8.getMessage().endsWith("found int8"), secureInt8.getMessage());
    assertEquals("int8+error_feedback", small().compression(true, true).build().toMap().get("compression"));
  }
}
