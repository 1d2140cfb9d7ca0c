package io.sparktrain.train;

import io.sparktrain.data.InputScaling;
import io.sparktrain.optim.OptimizerState;
import java.util.Map;

/** What {@link Trainer#fit} returns: the final parameters, the history and why training stopped. */
public final class TrainResult implements RunResult {
  private final float[] params;
  private final OptimizerState optimizerState;
  private final MetricsHistory history;
  private final long rounds;
  private final int epochs;
  private final String stopReason;
  private final double trainSeconds;
  private final Map<String, Double> finalValidation;
  private final InputScaling inputScaling;

  TrainResult(float[] params, OptimizerState optimizerState, MetricsHistory history, long rounds, int epochs,
      String stopReason, double trainSeconds, Map<String, Double> finalValidation, InputScaling inputScaling) {
    this.params = params;
    this.optimizerState = optimizerState;
    this.history = history;
    this.rounds = rounds;
    this.epochs = epochs;
    this.stopReason = stopReason;
    this.trainSeconds = trainSeconds;
    this.finalValidation = finalValidation;
    this.inputScaling = inputScaling;
  }

  /**
   * The standardization the parameters expect in front of the first layer ({@link TrainConfig#standardize()}),
   * or null when the features were used raw. A model built from {@link #params()} must carry it.
   */
  public InputScaling inputScaling() { return inputScaling; }

  /** The trained parameters (the best ones when early stopping restored them); a copy. */
  @Override
  public float[] params() { return params.clone(); }
  /** The server optimizer's state, or null when the server only averages. */
  public OptimizerState optimizerState() { return optimizerState; }
  @Override
  public MetricsHistory history() { return history; }
  /** Rounds completed in total (including rounds before a resume). */
  @Override
  public long rounds() { return rounds; }
  /** Epochs completed. */
  @Override
  public int epochs() { return epochs; }
  /** "epochs", "max_rounds", "early_stopping" or "training_loss_plateau" (epochs auto). */
  @Override
  public String stopReason() { return stopReason; }
  @Override
  public double trainSeconds() { return trainSeconds; }
  /** Validation metrics of the returned parameters (empty without validation data). */
  @Override
  public Map<String, Double> finalValidation() { return finalValidation; }
}
