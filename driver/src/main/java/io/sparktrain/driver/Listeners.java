package io.sparktrain.driver;

import io.sparktrain.driver.config.JobConfig;
import io.sparktrain.train.TrainingListener;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.List;

/**
 * The training listeners of a train run, besides the Trainer's own MetricsHistory. The one place to
 * add more: the progress bar {@code io.sparktrain.driver.TerminalProgress} (another component) is
 * added when that class is on the classpath, constructed with {@code new TerminalProgress(out)}.
 */
public final class Listeners {
  static final String PROGRESS_CLASS = "io.sparktrain.driver.TerminalProgress";

  private Listeners() {
  }

  /** The listeners for a run of {@code config} printing to {@code out} (the command's stdout). */
  public static List<TrainingListener> forRun(JobConfig config, PrintStream out) {
    List<TrainingListener> all = new ArrayList<>();
    TrainingListener progress = progress(out);
    if (progress != null) {
      all.add(progress);
    }
    return all;
  }

  private static TrainingListener progress(PrintStream out) {
    Class<?> cls;
    try {
      cls = Class.forName(PROGRESS_CLASS);
    } catch (ClassNotFoundException e) {
      return null;
    }
    try {
      return (TrainingListener) cls.getConstructor(PrintStream.class).newInstance(out);
    } catch (NoSuchMethodException | InstantiationException | IllegalAccessException | ClassCastException e) {
      throw new IllegalStateException(PROGRESS_CLASS + ": expected a TrainingListener with a public constructor"
          + " (PrintStream)", e);
    } catch (InvocationTargetException e) {
      throw new IllegalStateException(PROGRESS_CLASS + ": constructor failed: " + e.getCause(), e.getCause());
    }
  }
}
