package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The first layer on CSR features (forward: a gather of W's touched rows; backward: a scatter-add
 * into them) against the dense path on the same rows, and its gradient against centred finite
 * differences of the double-precision reference of {@link GradientCheckTest}.
 */
class SparseFirstLayerTest {
  private static final int ROWS = 12;
  private static final int INPUTS = 40;

  /** A random CSR batch of about 15 % density, its dense twin, labels in 0..2 and weights. */
  private static final class Batches {
    final MiniBatch sparse = new MiniBatch(INPUTS, 1);
    final MiniBatch dense = new MiniBatch(INPUTS, 1);
    final boolean[] touched = new boolean[INPUTS];

    Batches(long seed) {
      SplittableRandom rnd = new SplittableRandom(seed);
      float[] x = new float[ROWS * INPUTS];
      int nnz = 0;
      for (int i = 0; i < x.length; i++) {
        if (rnd.nextDouble() < 0.15) {
          x[i] = (float) (rnd.nextDouble() * 4 - 2);
          nnz++;
        }
      }
      for (int c = 30; c < INPUTS; c++) {
        for (int r = 0; r < ROWS; r++) x[r * INPUTS + c] = 0f; // columns 30.. are never touched
      }
      nnz = 0;
      for (float v : x) nnz += v != 0f ? 1 : 0;
      sparse.resizeSparse(ROWS, nnz, true);
      dense.resize(ROWS, true);
      int at = 0;
      for (int r = 0; r < ROWS; r++) {
        sparse.rowPtr()[r] = at;
        for (int c = 0; c < INPUTS; c++) {
          float v = x[r * INPUTS + c];
          dense.features()[r * INPUTS + c] = v;
          if (v != 0f) {
            sparse.cols()[at] = c;
            sparse.features()[at++] = v;
            touched[c] = true;
          }
        }
        float label = rnd.nextInt(3);
        float w = (float) (0.5 + rnd.nextDouble());
        sparse.labels()[r] = label;
        dense.labels()[r] = label;
        sparse.weights()[r] = w;
        dense.weights()[r] = w;
      }
      sparse.rowPtr()[ROWS] = at;
    }
  }

  private static Network net(float dropout) {
    return Network.builder(INPUTS).dense(8, Activation.TANH, dropout).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  @Test
  void sparseAndDenseFeaturesGiveTheSameLossGradientAndPredictions() {
    for (float dropout : new float[] {0f, 0.3f}) {
      Network net = net(dropout);
      float[] p = net.initParameters(5);
      Batches b = new Batches(7);
      float[] gs = new float[p.length];
      float[] gd = new float[p.length];
      double ls = net.lossAndGradient(p, b.sparse, gs, net.newWorkspace(), 11L);
      double ld = net.lossAndGradient(p, b.dense, gd, net.newWorkspace(), 11L);
      assertEquals(ld, ls, 1e-5 * Math.abs(ld), "loss, dropout " + dropout);
      double max = 0;
      for (int i = 0; i < p.length; i++) max = Math.max(max, Math.abs(gs[i] - gd[i]));
      assertTrue(max < 1e-5, "max |sparse - dense| gradient " + max + ", dropout " + dropout);
      assertTrue(Arrays.stream(toDouble(gd)).map(Math::abs).max().getAsDouble() > 1e-3, "a gradient at all");
      float[] ps = net.predict(p, b.sparse, net.newWorkspace());
      float[] pd = net.predict(p, b.dense.features(), ROWS, net.newWorkspace());
      for (int i = 0; i < pd.length; i++) assertEquals(pd[i], ps[i], 1e-6, "prediction " + i);
      assertEquals(net.loss(p, b.dense, net.newWorkspace()), net.loss(p, b.sparse, net.newWorkspace()), 1e-5);
    }
  }

  @Test
  void theSparseGradientMatchesFiniteDifferencesAndLeavesUntouchedRowsAtZero() {
    Network net = net(0f);
    float[] p = net.initParameters(3);
    Batches b = new Batches(21);
    float[] g = new float[p.length];
    net.lossAndGradient(p, b.sparse, g, net.newWorkspace(), 0L);
    GradientCheckTest.Reference ref = new GradientCheckTest.Reference(net);
    double[] x = toDouble(Arrays.copyOf(b.dense.features(), ROWS * INPUTS));
    double[] y = toDouble(Arrays.copyOf(b.dense.labels(), ROWS));
    double[] w = toDouble(Arrays.copyOf(b.dense.weights(), ROWS));
    double[] pd = toDouble(p);
    ParameterLayout.Entry k = net.layout().kernel(0);
    int out = 8;
    double h = 1e-6;
    int checked = 0;
    for (int j = 0; j < INPUTS; j++) {
      for (int o = 0; o < out; o += 3) {
        int i = k.offset() + j * out + o;
        double keep = pd[i];
        pd[i] = keep + h;
        double up = ref.loss(pd, x, y, w, ROWS, null, 0);
        pd[i] = keep - h;
        double down = ref.loss(pd, x, y, w, ROWS, null, 0);
        pd[i] = keep;
        double numeric = (up - down) / (2 * h);
        if (!b.touched[j]) {
          assertEquals(0f, g[i], 0f, "kernel row " + j + " is never touched: its gradient stays 0");
        }
        assertEquals(numeric, g[i], 1e-3 * Math.abs(numeric) + 1e-4, "kernel (" + j + ", " + o + ")");
        checked++;
      }
    }
    assertTrue(checked > 100);
    // Overwriting (accumulate false) gives the same as adding to zeros, whatever was in the array.
    float[] dirty = new float[p.length];
    Arrays.fill(dirty, 7f);
    net.lossAndGradient(p, b.sparse, dirty, net.newWorkspace(), 0L, false);
    for (int i = 0; i < p.length; i++) assertEquals(g[i], dirty[i], 0f, "overwritten element " + i);
  }

  private static double[] toDouble(float[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) d[i] = v[i];
    return d;
  }
}
