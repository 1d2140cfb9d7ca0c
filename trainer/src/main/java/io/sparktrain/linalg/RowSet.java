package io.sparktrain.linalg;

import java.util.Arrays;

/**
 * The touched rows of a {@link RowSpace} (one or more row-major segments of a flat vector). Vectors a
 * row set describes (a gradient, an update) hold zeros in every row of the space that is not in the
 * set; everything outside the space is dense. This is how a sparse first layer's kernel
 * (inputs x units) and embedding tables (buckets x dim) travel and step without O(inputs x units)
 * work: only the rows of the inputs and categories a mini-batch touched.
 *
 * <p>Adding is O(1) with no allocation in steady state (a generation stamp per row, so
 * {@link #clear()} is O(1) too). {@link #ids()} are in insertion order until {@link #sort()}. Not
 * thread-safe.
 */
public final class RowSet {
  private final RowSpace space;
  private final int[] stamp;
  private int generation = 1;
  private int[] ids = new int[64];
  private int size;

  /** An empty set over one segment: {@code rowCount} rows of {@code width} floats at {@code offset}. */
  public RowSet(int offset, int rowCount, int width) {
    this(RowSpace.of(offset, rowCount, width));
  }

  /** An empty set over {@code space}. */
  public RowSet(RowSpace space) {
    this.space = space;
    this.stamp = new int[space.rowCount()];
  }

  /** An empty set over the same space. */
  public RowSet emptyCopy() {
    return new RowSet(space);
  }

  public RowSpace space() { return space; }
  public int offset() { return space.offset(); }
  public int rowCount() { return space.rowCount(); }
  /** Where {@code row} starts in the flat vector. */
  public int start(int row) { return space.start(row); }
  /** The width of {@code row}. */
  public int width(int row) { return space.width(row); }
  /** The space's end (exclusive) in the flat vector. */
  public int end() { return space.end(); }
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

  /** Adds every row of {@code other} (a set over the same space). */
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
      int at = space.start(ids[i]);
      Arrays.fill(v, at, at + space.width(ids[i]), 0f);
    }
  }

  /** Adds the listed rows of {@code src} into the same rows of {@code dst} (same layout). */
  public void addRows(float[] src, float[] dst) {
    for (int i = 0; i < size; i++) {
      int at = space.start(ids[i]);
      for (int j = at, e = at + space.width(ids[i]); j < e; j++) dst[j] += src[j];
    }
  }

  /** Whether every listed row of {@code v} and every value outside the slice is finite. */
  public boolean allFinite(float[] v) {
    for (int i = 0; i < space.offset(); i++) {
      if (!Float.isFinite(v[i])) return false;
    }
    for (int i = end(); i < v.length; i++) {
      if (!Float.isFinite(v[i])) return false;
    }
    for (int k = 0; k < size; k++) {
      int at = space.start(ids[k]);
      for (int j = at, e = at + space.width(ids[k]); j < e; j++) {
        if (!Float.isFinite(v[j])) return false;
      }
    }
    return true;
  }

  /** The squared L2 norm of the listed rows plus everything outside the slice (the others are zero). */
  public double squaredNorm(float[] v) {
    double s = 0;
    for (int i = 0; i < space.offset(); i++) s += (double) v[i] * v[i];
    for (int i = end(); i < v.length; i++) s += (double) v[i] * v[i];
    for (int k = 0; k < size; k++) {
      int at = space.start(ids[k]);
      for (int j = at, e = at + space.width(ids[k]); j < e; j++) s += (double) v[j] * v[j];
    }
    return s;
  }

  /** Floats the listed rows take with their ids: the sum of (width + 1) over them. */
  public long rowFloats() {
    long n = size;
    for (int k = 0; k < size; k++) n += space.width(ids[k]);
    return n;
  }

  /** Floats a row-sparse copy of a vector of {@code total} floats takes: ids, their rows, the rest. */
  public long sparseFloats(int total) {
    return rowFloats() + (total - space.floats());
  }

  private void checkSame(RowSet other) {
    if (!other.space.equals(space)) {
      throw new IllegalArgumentException("row set: expected a set over rows " + space + ", found " + other.space);
    }
  }

  @Override
  public String toString() {
    return "RowSet(" + size + " of " + space + ")";
  }
}
