package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * Knowledge distillation's loss (Hinton, Vinyals and Dean 2015): per row,
 * {@code alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(label)}, where {@code x_T} is
 * the distribution of the logits divided by the temperature T.
 *
 * <ul>
 *   <li>Softmax cross-entropy: {@code teacher_T = softmax(z_t / T)}, {@code student_T = softmax(z / T)},
 *       KL summed over the K classes; the gradient with respect to the student's logits is
 *       {@code alpha * T * (softmax(z / T) - softmax(z_t / T)) + (1 - alpha) * (softmax(z) - onehot)}.
 *   <li>Binary cross-entropy (sigmoid units, one or several labels per row): each unit's Bernoulli
 *       KL between {@code sigmoid(z_t / T)} and {@code sigmoid(z / T)}, averaged over the units as
 *       the binary cross-entropy is; gradient {@code alpha * T * (sigmoid(z / T) - sigmoid(z_t / T)) / units}
 *       plus the hard part's.
 * </ul>
 * The T^2 keeps the soft part's gradient on the scale of the hard part's as T changes (Hinton et al.,
 * section 2). The KL is computed from log-sum-exps of the logits, so it is finite for any logits.
 * Per-row weights scale both parts. Like {@link Loss#lossAndGradient}, sums over rows, not means.
 */
public final class DistillationLoss implements Serializable {
  private static final long serialVersionUID = 1L;

  private final float temperature;
  private final float alpha;

  /**
   * @param temperature T > 0 (1 = the plain softmax; Hinton et al. use 1 to 20)
   * @param alpha the soft part's weight, in [0, 1] (0 = the labels alone, 1 = the teacher alone)
   */
  public DistillationLoss(float temperature, float alpha) {
    if (!(temperature > 0f) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("distillation temperature: expected a finite number > 0, found "
          + temperature);
    }
    if (!(alpha >= 0f && alpha <= 1f)) {
      throw new IllegalArgumentException("distillation alpha: expected a number in [0, 1], found " + alpha);
    }
    this.temperature = temperature;
    this.alpha = alpha;
  }

  public float temperature() { return temperature; }
  public float alpha() { return alpha; }

  /** Checks that {@code loss} can be distilled: a cross-entropy over logits. */
  public static void checkLoss(Loss loss, String where) {
    if (!loss.fromLogits()) {
      throw new IllegalArgumentException(where + ": expected a classifier trained with softmax_cross_entropy or"
          + " binary_cross_entropy (distillation matches class distributions), found loss " + loss);
    }
  }

  /**
   * The weighted distillation loss sum over {@code rows} rows, and its gradient with respect to the
   * student's logits.
   *
   * @param hard the student's loss (a cross-entropy, {@link #checkLoss})
   * @param z the student's logits (rows x cols)
   * @param a the student's outputs (rows x cols), as {@link Loss#lossAndGradient} takes them
   * @param teacher the teacher's logits (rows x cols)
   * @param y the labels, as the hard loss takes them
   * @param w per-row weights, or null for 1
   * @param grad receives the gradient with respect to z (rows x cols)
   */
  double lossAndGradient(Loss hard, float[] z, float[] a, float[] teacher, float[] y, float[] w, int rows, int cols,
      float[] grad) {
    double total = 0;
    float hardWeight = 1f - alpha;
    if (hardWeight > 0f) {
      total = hardWeight * hard.lossAndGradient(z, a, y, w, rows, cols, grad);
      for (int i = 0; i < rows * cols; i++) grad[i] *= hardWeight;
    } else {
      Arrays.fill(grad, 0, rows * cols, 0f);
    }
    if (alpha == 0f) {
      return total;
    }
    double invT = 1.0 / temperature;
    double lossScale = alpha * (double) temperature * temperature;
    float gradScale = alpha * temperature;
    boolean softmax = hard.kind() == Loss.Kind.SOFTMAX_CROSS_ENTROPY;
    float invCols = 1f / cols;
    for (int r = 0; r < rows; r++) {
      float wr = w == null ? 1f : w[r];
      int base = r * cols;
      double kl = 0;
      if (softmax) {
        double ls = logSumExp(z, base, cols, invT);
        double lt = logSumExp(teacher, base, cols, invT);
        for (int j = base; j < base + cols; j++) {
          double logP = z[j] * invT - ls;
          double logQ = teacher[j] * invT - lt;
          double q = Math.exp(logQ);
          kl += q * (logQ - logP);
          grad[j] += wr * gradScale * (float) (Math.exp(logP) - q);
        }
      } else {
        for (int j = base; j < base + cols; j++) {
          double s = z[j] * invT;
          double t = teacher[j] * invT;
          double q = 1.0 / (1.0 + Math.exp(-t));
          // log sigmoid(x) = -softplus(-x), log(1 - sigmoid(x)) = -softplus(x): finite for any x.
          kl += q * (softplus(-s) - softplus(-t)) + (1 - q) * (softplus(s) - softplus(t));
          grad[j] += wr * gradScale * invCols * (float) (1.0 / (1.0 + Math.exp(-s)) - q);
        }
        kl *= invCols;
      }
      total += wr * lossScale * kl;
    }
    return total;
  }

  private static double logSumExp(float[] v, int base, int n, double scale) {
    double max = Double.NEGATIVE_INFINITY;
    for (int j = base; j < base + n; j++) max = Math.max(max, v[j] * scale);
    double sum = 0;
    for (int j = base; j < base + n; j++) sum += Math.exp(v[j] * scale - max);
    return max + Math.log(sum);
  }

  /** log(1 + e^x), finite for any x. */
  private static double softplus(double x) {
    return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "distillation(temperature=%s, alpha=%s)", temperature, alpha);
  }
}
