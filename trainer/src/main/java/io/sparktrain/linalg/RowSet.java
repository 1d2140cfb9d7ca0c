package io.sparktrain.linalg;

import java.util.Arrays;

/**
 * The touched rows of one row-major slice of a flat vector: rows {@code 0..rowCount-1} of
 * {@code width} floats each, starting at {@code offset}. Vectors a row set describes (a gradient, an
 * update) hold zeros in every row of the slice that is not in the set; everything outside the slice
 * is dense. This is how a sparse first layer's kernel (inputs x units) travels and steps without
 * O(inputs x units) work: only the rows of the inputs a mini-batch touched.
 *
 * <p>Adding is O(1) with no allocation in steady state (a generation stamp per row, so
 * {@link #clear()} is O(1) too). {@link #ids()} are in insertion order until {@link #sort()}. Not
 * thread-safe.
 */
public final class RowSet {
  private final int offset;
  private final int rowCount;
  private final int width;
  private final int[] stamp;
  private int generation = 1;
  private int[] ids = new int[64];
  private int size;

  public RowSet(int offset, int rowCount, int width) {
    if (offset < 0 || rowCount <= 0 || width <= 0) {
      throw new IllegalArgumentException("row set: expected offset >= 0, rows > 0 and width > 0, found "
          + offset + ", " + rowCount + " and " + width);
    }
    this.offset = offset;
    this.rowCount = rowCount;
    this.width = width;
    this.stamp = new int[rowCount];
  }

  /** An empty set over the same slice. */
  public RowSet emptyCopy() {
    return new RowSet(offset, rowCount, width);
  }

  public int offset() { return offset; }
  public int rowCount() { return rowCount; }
  public int width() { return width; }
  /** The slice's end (exclusive) in the flat vector. */
  public int end() { return offset + rowCount * width; }
  public int size() { return size; }
  /** The row ids (the first {@link #size()} entries are valid). */
  public int[] ids() { return ids; }

  public boolean contains(int row) {
    return stamp[row] == generation;
  }

  public void add(int row) {
    if (stamp[row] != generation) {
      stamp[row] = generation;
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, size * 2);
      }
      ids[size++] = row;
    }
  }

  /** Adds {@code rows[from, to)}. */
  public void addAll(int[] rows, int from, int to) {
    for (int i = from; i < to; i++) add(rows[i]);
  }

  /** Adds every row of {@code other} (a set over the same slice). */
  public void addAll(RowSet other) {
    checkSame(other);
    addAll(other.ids, 0, other.size);
  }

  /** Empties the set in O(1). */
  public void clear() {
    size = 0;
    if (++generation == Integer.MAX_VALUE) {
      Arrays.fill(stamp, 0);
      generation = 1;
    }
  }

  /** Sorts the ids ascending (the order sums run in, so that results do not depend on insertion order). */
  public void sort() {
    Arrays.sort(ids, 0, size);
  }

  /** Sets the slice rows of {@code v} that are in the set to 0. */
  public void zeroRows(float[] v) {
    for (int i = 0; i < size; i++) {
      int at = offset + ids[i] * width;
      Arrays.fill(v, at, at + width, 0f);
    }
  }

  /** Adds the listed rows of {@code src} into the same rows of {@code dst} (same layout). */
  public void addRows(float[] src, float[] dst) {
    for (int i = 0; i < size; i++) {
      int at = offset + ids[i] * width;
      for (int j = at; j < at + width; j++) dst[j] += src[j];
    }
  }

  /** Whether every listed row of {@code v} and every value outside the slice is finite. */
  public boolean allFinite(float[] v) {
    for (int i = 0; i < offset; i++) {
      if (!Float.isFinite(v[i])) return false;
    }
    for (int i = end(); i < v.length; i++) {
      if (!Float.isFinite(v[i])) return false;
    }
    for (int k = 0; k < size; k++) {
      int at = offset + ids[k] * width;
      for (int j = at; j < at + width; j++) {
        if (!Float.isFinite(v[j])) return false;
      }
    }
    return true;
  }

  /** The squared L2 norm of the listed rows plus everything outside the slice (the others are zero). */
  public double squaredNorm(float[] v) {
    double s = 0;
    for (int i = 0; i < offset; i++) s += (double) v[i] * v[i];
    for (int i = end(); i < v.length; i++) s += (double) v[i] * v[i];
    for (int k = 0; k < size; k++) {
      int at = offset + ids[k] * width;
      for (int j = at; j < at + width; j++) s += (double) v[j] * v[j];
    }
    return s;
  }

  /** Floats a row-sparse copy of a vector of {@code total} floats takes: ids, their rows, the rest. */
  public long sparseFloats(int total) {
    return (long) size * (width + 1) + (total - (end() - offset));
  }

  private void checkSame(RowSet other) {
    if (other.offset != offset || other.rowCount != rowCount || other.width != width) {
      throw new IllegalArgumentException("row set: expected a set over rows " + rowCount + " x " + width
          + " at " + offset + ", found " + other.rowCount + " x " + other.width + " at " + other.offset);
    }
  }

  @Override
  public String toString() {
    return "RowSet(" + size + " of " + rowCount + " rows x " + width + " at " + offset + ")";
  }
}
