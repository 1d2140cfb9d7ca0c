package io.sparktrain.federated;

import io.sparktrain.nn.Network;
import io.sparktrain.train.Checkpoint;
import io.sparktrain.train.CheckpointStore.Problem;
import io.sparktrain.train.CheckpointStore;
import io.sparktrain.train.EarlyStopping;
import io.sparktrain.train.RoundLoop;
import io.sparktrain.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints of a federated run, written and read through {@link CheckpointStore} (any Hadoop file
 * system, temporary file then rename, CRC, the newest K kept).
 *
 * <p>A checkpoint is taken at the end of a round and holds what the next round needs: the global
 * parameters, the server optimizer's state (FedAvgM momentum, FedAdagrad/FedAdam/FedYogi moments),
 * the round, the seed, the RDP accountant's accumulated RDP (so epsilon continues), early stopping's
 * counters and best parameters, the last validation metrics, whether early stopping ended the run,
 * and the configuration (JSON, for people). Everything a silo computes is keyed by (seed, round,
 * silo), so a run resumed after round k ends with the same parameters as an uninterrupted one.
 *
 * <p>Resuming checks the checkpoint against the run before any work: the network, the number of
 * silos, the server rule and DP on or off must match (an error names each difference); other
 * changed settings (learning rates, C, E, B, the seed, more rounds) are allowed and logged.
 *
 * <p>Per-silo state: the error-feedback residuals ({@link SiloResiduals}). They never reach the
 * driver: with error feedback, {@link #save} first has every silo write its residual from its
 * executor into {@code <checkpoint.dir>/silo-state/round-%012d/} ({@link ResidualFiles}), and only
 * then writes the checkpoint file, which records that directory ({@code federated.residuals}); a
 * crash in between leaves residuals without a checkpoint (deleted by the store's next prune), never
 * a checkpoint without its residuals. Before that, an existing checkpoint of the same round is
 * deleted, then its residuals, so a checkpoint never points at residuals being replaced. The store
 * deletes a round's residuals with its checkpoint (keep the newest K). On resume the silos read
 * their own files back ({@link SiloResiduals#load}).
 *
 * <p>Error feedback on one side only: a checkpoint with residuals resumed without error feedback
 * ignores them (logged: what quantization had lost is dropped); a checkpoint without residuals
 * resumed with error feedback starts the residuals from zero (logged; such a run does not equal an
 * uninterrupted one with error feedback). Any other state a feature keeps in the silos across
 * rounds must be added here the same way, or a resumed run will not equal an uninterrupted one.
 */
final class FederatedCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger(FederatedCheckpoints.class);
  private static final String P = "federated.";

  private final FederatedConfig config;
  private final Network network;
  private final long[] siloRows;
  private final CheckpointStore store;
  private final Configuration hconf;

  /** Opens the store of {@code config.checkpoint().dir()}, or none when it is null. */
  FederatedCheckpoints(FederatedConfig config, Network network, long[] siloRows, Configuration hconf) {
    this.config = config;
    this.network = network;
    this.siloRows = siloRows.clone();
    this.hconf = hconf;
    String dir = config.checkpoint().dir();
    this.store = RoundLoop.openStore(dir == null || dir.isEmpty() ? null : dir, hconf, config.checkpoint().keep());
  }

  /** Whether round {@code round} ends with a checkpoint: every N rounds, the last round, an early stop. */
  boolean due(int round, boolean last) {
    return store != null && (last || round % config.checkpoint().everyRounds() == 0);
  }

  /**
   * Writes the checkpoint of {@code round}, tells the loop's listeners, returns its path. With
   * {@code residuals} (error feedback on) the silos first write their residuals from the executors;
   * the checkpoint file, written last, records where.
   */
  String save(int round, float[] params, ServerOptimizer server, RdpAccountant accountant, EarlyStopping stopping,
      Map<String, Double> lastValidation, boolean stopped, RoundLoop loop, SiloResiduals residuals) {
    Map<String, String> extras = new LinkedHashMap<>(fingerprint());
    if (residuals != null) {
      try {
        store.discardRound(round);
      } catch (IOException e) {
        throw new UncheckedIOException("checkpoint.dir " + config.checkpoint().dir() + ": cannot replace round "
            + round, e);
      }
      residuals.save(store.stateDir(round).toString(), round, new SerializableConfiguration(hconf));
      extras.put(P + "residuals", CheckpointStore.stateDirName(round));
    }
    for (Map.Entry<String, Object> e : config.toMap().entrySet()) {
      extras.put(P + "setting." + e.getKey(), String.valueOf(e.getValue()));
    }
    extras.put(P + "rdp_orders", join(accountant.orders()));
    extras.put(P + "rdp", join(accountant.rdp()));
    extras.put(P + "stopped", Boolean.toString(stopped));
    for (Map.Entry<String, Double> e : lastValidation.entrySet()) {
      extras.put(P + "validation." + e.getKey(), Double.toString(e.getValue()));
    }
    extras.putAll(stopping.extras());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("mode", "federated");
    json.put("network", network.toString());
    json.put("silos", siloRows.length);
    json.putAll(config.toMap());
    json.put("checkpoint_dir", config.checkpoint().dir());
    json.put("checkpoint_every_rounds", config.checkpoint().everyRounds());
    json.put("early_stopping_metric", config.earlyStopping().metric());
    Checkpoint c = new Checkpoint(round, 0, 0, config.seed(), params, stopping.bestParams(), server.state(),
        Json.object(json), extras, System.currentTimeMillis());
    return loop.saveCheckpoint(store, config.checkpoint().dir(), c);
  }

  /**
   * Where a resumed run continues: the rounds done, the parameters, the last metrics, whether it had
   * ended, and the directory of the silos' error-feedback residuals to start from (null: none, or
   * this run has no error feedback).
   */
  record Resumed(int round, float[] params, Map<String, Double> lastValidation, boolean stopped,
      String residualsDir) {

    /** Has every silo read its residual of the resumed round from {@link #residualsDir}; no-op without. */
    void loadResiduals(SiloResiduals residuals, Configuration hconf) {
      if (residuals != null && residualsDir != null) {
        residuals.load(residualsDir, round, new SerializableConfiguration(hconf));
      }
    }
  }

  /**
   * With resume on: loads the newest checkpoint, checks that it fits this run, restores the server
   * optimizer, the accountant and early stopping in place and returns where to continue. Empty when
   * resume is off or the directory holds no checkpoint (a fresh start).
   */
  Optional<Resumed> resume(ServerOptimizer server, RdpAccountant accountant, EarlyStopping stopping) {
    if (store == null || !config.checkpoint().resume()) {
      return Optional.empty();
    }
    Optional<Checkpoint> latest = RoundLoop.resumePoint(store, config.checkpoint().dir(),
        c -> misfit(c, accountant), LOG, "sparktrain federated");
    if (latest.isEmpty()) {
      LOG.info("sparktrain federated: no checkpoint in {}; starting fresh", config.checkpoint().dir());
      return Optional.empty();
    }
    Checkpoint c = latest.get();
    Map<String, String> ex = c.extras();
    String where = "checkpoint.resume: the checkpoint of round " + c.round() + " in " + config.checkpoint().dir();
    network.layout().check(c.params(), "checkpoint round " + c.round() + " parameters");
    List<String> changed = new ArrayList<>();
    for (Map.Entry<String, Object> e : config.toMap().entrySet()) {
      String before = ex.get(P + "setting." + e.getKey());
      String now = String.valueOf(e.getValue());
      if (before != null && !before.equals(now) && !e.getKey().equals("rounds")) { // more rounds: an extension
        changed.add(e.getKey() + " " + before + " -> " + now);
      }
    }
    if (!changed.isEmpty()) {
      LOG.warn("sparktrain federated: resuming with changed settings: {}", String.join(", ", changed));
    }
    accountant.restore(parse(ex.get(P + "rdp")));
    if (c.optimizerState() != null) {
      server.restore(c.optimizerState());
    }
    stopping.restore(ex, c.bestParams());
    Map<String, Double> lastValidation = new LinkedHashMap<>();
    String vp = P + "validation.";
    for (Map.Entry<String, String> e : ex.entrySet()) {
      if (e.getKey().startsWith(vp)) {
        lastValidation.put(e.getKey().substring(vp.length()), Double.parseDouble(e.getValue()));
      }
    }
    String residualsDir = residualsToLoad(c, where);
    boolean stopped = Boolean.parseBoolean(ex.get(P + "stopped"));
    if (c.round() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(where + ": expected a round count below 2^31, found " + c.round());
    }
    LOG.info("sparktrain federated: resumed from the checkpoint of round {} in {}{}", c.round(),
        config.checkpoint().dir(), stopped ? " (early stopping had ended that run)" : "");
    return Optional.of(new Resumed((int) c.round(), c.params(), lastValidation, stopped, residualsDir));
  }

  /**
   * The qualified directory of the checkpoint's residuals when this run continues them; null when
   * the checkpoint has none or this run has no error feedback (both logged).
   */
  private String residualsToLoad(Checkpoint c, String where) {
    String rel = c.extras().get(P + "residuals");
    String compression = c.extras().get(P + "setting.compression");
    if (rel != null && !rel.equals(CheckpointStore.stateDirName(c.round()))) {
      throw new IllegalArgumentException(where + ": expected the silos' residuals in "
          + CheckpointStore.stateDirName(c.round()) + ", found " + rel);
    }
    if (config.errorFeedback()) {
      if (rel != null) {
        return store.dir() + "/" + rel;
      }
      if (compression != null && compression.endsWith("+error_feedback")) {
        LOG.warn("sparktrain federated: {} was written with error feedback but without the silos' residuals (by an"
            + " earlier sparktrain); they start from zero, so this run will not equal an uninterrupted one", where);
      } else {
        LOG.warn("sparktrain federated: {} was written without error feedback (compression {}); the silos'"
            + " residuals start from zero", where, compression);
      }
    } else if (rel != null) {
      LOG.warn("sparktrain federated: {} holds the silos' error-feedback residuals; this run has no error feedback"
          + " (compression {}), so they are not read and what quantization had lost is dropped", where,
          config.toMap().get("compression"));
    }
    return null;
  }

  /**
   * Why checkpoint {@code c} cannot continue this run, or null: not a federated run's, a different
   * network, silo count, server rule or DP setting, other DP accountant orders, or (with error
   * feedback) silo residual files that are missing or of the wrong length. A residual file whose
   * bytes are damaged is found later, by its silo (a clear error naming the file).
   */
  private Problem misfit(Checkpoint c, RdpAccountant accountant) {
    Map<String, String> ex = c.extras();
    if (!ex.containsKey(P + "network")) {
      return Problem.mismatch("not written by a federated run (expected the keys of federated training, found "
          + ex.keySet() + ")");
    }
    List<String> differs = new ArrayList<>();
    for (Map.Entry<String, String> e : fingerprint().entrySet()) {
      String found = ex.get(e.getKey());
      if (!Objects.equals(e.getValue(), found)) {
        differs.add(e.getKey().substring(P.length()) + ": expected " + e.getValue() + " (this run), found " + found
            + " (the checkpoint)");
      }
    }
    if (!differs.isEmpty()) {
      return Problem.mismatch("does not fit this run: " + String.join("; ", differs));
    }
    if (c.params().length != network.layout().size()) {
      return Problem.mismatch("expected " + network.layout().size() + " parameters, found " + c.params().length);
    }
    if (!join(accountant.orders()).equals(ex.get(P + "rdp_orders"))) {
      return Problem.mismatch("the DP accountant's orders differ (expected " + join(accountant.orders())
          + ", found " + ex.get(P + "rdp_orders") + ")");
    }
    String rel = ex.get(P + "residuals");
    if (config.errorFeedback() && rel != null) {
      if (!rel.equals(CheckpointStore.stateDirName(c.round()))) {
        return Problem.mismatch("expected the silos' residuals in " + CheckpointStore.stateDirName(c.round())
            + ", found " + rel);
      }
      String broken = ResidualFiles.check(store.fileSystem(), store.dir() + "/" + rel, c.round(), siloRows.length,
          network.layout().size());
      return broken == null ? null : Problem.damaged(broken);
    }
    return null;
  }

  /**
   * Moves round {@code round}'s checkpoint and its state directory aside as damaged (never deleted),
   * with a warning naming why, so that {@link #resume} goes on to the one before.
   */
  void setAside(long round, String why) {
    try {
      Path to = store.moveAside(round, CheckpointStore.DAMAGED);
      LOG.warn("sparktrain federated: checkpoint.resume: skipped {} ({}), moved aside to {}",
          store.pathFor(round).getName(), why, to.getName());
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint.dir " + config.checkpoint().dir() + ": cannot move round " + round
          + "'s checkpoint aside after: " + why, e);
    }
  }

  /** What must be equal for a checkpoint to continue this run. */
  private Map<String, String> fingerprint() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(P + "network", network.toString());
    m.put(P + "silos", Integer.toString(siloRows.length));
    m.put(P + "server", config.server().name().toLowerCase(Locale.ROOT));
    m.put(P + "dp", config.dp() ? "on" : "off");
    return m;
  }

  /** Exact text: Double.toString round-trips every double. */
  private static String join(double[] v) {
    return Arrays.stream(v).mapToObj(Double::toString).collect(Collectors.joining(","));
  }

  private static double[] parse(String s) {
    if (s == null || s.isEmpty()) {
      return new double[0];
    }
    return Arrays.stream(s.split(",")).mapToDouble(Double::parseDouble).toArray();
  }
}
