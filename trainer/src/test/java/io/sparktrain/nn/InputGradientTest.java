package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Network#inputGradient} against centred finite differences of the independent double-precision
 * forward pass of {@link GradientCheckTest.Reference}, for F = sum over rows and outputs of s * z (z the
 * output layer's pre-activations, s random), and the two-halves forward pass
 * ({@link Network#firstLayerPreActivations}, {@link Network#predictFromFirstLayer}) against {@link Network#predict}.
 */
class InputGradientTest {
  private static final double H = 1e-6;

  static Stream<Arguments> networks() {
    return Stream.of(
        Arguments.of("tanh, softmax", Network.builder(5).dense(7, Activation.TANH).dense(3, Activation.SOFTMAX)
            .loss(Loss.SOFTMAX_CROSS_ENTROPY).build()),
        Arguments.of("relu, relu, logits", Network.builder(6).dense(8, Activation.RELU).dense(5, Activation.RELU)
            .dense(4, Activation.IDENTITY).loss(Loss.SOFTMAX_CROSS_ENTROPY).build()),
        Arguments.of("gelu with dropout, sigmoid unit", Network.builder(4).dense(6, Activation.GELU, 0.3f)
            .dense(1, Activation.SIGMOID).loss(Loss.BINARY_CROSS_ENTROPY).build()),
        Arguments.of("leaky relu, sigmoid, regression", Network.builder(3).dense(5, Activation.leakyRelu(0.1f))
            .dense(4, Activation.SIGMOID).dense(2, Activation.IDENTITY).loss(Loss.MSE).build()),
        Arguments.of("one layer", Network.builder(4).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY)
            .build()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("networks")
  void inputGradientMatchesFiniteDifferencesOfADoubleForwardPass(String name, Network net) {
    int rows = 5;
    int d = net.inputs();
    int k = net.outputs();
    SplittableRandom rnd = new SplittableRandom(11);
    float[] params = net.initParameters(3);
    for (int i = 0; i < params.length; i++) params[i] += (float) (0.1 * rnd.nextGaussian());
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
    float[] s = new float[rows * k];
    for (int i = 0; i < s.length; i++) s[i] = (float) rnd.nextGaussian();

    Network.Workspace ws = net.newWorkspace();
    net.predict(params, x, rows, ws, new float[rows * k], 0);
    float[] dx = new float[rows * d + 3];
    net.inputGradient(params, s, rows, ws, dx, 3);

    GradientCheckTest.Reference ref = new GradientCheckTest.Reference(net);
    double[] p = new double[params.length];
    for (int i = 0; i < p.length; i++) p[i] = params[i];
    double[] xd = new double[x.length];
    for (int i = 0; i < x.length; i++) xd[i] = x[i];
    double[] y = new double[rows * net.labelWidth()];
    double worst = 0;
    double scale = 0;
    for (int i = 0; i < xd.length; i++) {
      double keep = xd[i];
      xd[i] = keep + H;
      double plus = weightedLogits(ref, p, xd, y, rows, s);
      xd[i] = keep - H;
      double minus = weightedLogits(ref, p, xd, y, rows, s);
      xd[i] = keep;
      double numeric = (plus - minus) / (2 * H);
      worst = Math.max(worst, Math.abs(numeric - dx[3 + i]));
      scale = Math.max(scale, Math.abs(numeric));
    }
    assertTrue(scale > 1e-3, name + ": the gradient should not vanish, max |dF/dx| " + scale);
    assertTrue(worst <= 1e-4 * Math.max(1, scale), name + ": largest |analytic - numeric| " + worst
        + " (max |numeric| " + scale + ")");
    assertEquals(0f, dx[0]);
  }

  private static double weightedLogits(GradientCheckTest.Reference ref, double[] p, double[] x, double[] y, int rows,
      float[] s) {
    ref.loss(p, x, y, null, rows, null, 0);
    double[] z = ref.lastZ[ref.lastZ.length - 1];
    double f = 0;
    for (int i = 0; i < z.length; i++) f += s[i] * z[i];
    return f;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("networks")
  void theForwardPassInTwoHalvesIsTheForwardPass(String name, Network net) {
    int rows = 7;
    int d = net.inputs();
    int k = net.outputs();
    float[] params = net.initParameters(5);
    SplittableRandom rnd = new SplittableRandom(2);
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
    Network.Workspace ws = net.newWorkspace();
    float[] want = net.predict(params, x, rows, ws);
    float[] z0 = new float[rows * net.sizes()[1]];
    net.firstLayerPreActivations(params, x, rows, net.newWorkspace(), z0);
    float[] z0copy = z0.clone();
    float[] got = new float[rows * k];
    net.predictFromFirstLayer(params, z0, rows, net.newWorkspace(), got, 0);
    for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6f, name + " output " + i);
    for (int i = 0; i < z0.length; i++) assertEquals(z0copy[i], z0[i], name + ": z0 was modified");
  }

  @Test
  void aNetworkWithEmbeddingsIsRefused() {
    Network net = Network.builder(2).embedding(5, 2).dense(2, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY)
        .build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.inputGradient(
        net.initParameters(1), new float[2], 1, net.newWorkspace(), new float[2], 0));
    assertTrue(e.getMessage().contains("without embedding tables"), e.getMessage());
  }
}
