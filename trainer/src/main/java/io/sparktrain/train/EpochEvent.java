package io.sparktrain.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One finished epoch: the mean training loss, validation metrics (keys val_*), timings. */
public final class EpochEvent {
  private final int epoch;
  private final int epochs;
  private final long round;
  private final double trainLoss;
  private final Map<String, Double> validation;
  private final double seconds;
  private final double elapsedSeconds;
  private final double etaSeconds;
  private final long rows;
  private final double trainSeconds;

  EpochEvent(int epoch, int epochs, long round, double trainLoss, Map<String, Double> validation, double seconds,
      double elapsedSeconds, double etaSeconds, long rows, double trainSeconds) {
    this.epoch = epoch;
    this.epochs = epochs;
    this.round = round;
    this.trainLoss = trainLoss;
    this.validation = Collections.unmodifiableMap(new LinkedHashMap<>(validation));
    this.seconds = seconds;
    this.elapsedSeconds = elapsedSeconds;
    this.etaSeconds = etaSeconds;
    this.rows = rows;
    this.trainSeconds = trainSeconds;
  }

  public int epoch() { return epoch; }
  public int epochs() { return epochs; }
  /** Global round count at the end of this epoch. */
  public long round() { return round; }
  public double trainLoss() { return trainLoss; }
  public Map<String, Double> validation() { return validation; }
  public double seconds() { return seconds; }
  public double elapsedSeconds() { return elapsedSeconds; }
  public double etaSeconds() { return etaSeconds; }
  /** Wall time since training started, without the time spent on validation. */
  public double trainSeconds() { return trainSeconds; }
  public double samplesPerSecond() { return seconds > 0 ? rows / seconds : 0; }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "epoch");
    m.put("epoch", epoch);
    m.put("round", round);
    m.put("loss", trainLoss);
    m.putAll(validation);
    m.put("seconds", seconds);
    m.put("samples_per_s", samplesPerSecond());
    m.put("elapsed_s", elapsedSeconds);
    m.put("eta_s", etaSeconds);
    m.put("train_s", trainSeconds);
    return m;
  }
}
