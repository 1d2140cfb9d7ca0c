package io.sparktrain.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;

/**
 * What the round loops share: {@link Trainer}'s (sync mode with either engine, average mode) and
 * {@code FederatedTrainer}'s. One per fit, made where the loop starts:
 *
 * <ul>
 *   <li>the listeners: a {@link MetricsHistory}, a {@link ProgressLogger} and the user's, told of
 *       every round, epoch and checkpoint ({@link #onRound}, {@link #onEpoch}, {@link #saveCheckpoint});
 *   <li>job descriptions: the loop names its jobs ({@link #describe}); {@link #close} puts back the
 *       description from before the loop ({@link JobDescription});
 *   <li>the parameters' broadcast for one round, destroyed when the round is done ({@link #broadcast});
 *   <li>the check that an aggregate is finite ({@link #requireFinite}), early stopping's log line
 *       ({@link #stoppedEarly}) and restore-best-weights ({@link #restoreBest});
 *   <li>opening the checkpoint store ({@link #openStore}).
 * </ul>
 */
public final class RoundLoop implements TrainingListener, AutoCloseable {

  /** Which loop: the words of its log lines. */
  public enum Kind {
    /** {@link Trainer}: early stopping counts epochs. */
    TRAINER("sparktrain", "epoch", "epochs"),
    /** Federated training: early stopping counts rounds, patience evaluations. */
    FEDERATED("sparktrain federated", "round", "evaluations");

    private final String prefix;
    private final String unit;
    private final String evaluations;

    Kind(String prefix, String unit, String evaluations) {
      this.prefix = prefix;
      this.unit = unit;
      this.evaluations = evaluations;
    }
  }

  private final JavaSparkContext jsc;
  private final Kind kind;
  private final Logger log;
  private final MetricsHistory history = new MetricsHistory();
  private final List<TrainingListener> listeners = new ArrayList<>();
  private final JobDescription description;

  /**
   * Remembers the current job description (back on {@link #close}); the listeners are the history,
   * a progress logger every {@code logEveryRounds} rounds and then {@code userListeners}, in order.
   * The loop's own lines are logged to {@code log}.
   */
  public RoundLoop(JavaSparkContext jsc, Kind kind, Logger log, int logEveryRounds,
      List<TrainingListener> userListeners) {
    this.jsc = jsc;
    this.kind = kind;
    this.log = log;
    listeners.add(history);
    listeners.add(new ProgressLogger(logEveryRounds));
    listeners.addAll(userListeners);
    description = JobDescription.keep(jsc);
  }

  /** Every round and epoch record of the run. */
  public MetricsHistory history() {
    return history;
  }

  @Override
  public void onRound(RoundEvent e) {
    for (TrainingListener l : listeners) l.onRound(e);
  }

  @Override
  public void onEpoch(EpochEvent e) {
    for (TrainingListener l : listeners) l.onEpoch(e);
  }

  @Override
  public void onCheckpoint(long round, String path) {
    for (TrainingListener l : listeners) l.onCheckpoint(round, path);
  }

  /** The description of the jobs that follow (in the Spark UI, and what the locality audit reads). */
  public void describe(String text) {
    description.set(text);
  }

  /** Puts back the job description from before the loop. */
  @Override
  public void close() {
    description.close();
  }

  /** Broadcasts {@code params} for one round; closing destroys the broadcast. */
  public ParamsBroadcast broadcast(float[] params) {
    return new ParamsBroadcast(jsc.broadcast(params));
  }

  /** The parameters' broadcast of one round: {@code try (ParamsBroadcast bc = loop.broadcast(params))}. */
  public static final class ParamsBroadcast implements AutoCloseable {
    private final Broadcast<float[]> bc;

    private ParamsBroadcast(Broadcast<float[]> bc) {
      this.bc = bc;
    }

    public Broadcast<float[]> get() {
      return bc;
    }

    @Override
    public void close() {
      bc.destroy();
    }
  }

  /**
   * The descriptions of a stretch of jobs; closing puts back the one from before:
   * {@code try (JobDescription jobs = JobDescription.keep(jsc)) { jobs.set("..."); ... }}.
   */
  public static final class JobDescription implements AutoCloseable {
    private final JavaSparkContext jsc;
    private final String previous;

    private JobDescription(JavaSparkContext jsc) {
      this.jsc = jsc;
      this.previous = jsc.getLocalProperty("spark.job.description");
    }

    /** Remembers the current description, to be put back on {@link #close}. */
    public static JobDescription keep(JavaSparkContext jsc) {
      return new JobDescription(jsc);
    }

    /** The description of the jobs that follow. */
    public void set(String text) {
      jsc.setJobDescription(text);
    }

    @Override
    public void close() {
      jsc.setJobDescription(previous);
    }
  }

  /**
   * Throws {@link #diverged} when {@code loss} or {@code aggregate} is not finite: what is wrong is
   * "loss is NaN" (the loss is looked at first) or "the aggregated {@code name} is not finite".
   */
  public static void requireFinite(String where, double loss, float[] aggregate, String name, String advice) {
    boolean finite = Double.isFinite(loss);
    for (int i = 0; finite && i < aggregate.length; i++) finite = Float.isFinite(aggregate[i]);
    if (!finite) {
      throw diverged(where, Double.isFinite(loss) ? "the aggregated " + name + " is not finite" : "loss is " + loss,
          advice);
    }
  }

  /** {@link #requireFinite(String, double, float[], String, String)} for an aggregate without a loss. */
  public static void requireFinite(String where, float[] aggregate, String name, String advice) {
    requireFinite(where, 0, aggregate, name, advice);
  }

  /** "{@code where}: {@code what}; {@code advice}", e.g. "round 7: loss is NaN; training stopped. ...". */
  public static TrainingDivergedException diverged(String where, String what, String advice) {
    return new TrainingDivergedException(where + ": " + what + "; " + advice);
  }

  /** Logs that early stopping ends the run after {@code at} (an epoch, or a federated round). */
  public void stoppedEarly(EarlyStopping stopping, int at) {
    log.info("{}: early stopping after {} {}: {} did not improve by {} for {} {} (best {} at {} {})", kind.prefix,
        kind.unit, at, stopping.metric(), stopping.minDelta(), stopping.patience(), kind.evaluations,
        stopping.best(), kind.unit, stopping.bestEpoch());
  }

  /** The parameters a run returns and their validation metrics. */
  public record Weights(float[] params, Map<String, Double> validation) {
  }

  /**
   * Restore-best-weights: when early stopping kept its best parameters, they replace
   * {@code params}, are validated again by {@code validate} and the swap is logged; otherwise
   * {@code params} and {@code validation} are returned as they are.
   */
  public Weights restoreBest(EarlyStopping stopping, float[] params, Map<String, Double> validation,
      Function<float[], Map<String, Double>> validate) {
    float[] best = stopping.enabled() && stopping.keepsBest() ? stopping.bestParams() : null;
    if (best == null) {
      return new Weights(params, validation);
    }
    Weights restored = new Weights(best, validate.apply(best));
    log.info("{}: restored the best weights ({} {}, {} = {})", kind.prefix, kind.unit, stopping.bestEpoch(),
        stopping.metric(), stopping.best());
    return restored;
  }

  /** The checkpoint store of {@code dir} keeping the newest {@code keep}; null when {@code dir} is null. */
  public static CheckpointStore openStore(String dir, Configuration hconf, int keep) {
    if (dir == null) {
      return null;
    }
    try {
      return new CheckpointStore(dir, hconf, keep);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint.dir " + dir + ": cannot open", e);
    }
  }

  /**
   * Where a resumed run continues: the newest checkpoint of {@code store} (of {@code dir}) that reads,
   * verifies and fits the run ({@code problem} returns null, or why not). A warning names each newer
   * file skipped, why, where it was moved aside, and the round the run falls back to. With
   * checkpoints but none usable, fails listing every file and its problem. Empty when there are none.
   */
  public static Optional<Checkpoint> resumePoint(CheckpointStore store, String dir,
      Function<Checkpoint, CheckpointStore.Problem> problem, Logger log, String prefix) {
    CheckpointStore.Usable u;
    try {
      u = store.latestUsable(problem);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint.dir " + dir + ": cannot list or move checkpoints: " + e.getMessage(),
          e);
    }
    if (u.checkpoint().isEmpty() && !u.skipped().isEmpty()) {
      StringBuilder sb = new StringBuilder();
      for (CheckpointStore.Skipped s : u.skipped()) sb.append(sb.length() == 0 ? "" : "; ").append(s);
      throw new IllegalStateException("checkpoint.resume: no usable checkpoint in " + dir + ": " + sb
          + ". Nothing was moved or deleted; set checkpoint.resume: false (or another checkpoint.dir) to start"
          + " fresh");
    }
    if (!u.skipped().isEmpty()) {
      for (CheckpointStore.Skipped s : u.skipped()) {
        log.warn("{}: checkpoint.resume: skipped {}", prefix, s);
      }
      log.warn("{}: checkpoint.resume: falling back to round {} ({})", prefix, u.checkpoint().get().round(),
          store.pathFor(u.checkpoint().get().round()).getName());
    }
    return u.checkpoint();
  }

  /** Writes {@code c} to {@code store} (of {@code dir}), tells the listeners, returns its path. */
  public String saveCheckpoint(CheckpointStore store, String dir, Checkpoint c) {
    try {
      store.save(c);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint.dir " + dir + ": cannot write round " + c.round(), e);
    }
    String path = store.pathFor(c.round()).toString();
    onCheckpoint(c.round(), path);
    return path;
  }
}
