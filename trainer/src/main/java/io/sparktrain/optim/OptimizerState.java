package io.sparktrain.optim;

import java.io.Serializable;

/**
 * A snapshot of an optimizer's state: the number of steps taken and its slot vectors (momentum,
 * first and second moments), each in the parameter layout. Deep copies in and out, so a
 * checkpoint restores it exactly.
 */
public final class OptimizerState implements Serializable {
  private static final long serialVersionUID = 1L;
  private final long steps;
  private final float[][] slots;

  public OptimizerState(long steps, float[][] slots) {
    this.steps = steps;
    this.slots = deepCopy(slots);
  }

  public long steps() {
    return steps;
  }

  public int slotCount() {
    return slots.length;
  }

  /** A copy of slot {@code i}. */
  public float[] slot(int i) {
    return slots[i].clone();
  }

  float[][] slotsCopy() {
    return deepCopy(slots);
  }

  /** A 64-bit hash of the step count and of every slot's bits (replicas compare states with it). */
  public long checksum() {
    return checksum(steps, slots);
  }

  /** {@link #checksum()} of a state with these steps and slots (not copied). */
  static long checksum(long steps, float[][] slots) {
    long h = 0x9E3779B97F4A7C15L ^ steps;
    for (float[] slot : slots) {
      h = (h ^ slot.length) * 0x100000001B3L;
      for (float v : slot) {
        h = (h ^ Float.floatToRawIntBits(v)) * 0x100000001B3L;
      }
    }
    return h;
  }

  private static float[][] deepCopy(float[][] s) {
    float[][] c = new float[s.length][];
    for (int i = 0; i < s.length; i++) c[i] = s[i].clone();
    return c;
  }
}
