package io.sparktrain.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every BLAS implementation that loads in this JVM computes the same row-major GEMM as a naive
 * triple loop, and the same network outputs and gradients as every other implementation. JNI is
 * only compared when the native library loads; VectorBLAS when the incubator module is present.
 */
class BlasAgreementTest {

  private static List<Blas> impls;

  @BeforeAll
  static void loadImplementations() {
    impls = new ArrayList<>();
    for (Blas.Impl impl : Blas.available()) {
      impls.add(Blas.of(impl));
    }
    List<String> names = new ArrayList<>();
    for (Blas b : impls) names.add(b.impl() + " = " + b.describe());
    List<Blas.Impl> missing = new ArrayList<>(List.of(Blas.Impl.values()));
    for (Blas b : impls) missing.remove(b.impl());
    System.out.println("BlasAgreementTest: comparing " + names
        + (missing.isEmpty() ? "" : "; not available here: " + missing)
        + "; Blas.get() = " + Blas.get().describe());
  }

  @Test
  void java11IsAlwaysAvailable() {
    assertTrue(Blas.available().contains(Blas.Impl.JAVA11), "available: " + Blas.available());
    assertFalse(impls.isEmpty());
    assertTrue(Blas.available().contains(Blas.get().impl()), "the chosen BLAS must be one that loads");
    assertSame(Blas.get(), Blas.get());
  }

  /** Naive row-major C = alpha op(A) op(B) + beta C in double, same storage conventions as Blas.gemm. */
  static double[] naiveGemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      float[] a, int aOff, float[] b, int bOff, double beta, float[] c, int cOff) {
    double[] out = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          double av = transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
          double bv = transB ? b[bOff + j * k + p] : b[bOff + p * n + j];
          s += av * bv;
        }
        out[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * c[cOff + i * n + j]);
      }
    }
    return out;
  }

  static float[] random(SplittableRandom rnd, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (2 * rnd.nextDouble() - 1);
    return v;
  }

  @Test
  void gemmMatchesNaiveLoopForAllTransposes() {
    int[][] shapes = {{7, 5, 9}, {1, 1, 1}, {3, 11, 1}, {13, 1, 7}, {1, 9, 15}, {17, 19, 23}};
    SplittableRandom rnd = new SplittableRandom(42);
    int checks = 0;
    for (Blas blas : impls) {
      for (int[] s : shapes) {
        int m = s[0];
        int n = s[1];
        int k = s[2];
        for (boolean ta : new boolean[] {false, true}) {
          for (boolean tb : new boolean[] {false, true}) {
            for (float beta : new float[] {0f, 0.5f}) {
              int aOff = 3;
              int bOff = 5;
              int cOff = 7;
              float[] a = random(rnd, aOff + m * k + 4);
              float[] b = random(rnd, bOff + k * n + 2);
              float[] c = random(rnd, cOff + m * n + 6);
              if (beta == 0f) {
                // beta = 0 must ignore C entirely, even NaNs (workspace buffers are reused).
                for (int i = cOff; i < cOff + m * n; i++) c[i] = Float.NaN;
              }
              float[] cBefore = c.clone();
              float alpha = 1.25f;
              double[] want = naiveGemm(ta, tb, m, n, k, alpha, a, aOff, b, bOff, beta, cBefore, cOff);
              blas.gemm(ta, tb, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff);
              String what = blas.impl() + " gemm(transA=" + ta + ", transB=" + tb + ", m=" + m + ", n=" + n
                  + ", k=" + k + ", beta=" + beta + ")";
              for (int i = 0; i < m * n; i++) {
                // |error| <= k * eps * sum|a||b| roughly; inputs are in [-1, 1].
                double tol = 1e-6 * (k + 1) * (Math.abs(alpha) + 1);
                assertEquals(want[i], c[cOff + i], tol, what + " element " + i);
              }
              for (int i = 0; i < cOff; i++) assertEquals(cBefore[i], c[i], 0f, what + " wrote before C");
              for (int i = cOff + m * n; i < c.length; i++) {
                assertEquals(cBefore[i], c[i], 0f, what + " wrote after C");
              }
              checks++;
            }
          }
        }
      }
    }
    assertEquals(impls.size() * shapes.length * 8, checks);
  }

  @Test
  void networkOutputsAndGradientsAgreeAcrossImplementations() {
    Network net = Network.builder(784)
        .dense(64, Activation.RELU)
        .dense(10, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    int rows = 37;
    SplittableRandom rnd = new SplittableRandom(7);
    float[] params = net.initParameters(3);
    for (int l = 0; l < net.depth(); l++) {
      var bias = net.layout().bias(l);
      for (int i = bias.offset(); i < bias.end(); i++) params[i] = (float) (0.1 * (rnd.nextDouble() - 0.5));
    }
    float[] x = new float[rows * 784];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(); // like scaled pixels
    float[] y = new float[rows];
    float[] w = new float[rows];
    for (int r = 0; r < rows; r++) {
      y[r] = rnd.nextInt(10);
      w[r] = (float) (0.5 + rnd.nextDouble());
    }
    MiniBatch batch = MiniBatch.wrap(784, 1, x, y, w, rows);

    float[][] outs = new float[impls.size()][];
    float[][] grads = new float[impls.size()][];
    double[] losses = new double[impls.size()];
    for (int t = 0; t < impls.size(); t++) {
      Network.Workspace ws = net.newWorkspace(impls.get(t));
      assertSame(impls.get(t), ws.blas());
      outs[t] = net.predict(params, x, rows, ws);
      grads[t] = new float[params.length];
      losses[t] = net.lossAndGradient(params, batch, grads[t], ws, 0L);
      assertTrue(Double.isFinite(losses[t]) && losses[t] > 0, impls.get(t) + " loss " + losses[t]);
    }
    for (int t = 1; t < impls.size(); t++) {
      String what = impls.get(t).impl() + " vs " + impls.get(0).impl();
      assertEquals(losses[0], losses[t], 1e-5 * losses[0], what + ": loss");
      assertClose(outs[0], outs[t], 1e-5, what + ": predictions");
      assertClose(grads[0], grads[t], 1e-4, what + ": gradient");
      System.out.printf("BlasAgreementTest: %s: loss %.9f vs %.9f, max |grad diff| %.3e%n", what, losses[0],
          losses[t], maxDiff(grads[0], grads[t]));
    }
  }

  static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }

  /** Relative norm of the difference <= rtol, and every element within rtol * max|expected|. */
  static void assertClose(float[] expected, float[] actual, double rtol, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    double d2 = 0;
    double n2 = 0;
    double maxAbs = 0;
    for (int i = 0; i < expected.length; i++) {
      double d = (double) actual[i] - expected[i];
      d2 += d * d;
      n2 += (double) expected[i] * expected[i];
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
    }
    assertTrue(n2 > 0, what + ": all zero");
    assertTrue(Math.sqrt(d2 / n2) <= rtol, what + ": relative difference " + Math.sqrt(d2 / n2));
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], rtol * maxAbs, what + " element " + i);
    }
  }
}
