package io.sparktrain.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One finished round: counters are 1-based; loss is the weighted mean training loss of the round. */
public final class RoundEvent {
  private final int epoch;
  private final int epochs;
  private final long round;
  private final long roundInEpoch;
  private final long roundsPerEpoch;
  private final double loss;
  private final long rows;
  private final double seconds;
  private final double elapsedSeconds;
  private final double trainSeconds;
  private final Map<String, Double> validation;

  public RoundEvent(int epoch, int epochs, long round, long roundInEpoch, long roundsPerEpoch, double loss, long rows,
      double seconds, double elapsedSeconds, double trainSeconds, Map<String, Double> validation) {
    this.epoch = epoch;
    this.epochs = epochs;
    this.round = round;
    this.roundInEpoch = roundInEpoch;
    this.roundsPerEpoch = roundsPerEpoch;
    this.loss = loss;
    this.rows = rows;
    this.seconds = seconds;
    this.elapsedSeconds = elapsedSeconds;
    this.trainSeconds = trainSeconds;
    this.validation = Collections.unmodifiableMap(new LinkedHashMap<>(validation));
  }

  public int epoch() { return epoch; }
  public int epochs() { return epochs; }
  public long round() { return round; }
  public long roundInEpoch() { return roundInEpoch; }
  public long roundsPerEpoch() { return roundsPerEpoch; }
  public double loss() { return loss; }
  /** Rows whose gradient (or local steps) went into this round. */
  public long rows() { return rows; }
  /** Wall time of this round. */
  public double seconds() { return seconds; }
  /** Wall time since training started (this run). */
  public double elapsedSeconds() { return elapsedSeconds; }
  /** Wall time since training started, without the time spent on validation. */
  public double trainSeconds() { return trainSeconds; }
  /** Validation metrics computed after this round (keys val_*), usually empty. */
  public Map<String, Double> validation() { return validation; }
  public double samplesPerSecond() { return seconds > 0 ? rows / seconds : 0; }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "round");
    m.put("epoch", epoch);
    m.put("round", round);
    m.put("round_in_epoch", roundInEpoch);
    m.put("loss", loss);
    m.put("rows", rows);
    m.put("seconds", seconds);
    m.put("samples_per_s", samplesPerSecond());
    m.putAll(validation);
    m.put("elapsed_s", elapsedSeconds);
    m.put("train_s", trainSeconds);
    return m;
  }
}
