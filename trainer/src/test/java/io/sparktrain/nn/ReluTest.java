package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * ReLU's branch-free forward and backward against the definition, at the edges a bit trick can get
 * wrong: +0, -0, the smallest subnormals of both signs, infinities, NaN, and ordinary values.
 */
class ReluTest {
  private static final float[] Z = {3f, -2f, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
      Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-30f, -1e-30f, Float.MAX_VALUE, -Float.MAX_VALUE};

  @Test
  void forwardIsMaxOfZeroAndBackwardPassesTheGradientExactlyWhereZIsPositive() {
    int n = Z.length;
    float[] a = new float[n];
    Activation.RELU.forward(Z, a, 0, 1, n);
    float[] da = new float[n];
    for (int i = 0; i < n; i++) da[i] = (i % 2 == 0 ? 1 : -1) * (0.5f + i);
    float[] dz = new float[n];
    Activation.RELU.backward(Z, a, da, dz, 0, 1, n);
    for (int i = 0; i < n; i++) {
      float z = Z[i];
      assertEquals(z > 0f ? z : 0f, a[i], 0f, "forward at " + z);
      // Bit for bit: -0.0 must not come out for a negative gradient at a positive unit, and so on.
      assertEquals(Float.floatToIntBits(z > 0f ? da[i] : 0f), Float.floatToIntBits(dz[i]), "backward at " + z);
    }
    // In place, as the network calls it (dz is da).
    float[] inPlace = da.clone();
    Activation.RELU.backward(Z, a, inPlace, inPlace, 0, 1, n);
    assertArrayEquals(dz, inPlace);
    // NaN propagates forward, as in PyTorch (it used to become 0 and hide a diverged layer).
    float[] nan = {Float.NaN};
    float[] out = new float[1];
    Activation.RELU.forward(nan, out, 0, 1, 1);
    assertEquals(true, Float.isNaN(out[0]));
  }
}
