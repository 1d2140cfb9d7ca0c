package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.linalg.RowSpace;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.optim.OptimizerState;
import io.sparktrain.util.Checksums;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The replica checksums kept by rows ({@link CollectiveEngine.SpanSums}, {@link Checksums}, the
 * optimizer's incremental state checksum): equal to the from-scratch checksums after row-sparse lazy
 * steps, on a replica and on the driver's copy that unpacks the span's delta, and different as soon as
 * one float of a replica differs in a row the span changed or in the dense rest.
 */
class ReplicaChecksumTest {
  private static final int ROWS = 500;
  private static final int WIDTH = 8;
  private static final int REST = 37; // the dense rest after the first kernel (later layers, biases)
  private static final int SIZE = ROWS * WIDTH + REST;

  private static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  @Test
  void theChecksumIsAdditiveAndSeesEveryChangedFloat() {
    Random r = new Random(1);
    float[] v = random(r, SIZE);
    long all = Checksums.of(v, Checksums.PARAMS);
    int[] rows = new int[ROWS];
    for (int i = 0; i < ROWS; i++) rows[i] = i;
    assertEquals(all, Checksums.rows(v, RowSpace.of(0, ROWS, WIDTH), rows, ROWS, Checksums.PARAMS)
        + Checksums.outside(v, 0, ROWS * WIDTH, Checksums.PARAMS));
    for (int i = 0; i < SIZE; i += 97) {
      float[] w = v.clone();
      w[i] = Math.nextUp(w[i]); // one bit of one float
      assertNotEquals(all, Checksums.of(w, Checksums.PARAMS), "a changed float at " + i);
      w[i] = v[i];
      assertEquals(all, Checksums.of(w, Checksums.PARAMS));
    }
    float[] zero = new float[4];
    float[] negZero = {0f, -0f, 0f, 0f};
    assertNotEquals(Checksums.of(zero, Checksums.PARAMS), Checksums.of(negZero, Checksums.PARAMS), "-0.0 vs 0.0");
    float[] swapped = v.clone();
    swapped[3] = v[4];
    swapped[4] = v[3];
    assertNotEquals(all, Checksums.of(swapped, Checksums.PARAMS), "two values swapped");
    assertNotEquals(Checksums.of(v, Checksums.slotSeed(0)), Checksums.of(v, Checksums.slotSeed(1)));
    assertNotEquals(Checksums.of(v, Checksums.PARAMS), Checksums.of(v, Checksums.slotSeed(0)));
  }

  /** A replica and a driver copy at the same start, and what a span of lazy steps did to the replica. */
  private static final class Run {
    final float[] start;
    final Optimizer startOpt;
    final float[] params;
    final Optimizer opt;
    final RowSet spanRows = new RowSet(0, ROWS, WIDTH);
    final CollectiveEngine.SpanSums sums;

    Run(long seed) {
      Random r = new Random(seed);
      OptimizerSpec spec = OptimizerSpec.lazyAdam().learningRate(0.01).build();
      start = random(r, SIZE);
      startOpt = spec.create(SIZE);
      // A start whose moments are not all zero: a few lazy steps on random rows.
      RowSet rows = new RowSet(0, ROWS, WIDTH);
      float[] p = start;
      for (int s = 0; s < 3; s++) {
        rows.clear();
        for (int k = 0; k < 40; k++) rows.add(r.nextInt(ROWS));
        startOpt.step(p, random(r, SIZE), 1f, rows);
      }
      params = start.clone();
      opt = spec.create(SIZE);
      opt.restore(startOpt.state());
      sums = new CollectiveEngine.SpanSums(params, opt, spanRows, CollectiveEngine.checksum(params),
          opt.stateChecksum());
    }

    /** One row-sparse lazy step on rows {@code ids}, as the engine's loop runs it. */
    void step(int[] ids, float[] grad) {
      RowSet step = new RowSet(0, ROWS, WIDTH);
      for (int id : ids) step.add(id);
      sums.beforeChanges(step, spanRows);
      spanRows.addAll(step);
      opt.step(params, grad, 0.5f, step);
    }
  }

  private static int[][] stepRows(Random r, int steps) {
    int[][] ids = new int[steps][];
    for (int s = 0; s < steps; s++) {
      ids[s] = new int[20 + r.nextInt(30)];
      for (int k = 0; k < ids[s].length; k++) ids[s][k] = r.nextInt(ROWS / 2); // the upper half stays untouched
    }
    return ids;
  }

  @Test
  void checksumsKeptByRowsEqualTheFromScratchOnesOnTheReplicaAndOnTheDriver() {
    Run run = new Run(7);
    Random r = new Random(8);
    int[][] ids = stepRows(r, 30);
    for (int s = 0; s < ids.length; s++) {
      run.step(ids[s], random(r, SIZE));
      if (s % 7 == 0) { // the engine's every-N-steps check, mid-span
        assertEquals(CollectiveEngine.checksum(run.params), run.sums.params(run.spanRows), "step " + s);
      }
    }
    long params = run.sums.params(run.spanRows);
    long state = run.sums.state(run.spanRows);
    assertEquals(CollectiveEngine.checksum(run.params), params);
    assertEquals(run.opt.state().checksum(), state);
    assertEquals(run.opt.stateChecksum(), state);

    // The same from the packed delta (what the engine hashes at a span's end).
    RowSlice rows = RowSlice.of(run.spanRows);
    assertEquals(params, run.sums.params(rows, rows.pack(run.params)));
    assertEquals(state, run.sums.state(rows, run.opt.packRows(rows)));

    // The driver: the span's start, the delta written in, its checksums kept by the written positions.
    float[] driver = run.start.clone();
    Optimizer driverOpt = OptimizerSpec.lazyAdam().learningRate(0.01).build().create(SIZE);
    driverOpt.restore(run.startOpt.state());
    long startSum = CollectiveEngine.checksum(driver);
    driverOpt.stateChecksum(); // valid before the unpack: kept by rows, not recomputed
    long sum = startSum + Checksums.unpack(rows.pack(run.params), driver, rows.space(), rows.rows(), Checksums.PARAMS);
    driverOpt.unpackRows(run.opt.steps(), rows, run.opt.packRows(rows));
    assertArrayEquals(run.params, driver);
    assertEquals(params, sum);
    assertEquals(state, driverOpt.stateChecksum());
    assertEquals(driverOpt.state().checksum(), driverOpt.stateChecksum());
  }

  @Test
  void aReplicaWithOneDifferentFloatFailsTheComparison() {
    Random r = new Random(9);
    int[][] ids = stepRows(r, 12);
    float[][] grads = new float[ids.length][];
    for (int s = 0; s < ids.length; s++) grads[s] = random(r, SIZE);
    Run clean = new Run(3);
    for (int s = 0; s < ids.length; s++) clean.step(ids[s], grads[s]);
    long cleanParams = clean.sums.params(clean.spanRows);
    long cleanState = clean.sums.state(clean.spanRows);

    int touchedRow = ids[6][0];
    int[] flips = {
        touchedRow * WIDTH + 3, // a row the span changes, flipped before the span's first step
        ids[0][0] * WIDTH + 1, // a row the span changed, flipped between two steps
        ROWS * WIDTH + 5, // the dense rest
    };
    for (int f = 0; f < flips.length; f++) {
      Run bad = new Run(3);
      for (int s = 0; s < ids.length; s++) {
        if (s == (f == 0 ? 0 : 4)) {
          bad.params[flips[f]] = Math.nextUp(bad.params[flips[f]]); // what TaskHook.afterStep can do
        }
        bad.step(ids[s], grads[s]);
      }
      assertNotEquals(cleanParams, bad.sums.params(bad.spanRows), "flip " + f + " at " + flips[f]);
    }
    // One bit of one second moment on the replica: the state checksums differ.
    Run bad = new Run(3);
    for (int s = 0; s < ids.length; s++) {
      bad.step(ids[s], grads[s]);
      if (s == ids.length - 1) { // after the last step (a later step's rounding could absorb one ulp)
        float[][] slots = {bad.opt.state().slot(0), bad.opt.state().slot(1)};
        int at = ids[s][0] * WIDTH;
        slots[1][at] = Math.nextUp(slots[1][at]);
        bad.opt.restore(new OptimizerState(bad.opt.steps(), slots));
      }
    }
    assertNotEquals(cleanState, bad.sums.state(bad.spanRows), "a flipped second moment");
  }
}
