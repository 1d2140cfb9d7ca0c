package io.sparktrain.data;

import java.util.Arrays;

/** A growable int array (no boxing): CSR pointers and ids while a partition decodes. */
public final class IntList {
  private int[] a = new int[16];
  private int n;

  public void add(int v) {
    if (n == a.length) {
      a = Arrays.copyOf(a, (int) Math.min(Integer.MAX_VALUE - 8, a.length * 2L));
    }
    a[n++] = v;
  }

  public int size() {
    return n;
  }

  public int get(int i) {
    return a[i];
  }

  /** The backing array (the first {@link #size()} entries are valid). */
  public int[] array() {
    return a;
  }

  public void clear() {
    n = 0;
  }

  public int[] toArray() {
    return Arrays.copyOf(a, n);
  }
}
