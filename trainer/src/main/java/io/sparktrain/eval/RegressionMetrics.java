package io.sparktrain.eval;

import io.sparktrain.util.Json;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Regression metrics per output and their uniform averages over the outputs (sklearn's
 * {@code multioutput='uniform_average'}): mse, rmse, mae and r2 = 1 - SSres / SStot, all weighted
 * by the row weights. For several outputs, {@link #rmse()} is the mean of the per-output RMSEs, not
 * the square root of {@link #mse()} (as sklearn's {@code root_mean_squared_error}).
 *
 * <p>With non-unit weights, r2 is sklearn's weighted r2 (SStot = sum w (y - weighted mean)^2).
 * Spark's {@code RegressionEvaluator} differs slightly there: it takes SStot as the unbiased
 * weighted variance times (sum w - 1); with unit weights the two agree. mse, rmse and mae agree
 * with Spark for any weights. A constant target gives r2 = 1 for a perfect fit, else 0 (sklearn's
 * {@code force_finite}).
 */
public final class RegressionMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double[] mse;
  private final double[] rmse;
  private final double[] mae;
  private final double[] r2;
  private final double weightedCount;

  /** From per-output mse, mae and r2 (kept, not copied). */
  public RegressionMetrics(double[] mse, double[] mae, double[] r2, double weightedCount) {
    if (mae.length != mse.length || r2.length != mse.length || mse.length == 0) {
      throw new IllegalArgumentException("regression metrics: expected equal, non-empty per-output arrays,"
          + " found " + mse.length + ", " + mae.length + ", " + r2.length);
    }
    this.mse = mse;
    this.mae = mae;
    this.r2 = r2;
    this.rmse = new double[mse.length];
    for (int j = 0; j < mse.length; j++) rmse[j] = Math.sqrt(mse[j]);
    this.weightedCount = weightedCount;
  }

  public int outputs() { return mse.length; }
  public double weightedCount() { return weightedCount; }

  public double mse() { return mean(mse); }
  public double rmse() { return mean(rmse); }
  public double mae() { return mean(mae); }
  public double r2() { return mean(r2); }

  public double mse(int output) { return mse[output]; }
  public double rmse(int output) { return rmse[output]; }
  public double mae(int output) { return mae[output]; }
  public double r2(int output) { return r2[output]; }

  private static double mean(double[] v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.length;
  }

  /** mse, rmse, mae, r2 (uniform averages over outputs), in that order. Unmodifiable. */
  public Map<String, Double> toMap() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("mse", mse());
    m.put("rmse", rmse());
    m.put("mae", mae());
    m.put("r2", r2());
    return Collections.unmodifiableMap(m);
  }

  /**
   * One JSON object: the {@link #toMap()} entries, then outputs, weighted_count and the per-output
   * arrays mse_per_output, rmse_per_output, mae_per_output, r2_per_output. NaN is written as null.
   */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>(toMap());
    m.put("outputs", mse.length);
    m.put("weighted_count", weightedCount);
    m.put("mse_per_output", mse);
    m.put("rmse_per_output", rmse);
    m.put("mae_per_output", mae);
    m.put("r2_per_output", r2);
    return Json.object(m);
  }

  @Override
  public String toString() {
    return "RegressionMetrics" + toMap();
  }
}
