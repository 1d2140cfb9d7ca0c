package io.sparktrain.train;

import java.util.Arrays;

/**
 * A partition's rows for a run of sync steps, computed once: for steps {@code [first, end)} of an
 * epoch, the local rows whose position in the epoch's permutation of all n rows falls in step s's
 * global batch {@code [sB, (s+1)B)}, in batch order. One pass over the partition and a sort of the
 * rows that fall in the span: O(rows log rows) per span, not O(rows) per step. Step s's rows are
 * {@code rows()[start(s), start(s+1))}. The driver engine asks for one step at a time.
 */
public final class StepRows {
  private final long first;
  private final int[] starts;
  private final int[] rows;

  private StepRows(long first, int[] starts, int[] rows) {
    this.first = first;
    this.starts = starts;
    this.rows = rows;
  }

  /**
   * Rows {@code 0..rows-1} of a partition whose global ids start at {@code offset}, for steps
   * {@code [first, end)} of an epoch whose permutation of {@code n} rows comes from {@code epochSeed}.
   */
  public static StepRows of(int rows, long offset, long n, long epochSeed, int batch, long first, long end) {
    long lo = first * batch;
    long hi = Math.min(n, end * batch);
    if (hi - lo >= Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a span of " + (end - first) + " steps of " + batch + " rows covers "
          + (hi - lo) + " positions; at most " + (Integer.MAX_VALUE - 1) + " per span");
    }
    int steps = (int) (end - first);
    if (rows == 0 || hi <= lo) {
      return new StepRows(first, new int[steps + 1], new int[0]);
    }
    IndexPermutation perm = new IndexPermutation(n, epochSeed);
    long[] keys = new long[Math.max(16, (int) Math.min(rows, (hi - lo) * rows / n * 2 + 16))];
    int count = 0;
    for (int i = 0; i < rows; i++) {
      long pos = perm.apply(offset + i);
      if (pos >= lo && pos < hi) {
        if (count == keys.length) {
          keys = Arrays.copyOf(keys, keys.length * 2);
        }
        keys[count++] = (pos - lo) << 32 | i; // position within the span, then the row
      }
    }
    Arrays.sort(keys, 0, count);
    int[] starts = new int[steps + 1];
    int[] out = new int[count];
    for (int k = 0; k < count; k++) {
      out[k] = (int) keys[k];
      starts[(int) ((keys[k] >>> 32) / batch) + 1]++;
    }
    for (int s = 0; s < steps; s++) starts[s + 1] += starts[s];
    return new StepRows(first, starts, out);
  }

  /** The row ids, grouped by step in batch order. */
  public int[] rows() {
    return rows;
  }

  /** Where step {@code step}'s rows begin in {@link #rows()}. */
  public int start(long step) {
    return starts[(int) (step - first)];
  }

  /** Where step {@code step}'s rows end in {@link #rows()}. */
  public int end(long step) {
    return starts[(int) (step - first) + 1];
  }
}
