package io.sparktrain.federated;

import io.sparktrain.train.MetricsHistory;
import io.sparktrain.train.RunResult;
import java.util.List;
import java.util.Map;

/** What {@link FederatedTrainer#fit} returns. */
public final class FederatedResult implements RunResult {
  private final float[] params;
  private final MetricsHistory history;
  private final long rounds;
  private final Map<String, Object> audit;
  private final Map<String, Double> finalValidation;
  private final double epsilon;
  private final double trainSeconds;
  private final String stopReason;
  private final List<SiloEvaluation> siloValidation;

  FederatedResult(float[] params, MetricsHistory history, long rounds, Map<String, Object> audit,
      Map<String, Double> finalValidation, double epsilon, double trainSeconds, String stopReason,
      List<SiloEvaluation> siloValidation) {
    this.params = params;
    this.history = history;
    this.rounds = rounds;
    this.audit = audit;
    this.finalValidation = finalValidation;
    this.epsilon = epsilon;
    this.trainSeconds = trainSeconds;
    this.stopReason = stopReason;
    this.siloValidation = List.copyOf(siloValidation);
  }

  @Override
  public float[] params() { return params.clone(); }
  @Override
  public MetricsHistory history() { return history; }
  /** The rounds done, counting those before a resume. */
  @Override
  public long rounds() { return rounds; }
  /** The locality audit: rows moved (must be 0), shuffle bytes, largest upload, bytes per round. */
  public Map<String, Object> audit() { return audit; }
  @Override
  public Map<String, Double> finalValidation() { return finalValidation; }
  /** (epsilon, delta)-DP spent by the run, or NaN without DP. */
  public double epsilon() { return epsilon; }
  @Override
  public double trainSeconds() { return trainSeconds; }
  /** Why training ended: rounds (all configured rounds done) or early_stopping. */
  @Override
  public String stopReason() { return stopReason; }
  /**
   * With {@link FederatedConfig#siloValidation()}: the global model of {@link #finalValidation()} on
   * each silo's own held-out rows, one entry per silo in silo order; else empty.
   */
  public List<SiloEvaluation> siloValidation() { return siloValidation; }
}
