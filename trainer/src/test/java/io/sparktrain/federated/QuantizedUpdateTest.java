package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuantizedUpdateTest {
  @Test
  void sizesAndErrorBound() {
    float[] x = randomVector(1000, 1);
    QuantizedUpdate q = QuantizedUpdate.quantize(x, 256, 5);
    assertEquals(4000, q.uncompressedBytes());
    assertEquals(1000 + 4 * 8, q.compressedBytes()); // 4 chunks of (min, step)
    assertEquals(1000 + 8, QuantizedUpdate.quantize(x, 5).compressedBytes());
    float[] y = q.dequantize();
    float[] steps = q.steps();
    for (int i = 0; i < x.length; i++) {
      assertTrue(Math.abs(y[i] - x[i]) <= steps[i / 256] * (1 + 1e-5), "index " + i);
    }
    // Deterministic for a seed.
    assertArrayEquals(q.codes(), QuantizedUpdate.quantize(x, 256, 5).codes());
    // The extremes are exact; a constant chunk decodes exactly.
    float[] c = {2.5f, 2.5f, 2.5f};
    assertArrayEquals(c, QuantizedUpdate.quantize(c, 9).dequantize());
    float[] ends = {-1, 1, 0.25f};
    float[] e = QuantizedUpdate.quantize(ends, 3).dequantize();
    assertEquals(-1, e[0]);
    assertEquals(1, e[1], 1e-6);
    assertThrows(IllegalArgumentException.class, () -> QuantizedUpdate.quantize(new float[] {Float.NaN}, 1));
  }

  /**
   * Unbiased: averaged over 2000 seeds, dequantize(quantize(x)) is within 5 standard errors of x for
   * every value (the per-value variance is at most step^2 / 4).
   */
  @Test
  void stochasticRoundingIsUnbiased() {
    float[] x = randomVector(200, 2);
    int reps = 2000;
    double[] avg = new double[x.length];
    float step = 0;
    for (int r = 0; r < reps; r++) {
      QuantizedUpdate q = QuantizedUpdate.quantize(x, 1000 + r);
      step = q.steps()[0];
      float[] y = q.dequantize();
      for (int i = 0; i < x.length; i++) avg[i] += y[i] / (double) reps;
    }
    double se = step / 2 / Math.sqrt(reps);
    double worst = 0;
    for (int i = 0; i < x.length; i++) {
      assertEquals(x[i], avg[i], 5 * se, "index " + i);
      worst = Math.max(worst, Math.abs(avg[i] - x[i]) / se);
    }
    // A deterministic rounding would miss by up to step / 2 = sqrt(reps) standard errors.
    assertTrue(worst < 5);
  }

  /**
   * With error feedback the cumulative sum of what was sent equals the cumulative true sum minus the
   * current residual, so the gap stays below one quantization step; without it the gap grows like a
   * random walk.
   */
  @Test
  void errorFeedbackTracksTheCumulativeSum() {
    int d = 300;
    int rounds = 200;
    ErrorFeedback ef = new ErrorFeedback(d, 100);
    double[] truth = new double[d];
    double[] sentEf = new double[d];
    double[] sentPlain = new double[d];
    float maxStep = 0;
    for (int r = 0; r < rounds; r++) {
      float[] delta = randomVector(d, 100 + r);
      for (int i = 0; i < d; i++) truth[i] += delta[i];
      QuantizedUpdate q = ef.compress(delta, 7_000 + r);
      for (float s : q.steps()) maxStep = Math.max(maxStep, s);
      float[] y = q.dequantize();
      float[] p = QuantizedUpdate.quantize(delta, 100, 7_000 + r).dequantize();
      for (int i = 0; i < d; i++) {
        sentEf[i] += y[i];
        sentPlain[i] += p[i];
      }
    }
    float[] residual = ef.residual();
    double gapEf = 0;
    double gapPlain = 0;
    for (int i = 0; i < d; i++) {
      gapEf = Math.max(gapEf, Math.abs(truth[i] - sentEf[i]));
      gapPlain = Math.max(gapPlain, Math.abs(truth[i] - sentPlain[i]));
      assertEquals(truth[i] - sentEf[i], residual[i], 1e-3, "index " + i);
    }
    assertTrue(gapEf <= maxStep * 1.01, "error-feedback gap " + gapEf + " vs step " + maxStep);
    assertTrue(gapPlain > 3 * gapEf, "plain gap " + gapPlain + " vs error-feedback gap " + gapEf);
  }

  private static float[] randomVector(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
    return x;
  }
}
