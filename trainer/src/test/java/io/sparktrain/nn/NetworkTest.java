package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Architecture validation, batch validation and seeded initialisation of {@link Network}. */
class NetworkTest {

  /** Asserts an IllegalArgumentException whose message contains every fragment. */
  private static String assertIae(Executable e, String... fragments) {
    IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
    String msg = ex.getMessage();
    for (String f : fragments) {
      assertTrue(msg != null && msg.contains(f), "message '" + msg + "' should contain '" + f + "'");
    }
    return msg;
  }

  // --- architecture errors --------------------------------------------------------------------

  @Test
  void softmaxOnHiddenLayerIsRejected() {
    assertIae(() -> Network.builder(12).dense(13, Activation.RELU).dense(17, Activation.SOFTMAX)
            .dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
        "layer 1", "17", "softmax", "output layer only", "layer 2");
  }

  @Test
  void binaryCrossEntropyAfterReluOutputIsRejected() {
    assertIae(() -> Network.builder(12).dense(13, Activation.TANH).dense(11, Activation.RELU)
            .loss(Loss.BINARY_CROSS_ENTROPY).build(),
        "output layer 1", "11", "relu", "binary_cross_entropy", "sigmoid");
    // Softmax output is not a valid BCE output either.
    assertIae(() -> Network.builder(12).dense(11, Activation.SOFTMAX).loss(Loss.BINARY_CROSS_ENTROPY).build(),
        "output layer 0", "11", "softmax");
  }

  @Test
  void softmaxCrossEntropyWithOneOutputIsRejected() {
    assertIae(() -> Network.builder(12).dense(13, Activation.RELU).dense(1, Activation.IDENTITY)
            .loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
        "output layer 1", ">= 2", "found 1");
    assertIae(() -> Network.builder(12).dense(13, Activation.RELU).dense(3, Activation.SIGMOID)
            .loss(Loss.SOFTMAX_CROSS_ENTROPY).build(),
        "output layer 1", "3", "sigmoid");
  }

  @Test
  void otherArchitectureErrors() {
    assertIae(() -> Network.builder(12).dense(13, Activation.RELU, 0.5f).loss(Loss.MSE).build(),
        "layer 0", "13", "dropout");
    assertIae(() -> Network.builder(0).dense(3, Activation.RELU).loss(Loss.MSE).build(), "inputs", "0");
    assertIae(() -> Network.builder(4).loss(Loss.MSE).build(), "at least one layer");
    assertIae(() -> Network.builder(4).dense(3, Activation.RELU).build(), "no loss");
    assertIae(() -> Network.builder(4).dense(0, Activation.RELU), "units", "0");
    // 2^22 inputs x 4096 units do not fit one float array: a plain error, not an integer overflow.
    assertIae(() -> Network.builder(1 << 22).dense(4096, Activation.RELU).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build(), "at most 2,147,483,639 parameters", "17,179,881,474");
  }

  @Test
  void validArchitecturesBuild() {
    Network.builder(4).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Network.builder(4).dense(3, Activation.IDENTITY).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Network.builder(4).dense(1, Activation.SIGMOID).loss(Loss.BINARY_CROSS_ENTROPY).build();
    Network.builder(4).dense(5, Activation.RELU, 0.2f).dense(2, Activation.SOFTMAX).loss(Loss.MSE).build();
  }

  @Test
  void wrongFeatureWidthIsRejected() {
    Network net = Network.builder(12).dense(5, Activation.RELU).dense(3, Activation.IDENTITY)
        .loss(Loss.MSE).build();
    float[] params = net.initParameters(1);
    int rows = 4;
    MiniBatch wide = MiniBatch.wrap(13, 3, new float[rows * 13], new float[rows * 3], null, rows);
    float[] grad = new float[params.length];
    assertIae(() -> net.lossAndGradient(params, wide, grad, net.newWorkspace(), 0L),
        "expected 12", "found 13", "layer 0");
    assertIae(() -> net.loss(params, wide, net.newWorkspace()), "expected 12", "found 13", "layer 0");
    // Nothing was added to the gradient.
    assertArrayEquals(new float[params.length], grad);

    MiniBatch labels = MiniBatch.wrap(12, 1, new float[rows * 12], new float[rows], null, rows);
    assertIae(() -> net.lossAndGradient(params, labels, grad, net.newWorkspace(), 0L),
        "expected 3", "found 1");
    MiniBatch ok = MiniBatch.wrap(12, 3, new float[rows * 12], new float[rows * 3], null, rows);
    assertIae(() -> net.lossAndGradient(params, ok, new float[params.length + 1], net.newWorkspace(), 0L),
        "gradient", String.valueOf(params.length));
    assertIae(() -> net.lossAndGradient(Arrays.copyOf(params, 3), ok, grad, net.newWorkspace(), 0L),
        "parameters", String.valueOf(params.length));
  }

  // --- initialisation ---------------------------------------------------------------------------

  private static Network mnist(Activation hidden) {
    return Network.builder(784).dense(256, hidden).dense(10, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  @Test
  void sameSeedSameParametersDifferentSeedDifferent() {
    Network net = mnist(Activation.RELU);
    float[] a = net.initParameters(123);
    float[] b = net.initParameters(123);
    float[] c = net.initParameters(124);
    assertArrayEquals(a, b);
    assertFalse(Arrays.equals(a, c));
    int same = 0;
    for (int i = 0; i < a.length; i++) if (a[i] == c[i] && a[i] != 0f) same++;
    assertTrue(same < a.length / 1000, same + " equal non-zero parameters for different seeds");
    // Layers are drawn from different streams.
    ParameterLayout.Entry k0 = net.layout().kernel(0);
    ParameterLayout.Entry k1 = net.layout().kernel(1);
    assertFalse(Arrays.equals(Arrays.copyOfRange(a, k0.offset(), k0.offset() + 100),
        Arrays.copyOfRange(a, k1.offset(), k1.offset() + 100)));
    // An equal network built separately initialises identically.
    assertArrayEquals(a, mnist(Activation.RELU).initParameters(123));
  }

  private static double[] meanStd(float[] p, ParameterLayout.Entry e) {
    double s = 0;
    double s2 = 0;
    for (int i = e.offset(); i < e.end(); i++) {
      s += p[i];
      s2 += (double) p[i] * p[i];
    }
    double mean = s / e.size();
    return new double[] {mean, Math.sqrt(s2 / e.size() - mean * mean)};
  }

  @Test
  void heAndGlorotScales() {
    for (Activation act : new Activation[] {Activation.RELU, Activation.leakyRelu(0.1f), Activation.GELU}) {
      Network net = mnist(act);
      float[] p = net.initParameters(7);
      double[] ms = meanStd(p, net.layout().kernel(0));
      double he = Math.sqrt(2.0 / 784);
      assertEquals(0, ms[0], 0.05 * he, act + " kernel mean");
      assertEquals(he, ms[1], 0.03 * he, act + " kernel std (He)");
    }
    for (Activation act : new Activation[] {Activation.TANH, Activation.SIGMOID, Activation.IDENTITY}) {
      Network net = mnist(act);
      float[] p = net.initParameters(7);
      ParameterLayout.Entry k = net.layout().kernel(0);
      double[] ms = meanStd(p, k);
      double limit = Math.sqrt(6.0 / (784 + 256));
      double glorot = limit / Math.sqrt(3); // std of U(-limit, limit)
      assertEquals(0, ms[0], 0.05 * glorot, act + " kernel mean");
      assertEquals(glorot, ms[1], 0.03 * glorot, act + " kernel std (Glorot)");
      double max = 0;
      for (int i = k.offset(); i < k.end(); i++) max = Math.max(max, Math.abs(p[i]));
      assertTrue(max <= limit && max > 0.95 * limit, act + " max |w| " + max + " vs limit " + limit);
    }
    // The softmax output layer is Glorot with its own fan-in/out; biases start at zero.
    Network net = mnist(Activation.RELU);
    float[] p = net.initParameters(7);
    double[] out = meanStd(p, net.layout().kernel(1));
    double glorotOut = Math.sqrt(6.0 / (256 + 10)) / Math.sqrt(3);
    assertEquals(glorotOut, out[1], 0.1 * glorotOut, "output kernel std");
    for (int l = 0; l < net.depth(); l++) {
      ParameterLayout.Entry b = net.layout().bias(l);
      for (int i = b.offset(); i < b.end(); i++) assertEquals(0f, p[i], 0f, b.name());
    }
  }

  // --- workspace reuse and accumulation ---------------------------------------------------------

  @Test
  void workspaceReuseAcrossBatchSizesAndGradientAccumulation() {
    Network net = Network.builder(6).dense(9, Activation.TANH, 0.2f).dense(4, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    float[] params = net.initParameters(5);
    SplittableRandom rnd = new SplittableRandom(5);
    int rows = 10;
    float[] x = new float[rows * 6];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
    float[] y = new float[rows];
    for (int r = 0; r < rows; r++) y[r] = rnd.nextInt(4);
    MiniBatch all = MiniBatch.wrap(6, 1, x, y, null, rows);
    MiniBatch first = MiniBatch.wrap(6, 1, x, y, null, 3);

    float[] fresh = new float[params.length];
    double freshLoss = net.lossAndGradient(params, first, fresh, net.newWorkspace(), 9L);
    Network.Workspace ws = net.newWorkspace();
    float[] scratch = new float[params.length];
    net.lossAndGradient(params, all, scratch, ws, 9L); // grows the workspace first
    float[] reused = new float[params.length];
    double reusedLoss = net.lossAndGradient(params, first, reused, ws, 9L);
    assertEquals(freshLoss, reusedLoss, 0.0);
    assertArrayEquals(fresh, reused, 0f);

    // Twice into the same buffer = twice the gradient (it adds).
    float[] twice = new float[params.length];
    net.lossAndGradient(params, first, twice, ws, 9L);
    net.lossAndGradient(params, first, twice, ws, 9L);
    for (int i = 0; i < twice.length; i++) assertEquals(2 * fresh[i], twice[i], 1e-6f * (1 + Math.abs(fresh[i])));

    // An empty batch adds nothing and costs nothing.
    float[] none = new float[params.length];
    assertEquals(0.0, net.lossAndGradient(params, MiniBatch.wrap(6, 1, x, y, null, 0), none, ws, 9L));
    assertArrayEquals(new float[params.length], none);

    // predict gives softmax rows that sum to 1.
    float[] out = net.predict(params, x, rows, ws);
    for (int r = 0; r < rows; r++) {
      double s = 0;
      for (int j = 0; j < 4; j++) s += out[r * 4 + j];
      assertEquals(1.0, s, 1e-6);
    }
  }
}
