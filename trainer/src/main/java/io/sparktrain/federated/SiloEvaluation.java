package io.sparktrain.federated;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The global model on one silo's own held-out rows, evaluated where they are (see
 * {@link FederatedConfig#siloValidation()}): the silo's index (its partition), its held-out row
 * count, the weighted mean loss and the task's metrics (accuracy, ... for a classifier).
 */
public final class SiloEvaluation implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int silo;
  private final long rows;
  private final double loss;
  private final Map<String, Double> metrics;

  SiloEvaluation(int silo, long rows, double loss, Map<String, Double> metrics) {
    this.silo = silo;
    this.rows = rows;
    this.loss = loss;
    this.metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
  }

  /** The silo: its partition index in the training and the validation data. */
  public int silo() { return silo; }
  /** The silo's held-out rows (0: nothing to evaluate; loss and metrics are then NaN). */
  public long rows() { return rows; }
  /** The weighted mean loss over the silo's held-out rows; NaN without rows. */
  public double loss() { return loss; }
  /** The metrics by name, as {@code io.sparktrain.eval.Evaluator.Validation#metrics}; empty without rows. */
  public Map<String, Double> metrics() { return metrics; }
  /** The classification accuracy on the silo's held-out rows; NaN for a regressor or without rows. */
  public double accuracy() { return metrics.getOrDefault("accuracy", Double.NaN); }

  @Override
  public String toString() {
    return "silo " + silo + ": " + rows + " rows, loss " + loss + ", " + metrics;
  }
}
