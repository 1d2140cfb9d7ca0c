package io.sparktrain.train;

import java.util.Map;

/** Builds training events for the driver's tests (their constructors are package-private). */
public final class TestEvents {
  private TestEvents() {
  }

  public static RoundEvent round(int epoch, int epochs, long round, long roundInEpoch, long roundsPerEpoch,
      double loss, long rows, double seconds, double elapsedSeconds, Map<String, Double> validation) {
    return new RoundEvent(epoch, epochs, round, roundInEpoch, roundsPerEpoch, loss, rows, seconds, elapsedSeconds,
        elapsedSeconds, validation);
  }

  public static EpochEvent epoch(int epoch, int epochs, long round, double trainLoss, Map<String, Double> validation,
      double seconds, double elapsedSeconds, double etaSeconds, long rows) {
    return new EpochEvent(epoch, epochs, round, trainLoss, validation, seconds, elapsedSeconds, etaSeconds, rows,
        elapsedSeconds);
  }
}
