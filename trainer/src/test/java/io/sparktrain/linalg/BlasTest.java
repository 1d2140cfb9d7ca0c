package io.sparktrain.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Blas#gemm} on every implementation this JVM can load (JNI over the system BLAS, the Vector
 * API, plain Java) against a double-precision triple loop: both transposes of B, one row (the
 * matrix-vector path) and several rows, offsets, alpha and beta.
 */
class BlasTest {
  @Test
  void gemmMatchesATripleLoopOnEveryImplementation() {
    assertFalse(Blas.available().isEmpty());
    Random r = new Random(4);
    for (Blas.Impl impl : Blas.available()) {
      Blas blas = Blas.of(impl);
      for (int m : new int[] {1, 3}) {
        for (boolean transB : new boolean[] {false, true}) {
          int k = 37;
          int n = 19;
          int aOff = 5;
          int bOff = 7;
          int cOff = 3;
          float[] a = random(r, aOff + m * k);
          float[] b = random(r, bOff + k * n);
          float[] c = random(r, cOff + m * n);
          float[] want = c.clone();
          float alpha = 0.7f;
          float beta = 0.4f;
          for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
              double s = 0;
              for (int t = 0; t < k; t++) {
                s += (double) a[aOff + i * k + t] * b[bOff + (transB ? j * k + t : t * n + j)];
              }
              want[cOff + i * n + j] = (float) (alpha * s + beta * c[cOff + i * n + j]);
            }
          }
          blas.gemm(false, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff);
          for (int i = 0; i < c.length; i++) {
            assertEquals(want[i], c[i], 1e-4, impl + " m=" + m + " transB=" + transB + " at " + i);
          }
        }
      }
    }
  }

  private static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }
}
