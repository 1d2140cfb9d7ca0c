package io.sparktrain.train;

import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs a line per epoch, and every N rounds: loss, validation metrics, samples/s, elapsed, ETA. */
public final class ProgressLogger implements TrainingListener {
  private static final Logger LOG = LoggerFactory.getLogger("io.sparktrain.progress");
  private final int everyRounds;

  /** {@code everyRounds} = 0 logs epochs only. */
  public ProgressLogger(int everyRounds) {
    this.everyRounds = everyRounds;
  }

  @Override
  public void onRound(RoundEvent e) {
    if (everyRounds > 0 && e.round() % everyRounds == 0) {
      LOG.info(String.format(Locale.ROOT, "epoch %d/%d round %d/%d loss %.4f %.0f samples/s elapsed %s",
          e.epoch(), e.epochs(), e.roundInEpoch(), e.roundsPerEpoch(), e.loss(), e.samplesPerSecond(),
          duration(e.elapsedSeconds())));
    }
  }

  @Override
  public void onEpoch(EpochEvent e) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d/%d loss %.4f", e.epoch(), e.epochs(),
        e.trainLoss()));
    for (Map.Entry<String, Double> m : e.validation().entrySet()) {
      sb.append(String.format(Locale.ROOT, " %s %.4f", m.getKey(), m.getValue()));
    }
    sb.append(String.format(Locale.ROOT, " %.0f samples/s elapsed %s eta %s", e.samplesPerSecond(),
        duration(e.elapsedSeconds()), duration(e.etaSeconds())));
    LOG.info(sb.toString());
  }

  @Override
  public void onCheckpoint(long round, String path) {
    LOG.info("checkpoint round {} -> {}", round, path);
  }

  /** 75 s -> "1m15s". */
  public static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
    }
    return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
  }
}
