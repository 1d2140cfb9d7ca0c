package io.sparktrain.optim;

import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.linalg.RowSpace;
import io.sparktrain.util.Checksums;

/**
 * A first-order optimizer on flat parameter vectors. It never sees data: only parameters and a
 * gradient in the same layout.
 *
 * <p>Calling order: create from an {@link OptimizerSpec} ({@link OptimizerSpec#create(int)}), one
 * instance per training run (or per local run on an executor); then {@link #step} once per
 * gradient. {@link #state()} and {@link #restore} snapshot and restore everything that evolves
 * (step count and slot vectors), so a resumed run continues exactly.
 *
 * <p>Each step: optional clipping of the gradient by global L2 norm (folded into the gradient
 * scale; the gradient array is not modified), then the learning rate
 * {@code lr * schedule.factor(t)} for step index t, then the update rule of the subclass.
 */
public abstract class Optimizer {
  protected final OptimizerSpec spec;
  protected final int size;
  protected float[][] slots;
  protected long steps;
  /** The slots' part of {@link #stateChecksum()} ({@link OptimizerState#slotsSum}), when valid. */
  private long slotsSum;
  private boolean checksumValid;

  Optimizer(OptimizerSpec spec, int size, int slotCount) {
    this.spec = spec;
    this.size = size;
    this.slots = new float[slotCount][size];
  }

  /** Updates {@code params} in place from {@code grads} (which it does not modify). */
  public final void step(float[] params, float[] grads) {
    step(params, grads, 1f);
  }

  /**
   * A step on the gradient {@code scale * grads} without forming it: callers holding a gradient
   * sum pass 1 / (total weight) and save a pass over the vector. Clipping sees the scaled norm.
   */
  public final void step(float[] params, float[] grads, float scale) {
    step(params, grads, scale, null);
  }

  /**
   * A step on a gradient that is zero in every row of {@code rows}' slice outside the set (a
   * sparse first layer's kernel); {@code rows == null} means dense. Clipping then reads only the
   * listed rows and the dense rest. Dense optimizers step every parameter anyway (a zero-gradient
   * row still moves with its momentum); {@code lazy_adam} steps only the listed rows of the slice.
   */
  public final void step(float[] params, float[] grads, float scale, RowSet rows) {
    if (params.length != size || grads.length != size) {
      throw new IllegalArgumentException("optimizer step: expected parameter and gradient vectors of "
          + size + " values, found " + params.length + " and " + grads.length);
    }
    if (spec.clipNorm() > 0) {
      double norm = (rows == null ? Clipping.norm(grads) : Math.sqrt(rows.squaredNorm(grads))) * Math.abs(scale);
      if (norm > spec.clipNorm()) {
        scale *= (float) (spec.clipNorm() / (norm + 1e-6));
      }
    }
    double lr = spec.learningRate() * spec.schedule().factor(steps);
    checksumValid = false;
    steps++;
    if (rows == null) {
      update(params, grads, scale, (float) lr, steps);
    } else {
      update(params, grads, scale, (float) lr, steps, rows);
    }
  }

  /** The rule on the gradient {@code scale * g}: {@code t} is the 1-based number of this step. */
  abstract void update(float[] params, float[] g, float scale, float lr, long t);

  /** The rule on a row-sparse gradient; dense optimizers step every parameter. */
  void update(float[] params, float[] g, float scale, float lr, long t, RowSet rows) {
    update(params, g, scale, lr, t);
  }

  /** Whether a step leaves the slice rows outside its gradient's {@link RowSet} untouched. */
  public boolean lazy() {
    return false;
  }

  /** The learning rate the next step will use. */
  public double currentLearningRate() {
    return spec.learningRate() * spec.schedule().factor(steps);
  }

  public long steps() {
    return steps;
  }

  public OptimizerSpec spec() {
    return spec;
  }

  /**
   * {@code state().checksum()} without copying the slots; remembered until the next step or restore,
   * and kept up to date by {@link #unpackRows} in O(rows) (the collective engine's driver asks for it
   * after every span and before the next).
   */
  public long stateChecksum() {
    if (!checksumValid) {
      slotsSum = OptimizerState.slotsSum(slots);
      checksumValid = true;
    }
    return OptimizerState.checksum(steps, slotsSum);
  }

  /**
   * The slots' checksum terms ({@link Checksums#rows}) of rows {@code ids[0, n)} of {@code space},
   * summed over the slots: with
   * {@link #slotsChecksumOutside} and {@link OptimizerState#checksum(long, long)}, what a caller that
   * knows which rows lazy steps changed needs to keep {@link #stateChecksum()}'s value without reading
   * every slot.
   */
  public long slotsChecksum(RowSpace space, int[] ids, int n) {
    long h = 0;
    for (int i = 0; i < slots.length; i++) h += Checksums.rows(slots[i], space, ids, n, Checksums.slotSeed(i));
    return h;
  }

  /** The slots' checksum terms of every position outside {@code [from, to)}, summed over the slots. */
  public long slotsChecksumOutside(int from, int to) {
    long h = 0;
    for (int i = 0; i < slots.length; i++) h += Checksums.outside(slots[i], from, to, Checksums.slotSeed(i));
    return h;
  }

  /**
   * Each slot's rows of {@code rows} and everything outside its slice, packed ({@link RowSlice#pack}):
   * all of the state a lazy optimizer changed since its slots were last equal to another's, when
   * every step it took listed rows within {@code rows}.
   */
  public float[][] packRows(RowSlice rows) {
    float[][] p = new float[slots.length][];
    for (int i = 0; i < slots.length; i++) p[i] = rows.pack(slots[i]);
    return p;
  }

  /** Writes what {@link #packRows} packed into the slots, and sets the step count. */
  public void unpackRows(long stepCount, RowSlice rows, float[][] packed) {
    if (packed.length != slots.length) {
      throw new IllegalArgumentException("optimizer rows: expected " + slots.length + " slots, found " + packed.length);
    }
    // RowSlice.unpack, keeping the checksum valid: the written positions' old terms out, their new terms in.
    for (int i = 0; i < slots.length; i++) {
      slotsSum += Checksums.unpack(packed[i], slots[i], rows.space(), rows.rows(), Checksums.slotSeed(i));
    }
    this.steps = stepCount;
  }

  /** A deep copy of the evolving state. */
  public OptimizerState state() {
    return new OptimizerState(steps, slots);
  }

  /** Restores a state taken from an optimizer of the same spec and size. */
  public void restore(OptimizerState state) {
    if (state.slotCount() != slots.length) {
      throw new IllegalArgumentException("optimizer state: expected " + slots.length + " slot vectors for "
          + spec.kind() + ", found " + state.slotCount());
    }
    float[][] s = state.slotsCopy();
    for (int i = 0; i < s.length; i++) {
      if (s[i].length != size) {
        throw new IllegalArgumentException("optimizer state slot " + i + ": expected " + size
            + " values, found " + s[i].length);
      }
    }
    checksumValid = false;
    this.slots = s;
    this.steps = state.steps();
  }
}
