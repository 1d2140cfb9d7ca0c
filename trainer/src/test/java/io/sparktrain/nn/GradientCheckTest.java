package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks the float analytic gradient of {@link Network#lossAndGradient} (and {@link Network#addL2})
 * against centred finite differences of an independent, naive double-precision reference of the
 * forward pass and the loss. The reference reads only the architecture (sizes, activation kinds,
 * leaky slope, dropout rates, loss kind, huber delta) and the parameter layout from the network;
 * every formula is re-implemented here with plain loops.
 */
class GradientCheckTest {

  /** Finite-difference step, in parameter units (double). */
  private static final double H = 1e-6;
  /** Minimum distance of any pre-activation / residual from a kink of relu, leaky relu, mae, huber. */
  private static final double KINK_MARGIN = 1e-3;
  /** Tolerance on ||analytic - numeric|| / ||numeric||. */
  private static final double NORM_RTOL = 1e-3;
  /** Elementwise tolerance: |a - n| <= ELEM_RTOL |n| + ELEM_ATOL max|n|. */
  private static final double ELEM_RTOL = 1e-3;
  private static final double ELEM_ATOL = 1e-4;

  // ---------------------------------------------------------------------------------------------
  // The double-precision reference.

  /** Naive double forward pass + weighted loss sum (+ optional L2 on kernels). */
  static final class Reference {
    private final Network net;
    /** Pre-activations of each layer from the last {@link #loss} call (rows x units). */
    double[][] lastZ;
    /** Output-layer activations from the last {@link #loss} call. */
    double[] lastOut;

    Reference(Network net) {
      this.net = net;
    }

    /**
     * @param masks per-layer dropout factors (rows x units), or null / null entries for none
     * @param lambda L2 strength; adds lambda/2 * sum of squared kernel weights
     */
    double loss(double[] p, double[] x, double[] y, double[] w, int rows, float[][] masks, double lambda) {
      int[] sizes = net.sizes();
      ParameterLayout layout = net.layout();
      double[] in = x;
      lastZ = new double[net.depth()][];
      double[] a = null;
      for (int l = 0; l < net.depth(); l++) {
        int nin = sizes[l];
        int nout = sizes[l + 1];
        int kOff = layout.kernel(l).offset();
        int bOff = layout.bias(l).offset();
        double[] z = new double[rows * nout];
        for (int r = 0; r < rows; r++) {
          for (int j = 0; j < nout; j++) {
            double s = p[bOff + j];
            for (int i = 0; i < nin; i++) {
              s += in[r * nin + i] * p[kOff + i * nout + j];
            }
            z[r * nout + j] = s;
          }
        }
        lastZ[l] = z;
        a = activate(net.layer(l).activation(), z, rows, nout);
        if (masks != null && masks[l] != null) {
          for (int i = 0; i < rows * nout; i++) {
            a[i] *= masks[l][i];
          }
        }
        in = a;
      }
      lastOut = a;
      double[] zOut = lastZ[net.depth() - 1];
      int cols = net.outputs();
      double total = 0;
      for (int r = 0; r < rows; r++) {
        double wr = w == null ? 1.0 : w[r];
        total += wr * rowLoss(net.loss(), zOut, a, y, r, cols);
      }
      if (lambda != 0) {
        double sq = 0;
        for (int l = 0; l < net.depth(); l++) {
          ParameterLayout.Entry k = layout.kernel(l);
          for (int i = k.offset(); i < k.end(); i++) {
            sq += p[i] * p[i];
          }
        }
        total += 0.5 * lambda * sq;
      }
      return total;
    }

    static double[] activate(Activation act, double[] z, int rows, int cols) {
      double[] a = new double[z.length];
      switch (act.kind()) {
        case IDENTITY:
          System.arraycopy(z, 0, a, 0, z.length);
          break;
        case RELU:
          for (int i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : 0.0;
          break;
        case LEAKY_RELU: {
          double alpha = act.alpha();
          for (int i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : alpha * z[i];
          break;
        }
        case SIGMOID:
          for (int i = 0; i < z.length; i++) a[i] = 1.0 / (1.0 + Math.exp(-z[i]));
          break;
        case TANH:
          for (int i = 0; i < z.length; i++) a[i] = Math.tanh(z[i]);
          break;
        case GELU: {
          double c = Math.sqrt(2.0 / Math.PI);
          for (int i = 0; i < z.length; i++) {
            double v = z[i];
            a[i] = 0.5 * v * (1.0 + Math.tanh(c * (v + 0.044715 * v * v * v)));
          }
          break;
        }
        case SOFTMAX:
          for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) max = Math.max(max, z[r * cols + j]);
            double sum = 0;
            for (int j = 0; j < cols; j++) sum += Math.exp(z[r * cols + j] - max);
            for (int j = 0; j < cols; j++) a[r * cols + j] = Math.exp(z[r * cols + j] - max) / sum;
          }
          break;
        default:
          throw new AssertionError(act);
      }
      return a;
    }

    static double rowLoss(Loss loss, double[] z, double[] a, double[] y, int r, int cols) {
      int base = r * cols;
      double s = 0;
      switch (loss.kind()) {
        case MSE:
          for (int j = 0; j < cols; j++) {
            double d = a[base + j] - y[base + j];
            s += d * d;
          }
          return s / cols;
        case MAE:
          for (int j = 0; j < cols; j++) s += Math.abs(a[base + j] - y[base + j]);
          return s / cols;
        case HUBER: {
          double delta = loss.delta();
          for (int j = 0; j < cols; j++) {
            double d = Math.abs(a[base + j] - y[base + j]);
            s += d <= delta ? 0.5 * d * d : delta * d - 0.5 * delta * delta;
          }
          return s / cols;
        }
        case BINARY_CROSS_ENTROPY:
          // -t log(sigmoid(z)) - (1 - t) log(1 - sigmoid(z)), with -log(sigmoid(z)) = log(1 + e^-z).
          for (int j = 0; j < cols; j++) {
            double zj = z[base + j];
            double t = y[base + j];
            s += t * Math.log1p(Math.exp(-zj)) + (1 - t) * Math.log1p(Math.exp(zj));
          }
          return s / cols;
        case SOFTMAX_CROSS_ENTROPY: {
          int label = (int) y[r];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < cols; j++) max = Math.max(max, z[base + j]);
          double sum = 0;
          for (int j = 0; j < cols; j++) sum += Math.exp(z[base + j] - max);
          return Math.log(sum) + max - z[base + label];
        }
        default:
          throw new AssertionError(loss);
      }
    }

    /** Centred finite differences of {@link #loss} with respect to every parameter. */
    double[] numericGradient(double[] p, double[] x, double[] y, double[] w, int rows, float[][] masks,
        double lambda) {
      double[] q = p.clone();
      double[] g = new double[p.length];
      for (int i = 0; i < p.length; i++) {
        q[i] = p[i] + H;
        double plus = loss(q, x, y, w, rows, masks, lambda);
        q[i] = p[i] - H;
        double minus = loss(q, x, y, w, rows, masks, lambda);
        q[i] = p[i];
        g[i] = (plus - minus) / (2 * H);
      }
      return g;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The comparison helper.

  /** Null when {@code analytic} matches {@code numeric}, else a description of the mismatch. */
  static String compareGradients(double[] numeric, double[] analytic) {
    if (numeric.length != analytic.length) {
      return "length " + analytic.length + " != " + numeric.length;
    }
    double diff2 = 0;
    double norm2 = 0;
    double maxAbs = 0;
    for (int i = 0; i < numeric.length; i++) {
      double d = analytic[i] - numeric[i];
      diff2 += d * d;
      norm2 += numeric[i] * numeric[i];
      maxAbs = Math.max(maxAbs, Math.abs(numeric[i]));
    }
    if (!(norm2 > 0)) {
      return "numeric gradient is zero or not finite (norm^2 = " + norm2 + ")";
    }
    double rel = Math.sqrt(diff2 / norm2);
    if (!(rel <= NORM_RTOL)) {
      return String.format("||analytic - numeric|| / ||numeric|| = %.3e > %.1e", rel, NORM_RTOL);
    }
    for (int i = 0; i < numeric.length; i++) {
      double d = Math.abs(analytic[i] - numeric[i]);
      if (!(d <= ELEM_RTOL * Math.abs(numeric[i]) + ELEM_ATOL * maxAbs)) {
        return String.format("element %d: analytic %.8e vs numeric %.8e (max |numeric| %.3e)", i,
            analytic[i], numeric[i], maxAbs);
      }
    }
    return null;
  }

  static void assertGradientsClose(String what, double[] numeric, double[] analytic) {
    String problem = compareGradients(numeric, analytic);
    if (problem != null) {
      fail(what + ": " + problem);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Test data.

  /** One gradient-check problem: float data for the network, their exact double copies for the reference. */
  static final class Problem {
    final Network net;
    final int rows;
    final float[] params;
    final float[] x;
    final float[] y;
    final float[] w;
    final float[][] masks;
    final long dropoutSeed;

    Problem(Network net, int rows, boolean weighted, long dataSeed, long dropoutSeed) {
      this.net = net;
      this.rows = rows;
      this.dropoutSeed = dropoutSeed;
      SplittableRandom rnd = new SplittableRandom(dataSeed);
      params = net.initParameters(dataSeed);
      for (int l = 0; l < net.depth(); l++) {
        ParameterLayout.Entry b = net.layout().bias(l);
        for (int i = b.offset(); i < b.end(); i++) params[i] = (float) (rnd.nextDouble() - 0.5) * 0.6f;
      }
      x = new float[rows * net.inputs()];
      for (int i = 0; i < x.length; i++) x[i] = (float) (2 * rnd.nextDouble() - 1);
      int outs = net.outputs();
      y = new float[rows * net.labelWidth()];
      for (int r = 0; r < rows; r++) {
        switch (net.loss().kind()) {
          case SOFTMAX_CROSS_ENTROPY:
            y[r] = rnd.nextInt(outs);
            break;
          case BINARY_CROSS_ENTROPY:
            // Mostly hard 0/1 targets, some soft ones.
            for (int j = 0; j < outs; j++) {
              y[r * outs + j] = rnd.nextInt(4) == 0 ? 0.25f : rnd.nextInt(2);
            }
            break;
          default:
            for (int j = 0; j < outs; j++) y[r * outs + j] = (float) (2 * rnd.nextDouble() - 1);
        }
      }
      if (weighted) {
        w = new float[rows];
        for (int r = 0; r < rows; r++) w[r] = (float) (0.2 + 1.8 * rnd.nextDouble());
      } else {
        w = null;
      }
      masks = new float[net.depth()][];
      for (int l = 0; l < net.depth(); l++) {
        float rate = net.layer(l).dropout();
        if (rate > 0f) {
          // Exactly as Network.forward draws it: (seed, layer index, rate, rows * units).
          masks[l] = new float[rows * net.sizes()[l + 1]];
          Network.dropoutMask(dropoutSeed, l, rate, masks[l], masks[l].length);
        }
      }
    }

    MiniBatch batch() {
      return MiniBatch.wrap(net.inputs(), net.labelWidth(), x, y, w, rows);
    }

    static double[] toDouble(float[] v) {
      if (v == null) {
        return null;
      }
      double[] d = new double[v.length];
      for (int i = 0; i < v.length; i++) d[i] = v[i];
      return d;
    }

    /** Null when no pre-activation or residual lies within KINK_MARGIN of a kink, else why. */
    String kinkProblem(Reference ref) {
      ref.loss(toDouble(params), toDouble(x), toDouble(y), toDouble(w), rows, masks, 0);
      for (int l = 0; l < net.depth(); l++) {
        Activation.Kind k = net.layer(l).activation().kind();
        if (k == Activation.Kind.RELU || k == Activation.Kind.LEAKY_RELU) {
          for (double z : ref.lastZ[l]) {
            if (Math.abs(z) < KINK_MARGIN) {
              return "layer " + l + " pre-activation " + z;
            }
          }
        }
      }
      Loss.Kind lk = net.loss().kind();
      if (lk == Loss.Kind.MAE || lk == Loss.Kind.HUBER) {
        double delta = net.loss().delta();
        for (int i = 0; i < ref.lastOut.length; i++) {
          double d = Math.abs(ref.lastOut[i] - y[i]);
          if (d < KINK_MARGIN || (lk == Loss.Kind.HUBER && Math.abs(d - delta) < KINK_MARGIN)) {
            return "residual " + d;
          }
        }
      }
      return null;
    }
  }

  /**
   * A problem whose data keep every relu/leaky pre-activation and every mae/huber residual away from
   * the kinks: the first data seed from {@code seed} on that does (deterministic).
   */
  static Problem problem(Network net, int rows, boolean weighted, long seed, long dropoutSeed) {
    Reference ref = new Reference(net);
    String last = null;
    for (long s = seed; s < seed + 200; s++) {
      Problem p = new Problem(net, rows, weighted, s, dropoutSeed);
      last = p.kinkProblem(ref);
      if (last == null) {
        return p;
      }
    }
    throw new IllegalStateException("no kink-free data for " + net + ": " + last);
  }

  /** Result of running the float network on a problem. */
  static final class Analytic {
    double loss;
    double penalty;
    double[] grad;
  }

  /**
   * Runs lossAndGradient (+ addL2) on a gradient buffer pre-filled with non-zero values, and returns
   * what was added to it (the method's contract is to add, not to overwrite).
   */
  static Analytic analytic(Problem p, float lambda) {
    float[] grad = new float[p.params.length];
    float[] initial = new float[grad.length];
    for (int i = 0; i < grad.length; i++) initial[i] = grad[i] = ((i % 5) - 2) * 0.125f;
    Network.Workspace ws = p.net.newWorkspace();
    Analytic a = new Analytic();
    a.loss = p.net.lossAndGradient(p.params, p.batch(), grad, ws, p.dropoutSeed);
    a.penalty = p.net.addL2(p.params, grad, lambda);
    a.grad = new double[grad.length];
    for (int i = 0; i < grad.length; i++) a.grad[i] = (double) grad[i] - initial[i];
    return a;
  }

  /** The full check: forward loss, inference loss (no dropout), L2 penalty and the gradient. */
  static void check(String name, Network net, int rows, boolean weighted, long seed, long dropoutSeed,
      float lambda) {
    Problem p = problem(net, rows, weighted, seed, dropoutSeed);
    Reference ref = new Reference(net);
    double[] dp = Problem.toDouble(p.params);
    double[] dx = Problem.toDouble(p.x);
    double[] dy = Problem.toDouble(p.y);
    double[] dw = Problem.toDouble(p.w);

    double refLoss = ref.loss(dp, dx, dy, dw, rows, p.masks, 0);
    double refPenalty = ref.loss(dp, dx, dy, dw, rows, p.masks, lambda) - refLoss;
    Analytic a = analytic(p, lambda);
    assertEquals(refLoss, a.loss, 1e-5 * Math.abs(refLoss) + 1e-6, name + ": forward loss (training)");
    assertEquals(refPenalty, a.penalty, 1e-6 * Math.abs(refPenalty) + 1e-9, name + ": L2 penalty");

    // Inference mode: no dropout.
    double refInference = ref.loss(dp, dx, dy, dw, rows, null, 0);
    double inference = net.loss(p.params, p.batch(), net.newWorkspace());
    assertEquals(refInference, inference, 1e-5 * Math.abs(refInference) + 1e-6, name + ": inference loss");

    double[] numeric = ref.numericGradient(dp, dx, dy, dw, rows, p.masks, lambda);
    assertGradientsClose(name + " (" + net + ")", numeric, a.grad);
  }

  // ---------------------------------------------------------------------------------------------
  // Cases.

  private static final int IN = 5;
  private static final int HIDDEN = 7;
  private static final int OUT = 3;
  private static final int ROWS = 6;

  static Stream<Arguments> hiddenActivations() {
    return Stream.of(Activation.IDENTITY, Activation.RELU, Activation.leakyRelu(0.1f),
        Activation.SIGMOID, Activation.TANH, Activation.GELU).map(Arguments::of);
  }

  @ParameterizedTest(name = "hidden {0}")
  @MethodSource("hiddenActivations")
  void everyHiddenActivation(Activation act) {
    Network net = Network.builder(IN).dense(HIDDEN, act).dense(OUT, Activation.IDENTITY).loss(Loss.MSE).build();
    check("hidden " + act, net, ROWS, false, 11, 0L, 0f);
  }

  static Stream<Arguments> outputActivations() {
    return Stream.of(Activation.IDENTITY, Activation.RELU, Activation.leakyRelu(0.2f),
        Activation.SIGMOID, Activation.TANH, Activation.GELU, Activation.SOFTMAX).map(Arguments::of);
  }

  @ParameterizedTest(name = "output {0} with mse")
  @MethodSource("outputActivations")
  void everyOutputActivation(Activation act) {
    Network net = Network.builder(IN).dense(HIDDEN, Activation.TANH).dense(OUT, act).loss(Loss.MSE).build();
    check("output " + act, net, ROWS, true, 21, 0L, 0f);
  }

  static Stream<Arguments> losses() {
    List<Arguments> out = new ArrayList<>();
    for (boolean weighted : new boolean[] {false, true}) {
      out.add(Arguments.of(Loss.MSE, Activation.IDENTITY, OUT, weighted));
      out.add(Arguments.of(Loss.MAE, Activation.IDENTITY, OUT, weighted));
      out.add(Arguments.of(Loss.MAE, Activation.SIGMOID, OUT, weighted));
      out.add(Arguments.of(Loss.huber(0.3f), Activation.IDENTITY, OUT, weighted));
      out.add(Arguments.of(Loss.huber(0.3f), Activation.TANH, OUT, weighted));
      out.add(Arguments.of(Loss.BINARY_CROSS_ENTROPY, Activation.IDENTITY, OUT, weighted));
      out.add(Arguments.of(Loss.BINARY_CROSS_ENTROPY, Activation.SIGMOID, OUT, weighted));
      out.add(Arguments.of(Loss.BINARY_CROSS_ENTROPY, Activation.SIGMOID, 1, weighted));
      out.add(Arguments.of(Loss.SOFTMAX_CROSS_ENTROPY, Activation.IDENTITY, 4, weighted));
      out.add(Arguments.of(Loss.SOFTMAX_CROSS_ENTROPY, Activation.SOFTMAX, 4, weighted));
      out.add(Arguments.of(Loss.SOFTMAX_CROSS_ENTROPY, Activation.SOFTMAX, 2, weighted));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} after {1} x{2}, weighted={3}")
  @MethodSource("losses")
  void everyLoss(Loss loss, Activation outAct, int outs, boolean weighted) {
    Network net = Network.builder(IN).dense(HIDDEN, Activation.GELU).dense(outs, outAct).loss(loss).build();
    check(loss + " after " + outAct, net, ROWS, weighted, 31, 0L, 0f);
  }

  @Test
  void huberDataCoverBothRegimes() {
    // The huber cases above are only meaningful if residuals fall on both sides of delta.
    for (Activation outAct : new Activation[] {Activation.IDENTITY, Activation.TANH}) {
      Network net = Network.builder(IN).dense(HIDDEN, Activation.GELU).dense(OUT, outAct)
          .loss(Loss.huber(0.3f)).build();
      Problem p = problem(net, ROWS, true, 31, 0L);
      Reference ref = new Reference(net);
      ref.loss(Problem.toDouble(p.params), Problem.toDouble(p.x), Problem.toDouble(p.y),
          Problem.toDouble(p.w), ROWS, null, 0);
      int inside = 0;
      int outside = 0;
      for (int i = 0; i < ref.lastOut.length; i++) {
        if (Math.abs(ref.lastOut[i] - p.y[i]) <= 0.3) inside++; else outside++;
      }
      assertTrue(inside > 0 && outside > 0, "huber regimes: " + inside + " inside, " + outside + " outside");
    }
  }

  @Test
  void singleLayer() {
    Network net = Network.builder(IN).dense(1, Activation.IDENTITY).loss(Loss.BINARY_CROSS_ENTROPY).build();
    check("logistic regression", net, ROWS, true, 41, 0L, 0f);
  }

  @Test
  void threeLayers() {
    Network net = Network.builder(6)
        .dense(8, Activation.GELU)
        .dense(7, Activation.leakyRelu(0.2f))
        .dense(4, Activation.SIGMOID)
        .loss(Loss.MSE).build();
    check("3 layers", net, 9, true, 51, 0L, 0f);
    Network ce = Network.builder(6)
        .dense(8, Activation.RELU)
        .dense(7, Activation.TANH)
        .dense(5, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    check("3 layers softmax ce", ce, 9, false, 52, 0L, 0f);
  }

  @Test
  void dropoutWithFixedMask() {
    Network net = Network.builder(6)
        .dense(9, Activation.RELU, 0.3f)
        .dense(8, Activation.TANH, 0.5f)
        .dense(4, Activation.IDENTITY)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    long dropoutSeed = 0x5EEDL;
    Problem p = problem(net, 9, true, 61, dropoutSeed);
    // The masks must actually drop some units and keep others, else this checks nothing.
    for (int l = 0; l < 2; l++) {
      int dropped = 0;
      for (float m : p.masks[l]) if (m == 0f) dropped++;
      assertTrue(dropped > 0 && dropped < p.masks[l].length, "layer " + l + " dropped " + dropped);
    }
    check("dropout", net, 9, true, 61, dropoutSeed, 0f);

    // Replaying with the same seed gives the identical gradient; another seed a different one.
    Analytic first = analytic(p, 0f);
    Analytic replay = analytic(p, 0f);
    assertArrayEquals(first.grad, replay.grad, 0.0);
    assertEquals(first.loss, replay.loss, 0.0);
    Problem other = new Problem(net, 9, true, 61, dropoutSeed + 1);
    Problem base = new Problem(net, 9, true, 61, dropoutSeed);
    Analytic a1 = analytic(base, 0f);
    Analytic a2 = analytic(other, 0f);
    assertTrue(compareGradients(a1.grad, a2.grad) != null, "another dropout seed gave the same gradient");
  }

  @Test
  void dropoutWithHiddenIdentityAndSigmoid() {
    // Identity layers share z and h in the workspace; dropout gives them a separate output buffer.
    Network net = Network.builder(IN)
        .dense(HIDDEN, Activation.IDENTITY, 0.25f)
        .dense(6, Activation.SIGMOID, 0.4f)
        .dense(OUT, Activation.IDENTITY)
        .loss(Loss.huber(0.5f)).build();
    check("dropout identity/sigmoid", net, 8, false, 71, 99L, 0f);
  }

  @Test
  void l2ViaAddL2() {
    Network net = Network.builder(6)
        .dense(8, Activation.TANH)
        .dense(7, Activation.RELU)
        .dense(3, Activation.IDENTITY)
        .loss(Loss.MSE).build();
    check("l2", net, 7, true, 81, 0L, 0.05f);
    // With a large lambda the penalty dominates: still exact, and biases are not decayed.
    check("l2 large", net, 7, false, 82, 0L, 3f);
    Problem p = problem(net, 7, false, 83, 0L);
    Analytic without = analytic(p, 0f);
    Analytic with = analytic(p, 0.5f);
    for (int l = 0; l < net.depth(); l++) {
      ParameterLayout.Entry b = net.layout().bias(l);
      for (int i = b.offset(); i < b.end(); i++) {
        assertEquals(without.grad[i], with.grad[i], 0.0, "bias " + b.name() + " decayed");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The check can fail.

  @Test
  void comparisonRejectsWrongGradients() {
    Network net = Network.builder(IN).dense(HIDDEN, Activation.SIGMOID).dense(OUT, Activation.IDENTITY)
        .loss(Loss.MSE).build();
    Problem p = problem(net, ROWS, true, 91, 0L);
    Reference ref = new Reference(net);
    double[] numeric = ref.numericGradient(Problem.toDouble(p.params), Problem.toDouble(p.x),
        Problem.toDouble(p.y), Problem.toDouble(p.w), ROWS, null, 0);
    double[] good = analytic(p, 0f).grad;
    assertNull(compareGradients(numeric, good), "the correct gradient must pass");

    double maxAbs = 0;
    int argMax = 0;
    for (int i = 0; i < numeric.length; i++) {
      if (Math.abs(numeric[i]) > maxAbs) {
        maxAbs = Math.abs(numeric[i]);
        argMax = i;
      }
    }
    // One element off by 1% of the largest component.
    double[] bad = good.clone();
    bad[argMax] += 0.01 * maxAbs;
    assertNotNull(compareGradients(numeric, bad), "perturbed element accepted");
    // A small element with its sign flipped.
    bad = good.clone();
    int small = -1;
    for (int i = 0; i < numeric.length; i++) {
      if (Math.abs(numeric[i]) > 0.05 * maxAbs && Math.abs(numeric[i]) < 0.3 * maxAbs) {
        small = i;
        break;
      }
    }
    assertTrue(small >= 0);
    bad[small] = -bad[small];
    assertNotNull(compareGradients(numeric, bad), "sign flip accepted");
    // Uniformly scaled by 1.01 (e.g. a wrong 1/n factor would be far worse).
    bad = good.clone();
    for (int i = 0; i < bad.length; i++) bad[i] *= 1.01;
    assertNotNull(compareGradients(numeric, bad), "scaled gradient accepted");
    // The gradient of a different network (tanh instead of sigmoid in the reference).
    Network tanhNet = Network.builder(IN).dense(HIDDEN, Activation.TANH).dense(OUT, Activation.IDENTITY)
        .loss(Loss.MSE).build();
    double[] wrongRef = new Reference(tanhNet).numericGradient(Problem.toDouble(p.params),
        Problem.toDouble(p.x), Problem.toDouble(p.y), Problem.toDouble(p.w), ROWS, null, 0);
    assertNotNull(compareGradients(wrongRef, good), "gradient of another activation accepted");
    // Missing the per-row weights.
    double[] unweighted = new Reference(net).numericGradient(Problem.toDouble(p.params),
        Problem.toDouble(p.x), Problem.toDouble(p.y), null, ROWS, null, 0);
    assertNotNull(compareGradients(unweighted, good), "unweighted gradient accepted");
  }
}
