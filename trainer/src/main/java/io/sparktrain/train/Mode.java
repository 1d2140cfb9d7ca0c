package io.sparktrain.train;

/** How a round turns partitions' work into one server step. */
public enum Mode {
  /** One optimizer step per round on the exact weighted mean gradient of a global mini-batch. */
  SYNC,
  /** Each partition takes local steps; the server applies the example-weighted mean delta. */
  AVERAGE
}
