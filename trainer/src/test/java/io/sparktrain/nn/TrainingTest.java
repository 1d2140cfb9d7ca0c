package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** In-process training of the seed's examples: the network, loss and Adam working together. */
class TrainingTest {

  /** The seed's SimpleNet: Dense(10, relu) -> Dense(1, sigmoid), binary cross-entropy, Adam. */
  @Test
  void simpleNetLearnsASeparableSet() {
    int n = 1000;
    int d = 10;
    Random r = new Random(11);
    float[] w = new float[d];
    for (int j = 0; j < d; j++) w[j] = (float) r.nextGaussian();
    float[] x = new float[n * d];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) r.nextGaussian();
        s += x[i * d + j] * w[j];
      }
      y[i] = s > 0 ? 1f : 0f;
    }
    Network net = Network.builder(d).dense(10, Activation.RELU).dense(1, Activation.SIGMOID)
        .loss(Loss.BINARY_CROSS_ENTROPY).build();
    float[] p = train(net, x, y, n, 32, 20, OptimizerSpec.adam().learningRate(0.01).build(), 5);
    double acc = accuracy(net, p, x, y, n);
    assertTrue(acc >= 0.95, "SimpleNet accuracy " + acc);
  }

  @Test
  void xorIsLearnedByA281Net() {
    float[] x = {0, 0, 0, 1, 1, 0, 1, 1};
    float[] y = {0, 1, 1, 0};
    Network net = Network.builder(2).dense(8, Activation.TANH).dense(1, Activation.SIGMOID)
        .loss(Loss.BINARY_CROSS_ENTROPY).build();
    float[] p = train(net, x, y, 4, 4, 500, OptimizerSpec.adam().learningRate(0.05).build(), 3);
    float[] out = net.predict(p, x, 4, net.newWorkspace());
    for (int i = 0; i < 4; i++) {
      assertTrue(Math.abs(out[i] - y[i]) < 0.1, "XOR(" + x[2 * i] + "," + x[2 * i + 1] + ") = " + out[i]);
    }
  }

  static float[] train(Network net, float[] x, float[] y, int n, int batch, int epochs, OptimizerSpec spec, long seed) {
    float[] p = net.initParameters(seed);
    Optimizer opt = spec.create(p.length);
    Network.Workspace ws = net.newWorkspace();
    int d = net.inputs();
    float[] g = new float[p.length];
    Random r = new Random(seed);
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int e = 0; e < epochs; e++) {
      for (int i = n - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
      for (int s = 0; s < n; s += batch) {
        int m = Math.min(batch, n - s);
        float[] bx = new float[m * d];
        float[] by = new float[m];
        for (int i = 0; i < m; i++) {
          System.arraycopy(x, idx[s + i] * d, bx, i * d, d);
          by[i] = y[idx[s + i]];
        }
        Arrays.fill(g, 0f);
        net.lossAndGradient(p, MiniBatch.wrap(d, 1, bx, by, null, m), g, ws, e * 1000L + s);
        for (int i = 0; i < g.length; i++) g[i] /= m;
        opt.step(p, g);
      }
    }
    return p;
  }

  static double accuracy(Network net, float[] p, float[] x, float[] y, int n) {
    float[] out = net.predict(p, x, n, net.newWorkspace());
    int ok = 0;
    for (int i = 0; i < n; i++) ok += (out[i] >= 0.5f ? 1f : 0f) == y[i] ? 1 : 0;
    return (double) ok / n;
  }
}
