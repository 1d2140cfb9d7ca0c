package io.sparktrain.federated;

import java.util.Arrays;
import java.util.List;

/**
 * Byzantine-robust replacements for the weighted mean of per-silo updates. Inputs are the silos'
 * MEAN updates (delta per unit of example weight, all of one length d) and their example weights;
 * none of the inputs is modified. n is the number of silos.
 *
 * <ul>
 *   <li>{@link #median}: coordinate-wise weighted median (Yin, Chen, Ramchandran, Bartlett 2018,
 *       "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML).
 *       O(d n log n) time.
 *   <li>{@link #trimmedMean}: coordinate-wise trimmed mean (Yin et al. 2018): per coordinate drop
 *       the floor(beta n) smallest and largest values, weighted mean of the rest.
 *       O(d n log n) time.
 *   <li>{@link #multiKrum}: Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer 2017, "Machine
 *       Learning with Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS): score each update
 *       by the sum of squared distances to its n - f - 2 nearest others, average the m
 *       lowest-scored. O(n^2 d) for the pairwise distances plus O(n^2 log n); m = 1 is Krum.
 * </ul>
 * All three tolerate a minority of arbitrary updates: median up to half of the weight, trimmed
 * mean floor(beta n) per side, Krum f with n &gt; 2f + 2. Non-finite values are rejected with an
 * exception: drop such updates before aggregating (a Byzantine silo can send them).
 */
public final class RobustAggregation {
  private RobustAggregation() {
  }

  /** Multi-Krum's result: the aggregate and the indices of the selected silos (by rising score). */
  public record Selection(float[] aggregate, int[] selected, double[] scores) {
  }

  /**
   * Coordinate-wise weighted median: per coordinate, the value at which the cumulative weight of the
   * sorted values reaches half of the total; when it equals exactly half, the mean of that value and
   * the next (so equal weights give the ordinary median). {@code weights} may be null (all 1).
   */
  public static float[] median(List<float[]> updates, double[] weights) {
    int d = check(updates, weights);
    int n = updates.size();
    double[] w = weightsOrOnes(weights, n);
    double half = sum(w) / 2;
    float[] out = new float[d];
    long[] keyed = new long[n];
    for (int c = 0; c < d; c++) {
      sortColumn(updates, c, keyed);
      double cum = 0;
      for (int k = 0; k < n; k++) {
        int s = index(keyed[k]);
        cum += w[s];
        if (cum >= half) {
          float v = updates.get(s)[c];
          if (cum == half && k + 1 < n) {
            v = (float) (0.5 * ((double) v + updates.get(index(keyed[k + 1]))[c]));
          }
          out[c] = v;
          break;
        }
      }
    }
    return out;
  }

  /**
   * Coordinate-wise trimmed mean: per coordinate, sort the n values, drop floor(beta n) from each
   * end, and return the weighted mean of the remaining values. {@code beta} in [0, 1/2);
   * {@code weights} may be null (all 1).
   */
  public static float[] trimmedMean(List<float[]> updates, double[] weights, double beta) {
    int d = check(updates, weights);
    int n = updates.size();
    if (!(beta >= 0 && beta < 0.5)) {
      throw new IllegalArgumentException("trimmed mean: expected beta in [0, 0.5), found " + beta);
    }
    int trim = (int) Math.floor(beta * n);
    double[] w = weightsOrOnes(weights, n);
    float[] out = new float[d];
    long[] keyed = new long[n];
    for (int c = 0; c < d; c++) {
      sortColumn(updates, c, keyed);
      double s = 0;
      double ws = 0;
      for (int k = trim; k < n - trim; k++) {
        int i = index(keyed[k]);
        s += w[i] * updates.get(i)[c];
        ws += w[i];
      }
      out[c] = ws > 0 ? (float) (s / ws) : 0f;
    }
    return out;
  }

  /**
   * Multi-Krum with {@code f} Byzantine silos tolerated and {@code m} updates selected (1 &lt;= m
   * &lt;= n; n &gt; 2f + 2): score(i) = sum of the squared L2 distances from update i to its
   * n - f - 2 nearest other updates; the aggregate is the weighted mean of the m lowest-scored
   * updates (ties broken by index). {@code weights} may be null (all 1, the paper's plain mean).
   */
  public static Selection multiKrum(List<float[]> updates, double[] weights, int f, int m) {
    int d = check(updates, weights);
    int n = updates.size();
    if (f < 0 || n <= 2 * f + 2) {
      throw new IllegalArgumentException("Krum: expected n > 2f + 2, found n = " + n + " and f = " + f);
    }
    if (m < 1 || m > n) {
      throw new IllegalArgumentException("Multi-Krum: expected 1 <= m <= n = " + n + ", found m = " + m);
    }
    double[] w = weightsOrOnes(weights, n);
    double[][] dist = new double[n][n];
    for (int i = 0; i < n; i++) {
      float[] a = updates.get(i);
      for (int j = i + 1; j < n; j++) {
        float[] b = updates.get(j);
        double s = 0;
        for (int c = 0; c < d; c++) {
          double t = (double) a[c] - b[c];
          s += t * t;
        }
        dist[i][j] = s;
        dist[j][i] = s;
      }
    }
    int neighbours = n - f - 2;
    double[] scores = new double[n];
    double[] others = new double[n - 1];
    for (int i = 0; i < n; i++) {
      int k = 0;
      for (int j = 0; j < n; j++) {
        if (j != i) others[k++] = dist[i][j];
      }
      Arrays.sort(others);
      double s = 0;
      for (int t = 0; t < neighbours; t++) s += others[t];
      scores[i] = s;
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Double.compare(scores[a], scores[b]) : Integer.compare(a, b));
    int[] selected = new int[m];
    double[] acc = new double[d];
    double ws = 0;
    for (int t = 0; t < m; t++) {
      int i = order[t];
      selected[t] = i;
      float[] u = updates.get(i);
      for (int c = 0; c < d; c++) acc[c] += w[i] * u[c];
      ws += w[i];
    }
    float[] out = new float[d];
    if (ws > 0) {
      for (int c = 0; c < d; c++) out[c] = (float) (acc[c] / ws);
    }
    return new Selection(out, selected, scores);
  }

  /** The plain weighted mean, for comparison. */
  public static float[] mean(List<float[]> updates, double[] weights) {
    return trimmedMean(updates, weights, 0);
  }

  // Sorting a column: each value's sortable float bits in the high 32 bits, the silo in the low.
  private static void sortColumn(List<float[]> updates, int c, long[] keyed) {
    for (int i = 0; i < keyed.length; i++) {
      keyed[i] = ((long) sortableBits(updates.get(i)[c]) << 32) | i;
    }
    Arrays.sort(keyed);
  }

  private static int index(long key) {
    return (int) key;
  }

  /** An int whose signed order is the float order (for non-NaN values). */
  private static int sortableBits(float v) {
    int b = Float.floatToIntBits(v);
    return b >= 0 ? b : b ^ 0x7FFFFFFF;
  }

  private static int check(List<float[]> updates, double[] weights) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("robust aggregation: expected at least one update, found none");
    }
    int d = updates.get(0).length;
    for (int i = 0; i < updates.size(); i++) {
      float[] u = updates.get(i);
      if (u.length != d) {
        throw new IllegalArgumentException("robust aggregation: expected updates of " + d + " values, found "
            + u.length + " at silo index " + i);
      }
      for (int c = 0; c < d; c++) {
        if (!Float.isFinite(u[c])) {
          throw new IllegalArgumentException("robust aggregation: non-finite value " + u[c] + " at silo index "
              + i + ", coordinate " + c);
        }
      }
    }
    if (weights != null) {
      if (weights.length != updates.size()) {
        throw new IllegalArgumentException("robust aggregation: expected " + updates.size() + " weights, found "
            + weights.length);
      }
      for (int i = 0; i < weights.length; i++) {
        if (!(weights[i] >= 0) || Double.isInfinite(weights[i])) {
          throw new IllegalArgumentException("robust aggregation: expected finite weights >= 0, found "
              + weights[i] + " at silo index " + i);
        }
      }
    }
    return d;
  }

  private static double[] weightsOrOnes(double[] weights, int n) {
    if (weights != null) {
      return weights;
    }
    double[] w = new double[n];
    Arrays.fill(w, 1);
    return w;
  }

  private static double sum(double[] w) {
    double s = 0;
    for (double x : w) s += x;
    return s;
  }
}
