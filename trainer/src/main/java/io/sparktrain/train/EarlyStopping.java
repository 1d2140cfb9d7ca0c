package io.sparktrain.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keras-style early stopping on a validation metric: stop when it has not improved by more than
 * {@code minDelta} for {@code patience} evaluations (epochs in {@link Trainer}, evaluation rounds in
 * federated training); remember the best parameters. Lower is better for losses and errors (loss,
 * mse, rmse, mae, log_loss), higher for the rest (accuracy, f1, auc, r2). Its state goes into
 * checkpoints through {@link #extras()} and {@link #restore}.
 */
public final class EarlyStopping {
  private final String metric;
  private final int patience;
  private final double minDelta;
  private final boolean keepBest;
  private final boolean lowerIsBetter;
  private double best = Double.NaN;
  private int bestEpoch;
  private int wait;
  private float[] bestParams;

  /** Early stopping as a config's section sets it. */
  public EarlyStopping(EarlyStoppingSettings s) {
    this(s.metric(), s.patience(), s.minDelta(), s.restoreBestWeights());
  }

  /**
   * @param metric the validation metric watched (val_loss, val_accuracy, ...); null = disabled
   * @param patience evaluations without improvement before stopping (>= 1)
   * @param minDelta the smallest change that counts as an improvement (>= 0)
   * @param keepBest remember the best parameters (restore-best-weights)
   */
  public EarlyStopping(String metric, int patience, double minDelta, boolean keepBest) {
    this.metric = metric;
    this.patience = patience;
    this.minDelta = minDelta;
    this.keepBest = keepBest;
    this.lowerIsBetter = metric != null && lowerIsBetter(metric);
  }

  static boolean lowerIsBetter(String metric) {
    return metric.endsWith("loss") || metric.endsWith("mse") || metric.endsWith("rmse") || metric.endsWith("mae");
  }

  public boolean enabled() {
    return metric != null;
  }

  /** The validation metric watched; null when disabled. */
  public String metric() {
    return metric;
  }

  public int patience() {
    return patience;
  }

  public double minDelta() {
    return minDelta;
  }

  /** Whether the best parameters are kept, to be restored at the end (restore-best-weights). */
  public boolean keepsBest() {
    return keepBest;
  }

  /**
   * Records one evaluation's validation metrics ({@code epoch}: its 1-based number, an epoch or a
   * round, reported by {@link #bestEpoch()}); returns true when training should stop.
   */
  public boolean update(int epoch, Map<String, Double> validation, float[] params) {
    if (metric == null) {
      return false;
    }
    Double v = validation.get(metric);
    if (v == null) {
      throw new IllegalArgumentException("early_stopping.metric: expected one of " + validation.keySet()
          + ", found " + metric);
    }
    boolean improved = Double.isNaN(best) || (lowerIsBetter ? v < best - minDelta : v > best + minDelta);
    if (improved) {
      best = v;
      bestEpoch = epoch;
      wait = 0;
      if (keepBest) {
        bestParams = params.clone();
      }
      return false;
    }
    wait++;
    return wait >= patience;
  }

  public double best() {
    return best;
  }

  public int bestEpoch() {
    return bestEpoch;
  }

  public float[] bestParams() {
    return bestParams == null ? null : bestParams.clone();
  }

  /** State for a checkpoint. */
  public Map<String, String> extras() {
    Map<String, String> m = new LinkedHashMap<>();
    if (metric != null) {
      m.put("early_stopping.best", Double.toString(best));
      m.put("early_stopping.best_epoch", Integer.toString(bestEpoch));
      m.put("early_stopping.wait", Integer.toString(wait));
    }
    return m;
  }

  public void restore(Map<String, String> extras, float[] savedBest) {
    if (metric == null || !extras.containsKey("early_stopping.best")) {
      return;
    }
    best = Double.parseDouble(extras.get("early_stopping.best"));
    bestEpoch = Integer.parseInt(extras.get("early_stopping.best_epoch"));
    wait = Integer.parseInt(extras.get("early_stopping.wait"));
    bestParams = savedBest == null ? null : savedBest.clone();
  }
}
