package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparktrain.optim.Clipping;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DpClippingTest {
  @Test
  void clipScalesOnlyLongVectors() {
    float[] v = {3, 4};
    assertEquals(0.5, DpClipping.clip(v, 2.5), 1e-15);
    assertArrayEquals(new float[] {1.5f, 2f}, v);
    assertEquals(2.5, Clipping.norm(v), 1e-7);
    float[] short_ = {0.3f, 0.4f};
    assertEquals(1, DpClipping.clip(short_, 1));
    assertArrayEquals(new float[] {0.3f, 0.4f}, short_);
    assertEquals(1, DpClipping.clip(new float[3], 1));
    assertThrows(IllegalArgumentException.class, () -> DpClipping.clip(new float[] {Float.NaN}, 1));
    assertThrows(IllegalArgumentException.class, () -> DpClipping.clip(new float[] {1}, 0));
  }

  /** Mean 0 and variance (z S)^2 within a few standard errors over 200k draws; uncorrelated neighbours. */
  @Test
  void noiseHasTheRequestedMeanAndVariance() {
    int n = 200_000;
    double z = 1.3;
    double s = 0.7;
    float[] sum = new float[n];
    DpClipping.addNoise(sum, z, s, 42L, 7, 3);
    double sigma2 = z * z * s * s;
    double mean = 0;
    for (float x : sum) mean += x;
    mean /= n;
    double var = 0;
    double lag = 0;
    double m4 = 0;
    for (int i = 0; i < n; i++) {
      double c = sum[i] - mean;
      var += c * c;
      m4 += c * c * c * c;
      if (i > 0) lag += c * (sum[i - 1] - mean);
    }
    var /= n - 1;
    m4 /= n;
    lag /= (n - 1) * var;
    // Standard errors: mean sigma/sqrt(n); variance sigma^2 sqrt(2/n); correlation 1/sqrt(n).
    assertEquals(0, mean, 4 * Math.sqrt(sigma2 / n));
    assertEquals(sigma2, var, 4 * sigma2 * Math.sqrt(2.0 / n));
    assertEquals(0, lag, 4 / Math.sqrt(n));
    assertEquals(3, m4 / (var * var), 0.1, "kurtosis of a normal");
  }

  @Test
  void noiseIsDeterministicPerRoundAndSilo() {
    float[] a = new float[1000];
    float[] b = new float[1000];
    DpClipping.addNoise(a, 1, 1, 99L, 5, 2);
    DpClipping.addNoise(b, 1, 1, 99L, 5, 2);
    assertArrayEquals(a, b, "a retried task adds the same noise");
    float[] otherSilo = new float[1000];
    DpClipping.addNoise(otherSilo, 1, 1, 99L, 5, 3);
    float[] otherRound = new float[1000];
    DpClipping.addNoise(otherRound, 1, 1, 99L, 6, 2);
    assertFalse(Arrays.equals(a, otherSilo));
    assertFalse(Arrays.equals(a, otherRound));
    // Zero noise multiplier adds nothing.
    float[] c = {1, 2};
    DpClipping.addNoise(c, 0, 1, 1L, 1, 1);
    assertArrayEquals(new float[] {1, 2}, c);
  }
}
