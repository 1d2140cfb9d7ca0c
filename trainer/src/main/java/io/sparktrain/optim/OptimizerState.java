package io.sparktrain.optim;

import io.sparktrain.util.Checksums;
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

  /**
   * A 64-bit checksum of the step count and of every slot's bits (replicas compare states with it):
   * {@link #checksum(long, long)} of the slots' additive checksums ({@link Checksums}, slot i with
   * {@link Checksums#slotSeed}), so that it can be kept up to date row by row.
   */
  public long checksum() {
    return checksum(steps, slots);
  }

  /** {@link #checksum()} of a state with these steps and slots (not copied). */
  static long checksum(long steps, float[][] slots) {
    return checksum(steps, slotsSum(slots));
  }

  /** The slots' part: the sum of each slot's {@link Checksums#of} with its seed. */
  static long slotsSum(float[][] slots) {
    long h = 0;
    for (int i = 0; i < slots.length; i++) h += Checksums.of(slots[i], Checksums.slotSeed(i));
    return h;
  }

  /** The state checksum from the step count and the slots' part ({@link #slotsSum}, or kept by rows). */
  public static long checksum(long steps, long slotsSum) {
    return Checksums.mix(0x9E3779B97F4A7C15L ^ steps) + slotsSum;
  }

  private static float[][] deepCopy(float[][] s) {
    float[][] c = new float[s.length][];
    for (int i = 0; i < s.length; i++) c[i] = s[i].clone();
    return c;
  }
}
