package io.sparktrain.train;

import io.sparktrain.optim.OptimizerState;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything a resumed run needs, as of the end of a round: progress counters, the seed, the flat
 * parameter vector, the optimizer state, the run's configuration (JSON text, opaque here), free-form
 * extras (for example the best metric so far) and, for restore-best-weights, the best parameters
 * seen so far.
 *
 * <p>Immutable: arrays are copied in and out; {@link #extras()} is an unmodifiable copy kept in the
 * caller's iteration order. {@link CheckpointStore} writes and reads it.
 */
public final class Checkpoint implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long round;
  private final int epoch;
  private final long roundInEpoch;
  private final long seed;
  private final float[] params;
  private final float[] bestParams;
  private final OptimizerState optimizerState;
  private final String configJson;
  private final Map<String, String> extras;
  private final long createdMillis;

  /**
   * @param round rounds completed (>= 0)
   * @param epoch epochs completed (>= 0)
   * @param roundInEpoch rounds completed in the current epoch (>= 0)
   * @param seed the run's seed
   * @param params the parameter vector (not null)
   * @param bestParams the best parameters so far, in the same layout as {@code params}; may be null
   * @param optimizerState the optimizer's state; may be null; each slot in the layout of
   *     {@code params}
   * @param configJson the run's configuration as JSON text (not null; stored as UTF-8)
   * @param extras free-form keys and values (not null inside); null means empty
   * @param createdMillis creation time, milliseconds since the epoch
   */
  public Checkpoint(long round, int epoch, long roundInEpoch, long seed, float[] params,
      float[] bestParams, OptimizerState optimizerState, String configJson,
      Map<String, String> extras, long createdMillis) {
    if (round < 0) {
      throw new IllegalArgumentException("checkpoint round: expected >= 0, found " + round);
    }
    if (epoch < 0) {
      throw new IllegalArgumentException("checkpoint epoch: expected >= 0, found " + epoch);
    }
    if (roundInEpoch < 0) {
      throw new IllegalArgumentException("checkpoint roundInEpoch: expected >= 0, found " + roundInEpoch);
    }
    if (params == null) {
      throw new IllegalArgumentException("checkpoint params: expected a vector, found null");
    }
    if (bestParams != null && bestParams.length != params.length) {
      throw new IllegalArgumentException("checkpoint bestParams: expected " + params.length
          + " values (the size of params), found " + bestParams.length);
    }
    if (optimizerState != null) {
      for (int i = 0; i < optimizerState.slotCount(); i++) {
        int n = optimizerState.slot(i).length;
        if (n != params.length) {
          throw new IllegalArgumentException("checkpoint optimizer state slot " + i + ": expected "
              + params.length + " values (the size of params), found " + n);
        }
      }
    }
    if (configJson == null) {
      throw new IllegalArgumentException("checkpoint configJson: expected JSON text, found null");
    }
    Map<String, String> ex = new LinkedHashMap<>();
    if (extras != null) {
      for (Map.Entry<String, String> e : extras.entrySet()) {
        if (e.getKey() == null || e.getValue() == null) {
          throw new IllegalArgumentException("checkpoint extras: expected non-null keys and values, found "
              + e.getKey() + "=" + e.getValue());
        }
        ex.put(e.getKey(), e.getValue());
      }
    }
    this.round = round;
    this.epoch = epoch;
    this.roundInEpoch = roundInEpoch;
    this.seed = seed;
    this.params = params.clone();
    this.bestParams = bestParams == null ? null : bestParams.clone();
    this.optimizerState = optimizerState;
    this.configJson = configJson;
    this.extras = Collections.unmodifiableMap(ex);
    this.createdMillis = createdMillis;
  }

  /** Rounds completed. */
  public long round() {
    return round;
  }

  /** Epochs completed. */
  public int epoch() {
    return epoch;
  }

  /** Rounds completed in the current epoch. */
  public long roundInEpoch() {
    return roundInEpoch;
  }

  public long seed() {
    return seed;
  }

  /** A copy of the parameter vector. */
  public float[] params() {
    return params.clone();
  }

  /** The number of parameters. */
  public int paramCount() {
    return params.length;
  }

  /** A copy of the best parameters so far, or null when none were recorded. */
  public float[] bestParams() {
    return bestParams == null ? null : bestParams.clone();
  }

  public boolean hasBestParams() {
    return bestParams != null;
  }

  /** The optimizer state (itself immutable, copying out), or null. */
  public OptimizerState optimizerState() {
    return optimizerState;
  }

  /** The run's configuration as JSON text. */
  public String configJson() {
    return configJson;
  }

  /** Unmodifiable, in the order given at construction (or as stored). */
  public Map<String, String> extras() {
    return extras;
  }

  public long createdMillis() {
    return createdMillis;
  }

  @Override
  public String toString() {
    return "Checkpoint[round=" + round + ", epoch=" + epoch + ", roundInEpoch=" + roundInEpoch
        + ", seed=" + seed + ", params=" + params.length + ", bestParams="
        + (bestParams == null ? "none" : bestParams.length) + ", optimizerState="
        + (optimizerState == null ? "none" : optimizerState.slotCount() + " slots, "
            + optimizerState.steps() + " steps")
        + ", extras=" + extras + ", createdMillis=" + createdMillis + "]";
  }
}
