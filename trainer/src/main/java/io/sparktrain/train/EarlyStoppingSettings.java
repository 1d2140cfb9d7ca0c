package io.sparktrain.train;

import java.io.Serializable;
import java.util.Map;

/**
 * The early-stopping section of a run, shared by {@link TrainConfig} and the federated config: stop
 * when {@code metric} has not improved by more than {@code minDelta} for {@code patience}
 * evaluations, and optionally return the best parameters seen.
 *
 * @param metric the metric watched (val_loss, val_accuracy, ...), or null for no early stopping
 * @param patience evaluations without improvement before stopping (>= 1)
 * @param minDelta the smallest change that counts as an improvement (>= 0)
 * @param restoreBestWeights return the best parameters seen, not the last
 */
public record EarlyStoppingSettings(String metric, int patience, double minDelta, boolean restoreBestWeights)
    implements Serializable {
  /** Patience when not set. */
  public static final int DEFAULT_PATIENCE = 3;

  /** No early stopping: the defaults of every other field. */
  public static EarlyStoppingSettings off() {
    return new EarlyStoppingSettings(null, DEFAULT_PATIENCE, 0, true);
  }

  public boolean enabled() {
    return metric != null;
  }

  public EarlyStoppingSettings withMetric(String m, int p, double d) {
    return new EarlyStoppingSettings(m, p, d, restoreBestWeights);
  }

  public EarlyStoppingSettings withRestoreBestWeights(boolean v) {
    return new EarlyStoppingSettings(metric, patience, minDelta, v);
  }

  /**
   * Checks the section, naming the key; {@code trainingLossAllowed}: the metric may also be the
   * training loss ("loss"), which federated runs do not evaluate.
   */
  public void validate(boolean trainingLossAllowed) {
    ConfigChecks.require(patience >= 1, "early_stopping.patience", ">= 1", patience);
    ConfigChecks.require(minDelta >= 0, "early_stopping.min_delta", ">= 0", minDelta);
    if (metric != null && !metric.startsWith("val_") && !(trainingLossAllowed && metric.equals("loss"))) {
      throw new IllegalArgumentException("early_stopping.metric: expected a validation metric such as val_loss"
          + " or val_accuracy, found " + metric);
    }
  }

  /** The section's entries of a config's key-value view. */
  public void putInto(Map<String, Object> m) {
    m.put("early_stopping_metric", metric);
    m.put("patience", patience);
    m.put("min_delta", minDelta);
    m.put("restore_best_weights", restoreBestWeights);
  }
}
