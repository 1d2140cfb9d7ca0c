package io.sparktrain.eval;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;

/**
 * Turns a network's outputs ({@link Network#predict}) into class probabilities.
 *
 * <p>A network is a classifier when its output layer is one of: softmax (K = outputs, any loss);
 * identity with softmax cross-entropy (logits; K = outputs); a single sigmoid unit (K = 2); a
 * single identity unit with binary cross-entropy (a logit; K = 2). Anything else, for instance a
 * multi-output (multi-label) binary cross-entropy net or a regression net, is rejected.
 */
public final class Predictions {
  private Predictions() {
  }

  /** The number of classes K of a classifier network (see the class comment), else an exception. */
  public static int numClasses(Network net) {
    return mode(net) == Mode.BINARY_PROB || mode(net) == Mode.BINARY_LOGIT ? 2 : net.outputs();
  }

  /** True when {@link #numClasses} and {@link #classProbabilities} accept {@code net}. */
  public static boolean isClassifier(Network net) {
    try {
      mode(net);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * K probabilities per row (row-major, a new rows x K array) from {@code rows} rows of the output
   * layer's activations {@code outputs} (as returned by {@link Network#predict}).
   */
  public static float[] classProbabilities(Network net, float[] outputs, int rows) {
    int n = net.outputs();
    if (outputs.length < (long) rows * n) {
      throw new IllegalArgumentException("network outputs: expected " + (long) rows * n + " values for "
          + rows + " rows of " + n + ", found " + outputs.length);
    }
    Mode mode = mode(net);
    int k = numClasses(net);
    float[] p = new float[rows * k];
    for (int r = 0; r < rows; r++) {
      probabilities(mode, n, outputs, r * n, p, r * k);
    }
    return p;
  }

  /**
   * The K probabilities of one row, the output activations {@code outputs[off, off + outputs)}, into
   * {@code p[at, at + K)}: a softmax layer's values, the softmax of logits, or (1 - q, q) for one
   * sigmoid unit (q = sigmoid(logit) for one logit).
   */
  public static void rowProbabilities(Network net, float[] outputs, int off, float[] p, int at) {
    probabilities(mode(net), net.outputs(), outputs, off, p, at);
  }

  /** The class of largest probability among {@code p[at, at + k)}, the lowest index on ties. */
  public static int argmax(float[] p, int at, int k) {
    int best = 0;
    for (int j = 1; j < k; j++) {
      if (p[at + j] > p[at + best]) {
        best = j;
      }
    }
    return best;
  }

  private static void probabilities(Mode mode, int n, float[] outputs, int off, float[] p, int at) {
    switch (mode) {
      case PROBS:
        System.arraycopy(outputs, off, p, at, n);
        return;
      case LOGITS:
        System.arraycopy(outputs, off, p, at, n);
        Activation.SOFTMAX.forward(p, p, at, 1, n);
        return;
      case BINARY_PROB:
      case BINARY_LOGIT: {
        float q = mode == Mode.BINARY_LOGIT ? Activation.sigmoid(outputs[off]) : outputs[off];
        p[at] = 1f - q;
        p[at + 1] = q;
        return;
      }
      default:
        throw new AssertionError(mode);
    }
  }

  private enum Mode { PROBS, LOGITS, BINARY_PROB, BINARY_LOGIT }

  private static Mode mode(Network net) {
    Activation.Kind act = net.outputLayer().activation().kind();
    Loss.Kind loss = net.loss().kind();
    int n = net.outputs();
    if (act == Activation.Kind.SOFTMAX) {
      return Mode.PROBS;
    }
    if (act == Activation.Kind.IDENTITY && loss == Loss.Kind.SOFTMAX_CROSS_ENTROPY) {
      return Mode.LOGITS;
    }
    if (n == 1 && act == Activation.Kind.SIGMOID) {
      return Mode.BINARY_PROB;
    }
    if (n == 1 && act == Activation.Kind.IDENTITY && loss == Loss.Kind.BINARY_CROSS_ENTROPY) {
      return Mode.BINARY_LOGIT;
    }
    throw new IllegalArgumentException("network " + net + ": not a classifier; expected an output layer"
        + " of softmax, identity with softmax_cross_entropy, or a single unit with sigmoid or with"
        + " binary_cross_entropy; found " + n + " x " + net.outputLayer().activation() + " with loss "
        + net.loss());
  }
}
