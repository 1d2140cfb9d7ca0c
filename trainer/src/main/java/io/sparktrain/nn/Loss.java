package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Locale;

/**
 * A loss over the output layer, with optional per-row weights.
 *
 * <p>Per-row losses follow Keras: mse, mae, huber and binary cross-entropy are means over the
 * output columns; softmax cross-entropy is -log p(label) with one integer class label per row.
 * The two cross-entropies are computed from the logits z (the output layer's pre-activation), so
 * they are stable for any |z|; they accept an output activation of sigmoid (resp. softmax) or
 * identity, and the gradient flows straight to z (p - y).
 *
 * <p>{@link #lossAndGradient} returns the weighted sum over rows, never a mean: sums of partial
 * batches add up, and the caller divides by the total weight once.
 */
public final class Loss implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The kinds of loss. */
  public enum Kind { MSE, MAE, HUBER, BINARY_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY }

  public static final Loss MSE = new Loss(Kind.MSE, 0f);
  public static final Loss MAE = new Loss(Kind.MAE, 0f);
  public static final Loss BINARY_CROSS_ENTROPY = new Loss(Kind.BINARY_CROSS_ENTROPY, 0f);
  public static final Loss SOFTMAX_CROSS_ENTROPY = new Loss(Kind.SOFTMAX_CROSS_ENTROPY, 0f);

  private final Kind kind;
  private final float delta;

  private Loss(Kind kind, float delta) {
    this.kind = kind;
    this.delta = delta;
  }

  /** Huber loss with threshold {@code delta > 0}. */
  public static Loss huber(float delta) {
    if (!(delta > 0f)) {
      throw new IllegalArgumentException("huber delta: expected > 0, found " + delta);
    }
    return new Loss(Kind.HUBER, delta);
  }

  /** Parses mse, mae, huber, huber(2.0), binary_cross_entropy (bce), softmax_cross_entropy (cross_entropy). */
  public static Loss parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("huber")) {
      String rest = s.substring(5).trim();
      if (rest.isEmpty()) {
        return huber(1f);
      }
      if (rest.startsWith("(") && rest.endsWith(")")) {
        return huber(Float.parseFloat(rest.substring(1, rest.length() - 1).trim()));
      }
    }
    switch (s) {
      case "mse": return MSE;
      case "mae": return MAE;
      case "bce": case "binary_cross_entropy": case "binary_crossentropy": return BINARY_CROSS_ENTROPY;
      case "cross_entropy": case "softmax_cross_entropy": case "categorical_crossentropy":
      case "sparse_categorical_crossentropy":
        return SOFTMAX_CROSS_ENTROPY;
      default:
        throw new IllegalArgumentException("loss '" + text + "': expected one of mse, mae, huber(delta),"
            + " binary_cross_entropy, softmax_cross_entropy");
    }
  }

  public Kind kind() { return kind; }
  public float delta() { return delta; }

  /** True for losses whose label is one class index per row. */
  public boolean isClassIndexLabel() {
    return kind == Kind.SOFTMAX_CROSS_ENTROPY;
  }

  /** Label floats per row for an output layer of {@code outputs} units. */
  public int labelWidth(int outputs) {
    return isClassIndexLabel() ? 1 : outputs;
  }

  /** Checks that this loss can follow an output layer with {@code act} and {@code outputs} units. */
  void checkOutput(Activation act, int outputs) {
    Activation.Kind k = act.kind();
    if (kind == Kind.BINARY_CROSS_ENTROPY && k != Activation.Kind.SIGMOID && k != Activation.Kind.IDENTITY) {
      throw new IllegalArgumentException("loss binary_cross_entropy: expected output activation sigmoid"
          + " or identity (logits), found " + act);
    }
    if (kind == Kind.SOFTMAX_CROSS_ENTROPY) {
      if (k != Activation.Kind.SOFTMAX && k != Activation.Kind.IDENTITY) {
        throw new IllegalArgumentException("loss softmax_cross_entropy: expected output activation"
            + " softmax or identity (logits), found " + act);
      }
      if (outputs < 2) {
        throw new IllegalArgumentException("loss softmax_cross_entropy: expected an output layer of"
            + " >= 2 units (one per class), found " + outputs);
      }
    }
  }

  /** True when the gradient is taken with respect to the logits directly. */
  boolean fromLogits() {
    return kind == Kind.BINARY_CROSS_ENTROPY || kind == Kind.SOFTMAX_CROSS_ENTROPY;
  }

  /**
   * Weighted loss sum over {@code rows} rows, and its gradient.
   *
   * @param z output pre-activations (rows x cols)
   * @param a output activations (rows x cols)
   * @param y labels: rows x cols targets, or rows class indices for softmax cross-entropy
   * @param w per-row weights, or null for 1
   * @param grad receives w_i dl_i/dz when {@link #fromLogits()}, else w_i dl_i/da (rows x cols)
   */
  double lossAndGradient(float[] z, float[] a, float[] y, float[] w, int rows, int cols, float[] grad) {
    double total = 0;
    float invCols = 1f / cols;
    for (int r = 0; r < rows; r++) {
      float wr = w == null ? 1f : w[r];
      int base = r * cols;
      double rowLoss = 0;
      switch (kind) {
        case MSE:
          for (int j = base; j < base + cols; j++) {
            float d = a[j] - y[j];
            rowLoss += (double) d * d;
            grad[j] = wr * 2f * d * invCols;
          }
          rowLoss *= invCols;
          break;
        case MAE:
          for (int j = base; j < base + cols; j++) {
            float d = a[j] - y[j];
            rowLoss += Math.abs(d);
            grad[j] = wr * Math.signum(d) * invCols;
          }
          rowLoss *= invCols;
          break;
        case HUBER:
          for (int j = base; j < base + cols; j++) {
            float d = a[j] - y[j];
            float ad = Math.abs(d);
            if (ad <= delta) {
              rowLoss += 0.5 * d * d;
              grad[j] = wr * d * invCols;
            } else {
              rowLoss += delta * (ad - 0.5 * delta);
              grad[j] = wr * delta * Math.signum(d) * invCols;
            }
          }
          rowLoss *= invCols;
          break;
        case BINARY_CROSS_ENTROPY:
          for (int j = base; j < base + cols; j++) {
            float zj = z[j];
            float t = y[j];
            // max(z, 0) - z t + log(1 + exp(-|z|)): finite for any z.
            rowLoss += Math.max(zj, 0f) - (double) zj * t + Math.log1p(Math.exp(-Math.abs(zj)));
            grad[j] = wr * (Activation.sigmoid(zj) - t) * invCols;
          }
          rowLoss *= invCols;
          break;
        case SOFTMAX_CROSS_ENTROPY: {
          int label = (int) y[r];
          float max = Float.NEGATIVE_INFINITY;
          for (int j = base; j < base + cols; j++) max = Math.max(max, z[j]);
          double sum = 0;
          for (int j = base; j < base + cols; j++) sum += Math.exp(z[j] - max);
          double logSum = Math.log(sum) + max;
          rowLoss = logSum - z[base + label];
          for (int j = base; j < base + cols; j++) {
            grad[j] = wr * (float) Math.exp(z[j] - logSum);
          }
          grad[base + label] -= wr;
          break;
        }
        default:
          throw new AssertionError(kind);
      }
      total += wr * rowLoss;
    }
    return total;
  }

  @Override
  public String toString() {
    return kind == Kind.HUBER ? "huber(" + delta + ")" : kind.name().toLowerCase(Locale.ROOT);
  }
}
