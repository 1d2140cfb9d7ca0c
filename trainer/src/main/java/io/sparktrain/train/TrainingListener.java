package io.sparktrain.train;

/** Receives training events on the driver, in order. Implementations must be quick. */
public interface TrainingListener {
  default void onRound(RoundEvent e) {
  }

  default void onEpoch(EpochEvent e) {
  }

  /** A checkpoint was written. */
  default void onCheckpoint(long round, String path) {
  }
}
