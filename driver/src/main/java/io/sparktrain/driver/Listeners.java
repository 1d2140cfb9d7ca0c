package io.sparktrain.driver;

import io.sparktrain.driver.config.JobConfig;
import io.sparktrain.train.TrainingListener;
import java.io.PrintStream;
import java.util.List;

/**
 * The training listeners of a train run, besides the Trainer's own MetricsHistory and log lines:
 * the one place to add more.
 */
public final class Listeners {
  private Listeners() {
  }

  /**
   * The listeners for a run of {@code config}: the progress bar on {@code err} (a live bar when it
   * is a terminal, plain lines otherwise; rounds instead of epochs for training.mode federated), so that
   * stdout keeps only the run's result lines.
   */
  public static List<TrainingListener> forRun(JobConfig config, PrintStream err) {
    return List.of(config.isFederated() ? TerminalProgress.federated(err) : new TerminalProgress(err));
  }
}
