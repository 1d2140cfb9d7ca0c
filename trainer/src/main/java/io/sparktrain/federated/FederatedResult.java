package io.sparktrain.federated;

import io.sparktrain.train.MetricsHistory;
import java.util.Map;

/** What {@link FederatedTrainer#fit} returns. */
public final class FederatedResult {
  private final float[] params;
  private final MetricsHistory history;
  private final long rounds;
  private final Map<String, Object> audit;
  private final Map<String, Double> finalValidation;
  private final double epsilon;
  private final double trainSeconds;
  private final String stopReason;

  FederatedResult(float[] params, MetricsHistory history, long rounds, Map<String, Object> audit,
      Map<String, Double> finalValidation, double epsilon, double trainSeconds, String stopReason) {
    this.params = params;
    this.history = history;
    this.rounds = rounds;
    this.audit = audit;
    this.finalValidation = finalValidation;
    this.epsilon = epsilon;
    this.trainSeconds = trainSeconds;
    this.stopReason = stopReason;
  }

  public float[] params() { return params.clone(); }
  public MetricsHistory history() { return history; }
  /** The rounds done, counting those before a resume. */
  public long rounds() { return rounds; }
  /** The locality audit: rows moved (must be 0), shuffle bytes, largest upload, bytes per round. */
  public Map<String, Object> audit() { return audit; }
  public Map<String, Double> finalValidation() { return finalValidation; }
  /** (epsilon, delta)-DP spent by the run, or NaN without DP. */
  public double epsilon() { return epsilon; }
  public double trainSeconds() { return trainSeconds; }
  /** Why training ended: rounds (all configured rounds done) or early_stopping. */
  public String stopReason() { return stopReason; }
}
