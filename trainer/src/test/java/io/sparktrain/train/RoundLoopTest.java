package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparktrain.testing.Spark;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class RoundLoopTest {
  private static SparkSession spark;
  private static JavaSparkContext jsc;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[1]", "RoundLoopTest");
    jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static RoundLoop loop(List<TrainingListener> listeners) {
    return new RoundLoop(jsc, RoundLoop.Kind.TRAINER, LoggerFactory.getLogger(RoundLoopTest.class), 0, listeners);
  }

  @Test
  void requireFiniteNamesTheLossFirstThenTheAggregate() {
    RoundLoop.requireFinite("round 3", 0.5, new float[] {1, 2}, "gradient", "advice.");
    TrainingDivergedException loss = assertThrows(TrainingDivergedException.class,
        () -> RoundLoop.requireFinite("round 3", Double.NaN, new float[] {Float.NaN}, "gradient", "advice."));
    assertEquals("round 3: loss is NaN; advice.", loss.getMessage());
    TrainingDivergedException grad = assertThrows(TrainingDivergedException.class,
        () -> RoundLoop.requireFinite("round 3", 0.5, new float[] {1, Float.POSITIVE_INFINITY}, "gradient", "a."));
    assertEquals("round 3: the aggregated gradient is not finite; a.", grad.getMessage());
  }

  @Test
  void requireFiniteWithoutALossLooksAtTheAggregateOnly() {
    RoundLoop.requireFinite("federated round 2", new float[] {0, -1}, "update", "lower it");
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
        () -> RoundLoop.requireFinite("federated round 2", new float[] {0, Float.NaN}, "update",
            "lower the client learning rate or clip (dp clip_norm)"));
    assertEquals("federated round 2: the aggregated update is not finite; lower the client learning rate or clip"
        + " (dp clip_norm)", e.getMessage());
  }

  @Test
  void restoreBestSwapsInTheBestParametersAndValidatesThemAgain() {
    float[] last = {9, 9};
    Map<String, Double> lastVal = Map.of("val_loss", 0.9);
    EarlyStopping stopping = new EarlyStopping("val_loss", 2, 0, true);
    stopping.update(1, Map.of("val_loss", 0.5), new float[] {1, 2});
    stopping.update(2, Map.of("val_loss", 0.7), new float[] {3, 4});
    List<float[]> validated = new ArrayList<>();
    RoundLoop.Weights w = loop(List.of()).restoreBest(stopping, last, lastVal, p -> {
      validated.add(p);
      return Map.of("val_loss", 0.5);
    });
    assertArrayEquals(new float[] {1, 2}, w.params());
    assertEquals(Map.of("val_loss", 0.5), w.validation());
    assertEquals(1, validated.size());
    assertSame(w.params(), validated.get(0));
  }

  @Test
  void restoreBestKeepsTheLastWeightsWhenNothingWasKept() {
    float[] last = {9, 9};
    Map<String, Double> lastVal = Map.of("val_loss", 0.9);
    RoundLoop loop = loop(List.of());
    EarlyStopping off = new EarlyStopping(null, 2, 0, true);
    EarlyStopping notKept = new EarlyStopping("val_loss", 2, 0, false);
    notKept.update(1, Map.of("val_loss", 0.5), new float[] {1, 2});
    EarlyStopping noneYet = new EarlyStopping("val_loss", 2, 0, true);
    // Resumed from a checkpoint that kept the best weights, in a run that does not restore them.
    EarlyStopping resumed = new EarlyStopping("val_loss", 2, 0, false);
    resumed.restore(Map.of("early_stopping.best", "0.5", "early_stopping.best_epoch", "1",
        "early_stopping.wait", "0"), new float[] {1, 2});
    for (EarlyStopping s : List.of(off, notKept, noneYet, resumed)) {
      RoundLoop.Weights w = loop.restoreBest(s, last, lastVal, p -> {
        throw new AssertionError("validated again");
      });
      assertSame(last, w.params());
      assertSame(lastVal, w.validation());
    }
  }

  @Test
  void theLoopTellsItsHistoryAndTheListenersInOrderAndPutsBackTheJobDescription() {
    List<String> seen = new ArrayList<>();
    TrainingListener user = new TrainingListener() {
      @Override
      public void onRound(RoundEvent e) {
        seen.add("round " + e.round());
      }

      @Override
      public void onEpoch(EpochEvent e) {
        seen.add("epoch " + e.epoch());
      }

      @Override
      public void onCheckpoint(long round, String path) {
        seen.add("checkpoint " + round);
      }
    };
    jsc.setJobDescription("before");
    RoundLoop loop = loop(List.of(user));
    try (loop) {
      loop.describe("sparktrain epoch 1/1 round 1/1");
      assertEquals("sparktrain epoch 1/1 round 1/1", jsc.getLocalProperty("spark.job.description"));
      loop.onRound(new RoundEvent(1, 1, 1, 1, 1, 0.5, 10, 0.1, 0.1, 0.1, Map.of()));
      loop.onEpoch(new EpochEvent(1, 1, 1, 0.5, Map.of(), 0.1, 0.1, 0, 10, 0.1));
      loop.onCheckpoint(1, "/tmp/ckpt");
    }
    assertEquals("before", jsc.getLocalProperty("spark.job.description"));
    assertEquals(List.of("round 1", "epoch 1", "checkpoint 1"), seen);
    assertEquals(1, loop.history().records("round").size());
    assertEquals(1, loop.history().records("epoch").size());
    jsc.setJobDescription(null);
  }

  @Test
  void aJobDescriptionIsPutBackAlsoWhenTheJobFails() {
    jsc.setJobDescription(null);
    assertThrows(IllegalStateException.class, () -> {
      try (RoundLoop.JobDescription jobs = RoundLoop.JobDescription.keep(jsc)) {
        jobs.set("sparktrain federated checkpoint residuals round 4");
        assertEquals("sparktrain federated checkpoint residuals round 4",
            jsc.getLocalProperty("spark.job.description"));
        throw new IllegalStateException("job failed");
      }
    });
    assertNull(jsc.getLocalProperty("spark.job.description"));
  }

  @Test
  void theRoundsBroadcastIsDestroyedWhenTheRoundEnds() {
    Broadcast<float[]> seen;
    try (RoundLoop.ParamsBroadcast bc = loop(List.of()).broadcast(new float[] {1, 2})) {
      seen = bc.get();
      Broadcast<float[]> b = bc.get();
      assertArrayEquals(new float[] {1, 2}, jsc.parallelize(List.of(0), 1).map(i -> b.value()).first());
    }
    assertFalse(seen.isValid());
  }

  @Test
  void openStoreOpensNoneWithoutADirectoryAndNamesTheDirectoryItCannotOpen(@TempDir Path tmp) {
    assertNull(RoundLoop.openStore(null, jsc.hadoopConfiguration(), 2));
    assertEquals(3, RoundLoop.openStore(tmp.toString(), jsc.hadoopConfiguration(), 3).keep());
    UncheckedIOException e = assertThrows(UncheckedIOException.class,
        () -> RoundLoop.openStore("nosuchfs://x/ckpt", jsc.hadoopConfiguration(), 2));
    assertEquals("checkpoint.dir nosuchfs://x/ckpt: cannot open", e.getMessage());
  }

  @Test
  void saveCheckpointWritesThenTellsTheListenersOrNamesTheRound(@TempDir Path tmp) throws Exception {
    List<String> paths = new ArrayList<>();
    RoundLoop loop = loop(List.of(new TrainingListener() {
      @Override
      public void onCheckpoint(long round, String path) {
        paths.add(round + " " + path);
      }
    }));
    Checkpoint c = new Checkpoint(7, 1, 2, 42L, new float[] {1, 2}, null, null, "{}", Map.of(), 1000L);
    CheckpointStore store = RoundLoop.openStore(tmp.resolve("ok").toString(), jsc.hadoopConfiguration(), 2);
    String path = loop.saveCheckpoint(store, "ok", c);
    assertEquals(store.pathFor(7).toString(), path);
    assertEquals(List.of("7 " + path), paths);
    assertEquals(7, store.latest().orElseThrow().round());

    Path notADir = tmp.resolve("plain"); // the checkpoint "directory" is a regular file
    Files.write(notADir, new byte[] {7});
    CheckpointStore broken = RoundLoop.openStore(notADir.toString(), jsc.hadoopConfiguration(), 2);
    UncheckedIOException e = assertThrows(UncheckedIOException.class,
        () -> loop.saveCheckpoint(broken, "plain", c));
    assertEquals("checkpoint.dir plain: cannot write round 7", e.getMessage());
    assertEquals(1, paths.size(), "no listener hears of a checkpoint that was not written");
  }
}
