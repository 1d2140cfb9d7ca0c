package io.sparktrain.train;

import java.util.Map;

/** What every training run returns, data-parallel ({@link TrainResult}) or federated. */
public interface RunResult {
  /** The final parameters (the best ones when early stopping restored them); a copy. */
  float[] params();

  /** Round, epoch and evaluation records, as written to metrics.jsonl. */
  MetricsHistory history();

  /** Rounds run in all (a resumed run counts those before it too). */
  long rounds();

  /** Epochs completed; 0 for runs that count only rounds (federated). */
  default int epochs() {
    return 0;
  }

  /** Why the run ended: epochs, rounds, max_rounds, early_stopping. */
  String stopReason();

  /** The last evaluation's metrics (val_loss, val_accuracy, ...), empty without validation data. */
  Map<String, Double> finalValidation();

  /** Seconds spent training. */
  double trainSeconds();
}
