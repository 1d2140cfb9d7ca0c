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

  /**
   * Turns {@code rows} rows of a classifier's output activations ({@link Network#outputs()} per row,
   * from {@code off}) into the probabilities the models report, in place and in the same width: softmax
   * outputs stay; logits (identity with softmax cross-entropy) go through softmax; a single logit
   * (identity with binary cross-entropy) through the sigmoid; a single sigmoid unit stays as it is,
   * P(class 1). Unlike {@link #classProbabilities}, a binary model keeps its one value per row.
   */
  public static void toProbabilities(Network net, float[] outputs, int off, int rows) {
    Mode mode = mode(net);
    int n = net.outputs();
    if (mode == Mode.LOGITS) {
      Activation.SOFTMAX.forward(outputs, outputs, off, rows, n);
    } else if (mode == Mode.BINARY_LOGIT) {
      for (int r = off; r < off + rows; r++) outputs[r] = Activation.sigmoid(outputs[r]);
    }
  }

  /**
   * The class of one row of {@link #toProbabilities}'s values ({@code width} from {@code off}): the
   * argmax, lowest index on ties; for one value p = P(class 1), 1 when p > 0.5 (the argmax of
   * {@code [1 - p, p]}, as {@link #classProbabilities} and the evaluators have it).
   */
  public static int predictedClass(float[] probs, int off, int width) {
    return width == 1 ? (probs[off] > 0.5f ? 1 : 0) : argmax(probs, off, width);
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
