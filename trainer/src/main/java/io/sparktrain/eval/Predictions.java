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
    Mode mode = mode(net);
    int n = net.outputs();
    if (outputs.length < (long) rows * n) {
      throw new IllegalArgumentException("network outputs: expected " + (long) rows * n + " values for "
          + rows + " rows of " + n + ", found " + outputs.length);
    }
    switch (mode) {
      case PROBS: {
        float[] p = new float[rows * n];
        System.arraycopy(outputs, 0, p, 0, p.length);
        return p;
      }
      case LOGITS: {
        float[] p = new float[rows * n];
        Activation.SOFTMAX.forward(outputs, p, 0, rows, n);
        return p;
      }
      case BINARY_PROB:
      case BINARY_LOGIT: {
        float[] p = new float[rows * 2];
        for (int r = 0; r < rows; r++) {
          float q = mode == Mode.BINARY_LOGIT ? Activation.sigmoid(outputs[r]) : outputs[r];
          p[2 * r] = 1f - q;
          p[2 * r + 1] = q;
        }
        return p;
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
    if (width == 1) {
      return probs[off] > 0.5f ? 1 : 0;
    }
    int best = 0;
    for (int j = 1; j < width; j++) {
      if (probs[off + j] > probs[off + best]) {
        best = j;
      }
    }
    return best;
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
