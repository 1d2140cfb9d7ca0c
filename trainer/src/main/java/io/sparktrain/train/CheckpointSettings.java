package io.sparktrain.train;

import java.io.Serializable;
import java.util.Map;

/**
 * The checkpoint section of a run, shared by {@link TrainConfig} and the federated config: where
 * checkpoints go (any Hadoop FileSystem URI; null = none), how often, how many are kept, and whether
 * the run resumes from the newest usable one.
 *
 * @param dir the checkpoint directory, or null for no checkpoints
 * @param everyRounds a checkpoint every this many rounds (0 = off; federated: every evaluation round)
 * @param everyEpochs a checkpoint every this many epochs (0 = off; federated runs have no epochs)
 * @param keep how many checkpoints are kept (the newest)
 * @param resume continue from the newest usable checkpoint in {@code dir} (none: a fresh start)
 */
public record CheckpointSettings(String dir, int everyRounds, int everyEpochs, int keep, boolean resume)
    implements Serializable {
  /** Checkpoints kept when not set. */
  public static final int DEFAULT_KEEP = 3;

  /** No checkpoints: the defaults of every other field. */
  public static CheckpointSettings none() {
    return new CheckpointSettings(null, 0, 1, DEFAULT_KEEP, false);
  }

  /** Whether a directory is set. */
  public boolean enabled() {
    return dir != null && !dir.isEmpty();
  }

  public CheckpointSettings withDir(String v) {
    return new CheckpointSettings(v, everyRounds, everyEpochs, keep, resume);
  }

  public CheckpointSettings withEveryRounds(int v) {
    return new CheckpointSettings(dir, v, everyEpochs, keep, resume);
  }

  public CheckpointSettings withEveryEpochs(int v) {
    return new CheckpointSettings(dir, everyRounds, v, keep, resume);
  }

  public CheckpointSettings withKeep(int v) {
    return new CheckpointSettings(dir, everyRounds, everyEpochs, v, resume);
  }

  public CheckpointSettings withResume(boolean v) {
    return new CheckpointSettings(dir, everyRounds, everyEpochs, keep, v);
  }

  /**
   * Checks the section, naming the key; {@code roundsRequired}: a checkpoint directory needs
   * {@code every_rounds >= 1} (federated runs, which count only rounds).
   */
  public void validate(boolean roundsRequired) {
    ConfigChecks.require(everyRounds >= (roundsRequired && enabled() ? 1 : 0), "checkpoint.every_rounds",
        roundsRequired && enabled() ? ">= 1 with a checkpoint dir" : ">= 0", everyRounds);
    ConfigChecks.require(everyEpochs >= 0, "checkpoint.every_epochs", ">= 0", everyEpochs);
    ConfigChecks.require(keep >= 1, "checkpoint.keep", ">= 1", keep);
    if (resume && !enabled()) {
      throw new IllegalArgumentException("checkpoint.resume: expected a checkpoint.dir to resume from, found none");
    }
  }

  /** The section's entries of a config's key-value view. */
  public void putInto(Map<String, Object> m) {
    m.put("checkpoint_dir", dir);
    m.put("checkpoint_every_rounds", everyRounds);
    m.put("checkpoint_every_epochs", everyEpochs);
    m.put("checkpoint_keep", keep);
  }
}
