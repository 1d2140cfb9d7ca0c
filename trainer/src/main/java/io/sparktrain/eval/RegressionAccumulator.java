package io.sparktrain.eval;

import java.io.Serializable;

/**
 * Sufficient statistics for regression metrics over {@code outputs} target columns, added row by
 * row and merged across partitions.
 *
 * <p>Per output j it keeps, in double, the weighted sums of y, y^2, (y - p)^2 and |y - p|, plus
 * the weight sum shared by all outputs. These are plain sums, so merging is exact up to rounding
 * and independent of the order. R^2 uses SStot = sum w y^2 - (sum w y)^2 / sum w, which loses
 * precision when |mean y| is much larger than the spread of y (relative error about
 * 1e-16 * mean^2 / variance).
 */
public final class RegressionAccumulator implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int outputs;
  private double weightSum;
  private long count;
  private final double[] sumY;
  private final double[] sumY2;
  private final double[] sumSq;
  private final double[] sumAbs;

  public RegressionAccumulator(int outputs) {
    if (outputs <= 0) {
      throw new IllegalArgumentException("regression accumulator: expected >= 1 outputs, found " + outputs);
    }
    this.outputs = outputs;
    sumY = new double[outputs];
    sumY2 = new double[outputs];
    sumSq = new double[outputs];
    sumAbs = new double[outputs];
  }

  public int outputs() { return outputs; }
  public double weightSum() { return weightSum; }
  public long count() { return count; }
  public boolean isEmpty() { return count == 0; }

  /** Adds one row: targets {@code target[tOff, tOff + outputs)}, predictions {@code pred[pOff, ...)}. */
  public void add(float[] target, int tOff, float[] pred, int pOff, double weight) {
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("row weight: expected a finite value >= 0, found " + weight);
    }
    for (int j = 0; j < outputs; j++) {
      double y = target[tOff + j];
      double d = y - pred[pOff + j];
      double wy = weight * y;
      sumY[j] += wy;
      sumY2[j] += wy * y;
      sumSq[j] += weight * d * d;
      sumAbs[j] += weight * Math.abs(d);
    }
    weightSum += weight;
    count++;
  }

  /** Adds {@code other} into this and returns this. */
  public RegressionAccumulator merge(RegressionAccumulator other) {
    if (other.outputs != outputs) {
      throw new IllegalArgumentException("regression accumulator merge: expected " + outputs
          + " outputs, found " + other.outputs);
    }
    for (int j = 0; j < outputs; j++) {
      sumY[j] += other.sumY[j];
      sumY2[j] += other.sumY2[j];
      sumSq[j] += other.sumSq[j];
      sumAbs[j] += other.sumAbs[j];
    }
    weightSum += other.weightSum;
    count += other.count;
    return this;
  }

  public RegressionMetrics result() {
    double[] mse = new double[outputs];
    double[] mae = new double[outputs];
    double[] r2 = new double[outputs];
    for (int j = 0; j < outputs; j++) {
      if (weightSum > 0) {
        mse[j] = sumSq[j] / weightSum;
        mae[j] = sumAbs[j] / weightSum;
        double ssTot = Math.max(0, sumY2[j] - sumY[j] * sumY[j] / weightSum);
        // A constant target: 1 for a perfect fit, else 0 (sklearn's force_finite).
        r2[j] = ssTot > 0 ? 1 - sumSq[j] / ssTot : (sumSq[j] == 0 ? 1 : 0);
      } else {
        mse[j] = mae[j] = r2[j] = Double.NaN;
      }
    }
    return new RegressionMetrics(mse, mae, r2, weightSum);
  }
}
