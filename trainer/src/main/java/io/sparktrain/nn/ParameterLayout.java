package io.sparktrain.nn;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Names every slice of a network's flat parameter vector: which layer, kernel or bias, its shape
 * and offset. Gradients, optimizer moments, weight deltas and checkpoints use the same layout, so
 * an optimizer step is one loop over one array and a round ships one array.
 *
 * <p>Order: the first layer's kernel, then the embedding tables (if any), then the first layer's
 * bias, then kernel and bias layer by layer. The first kernel and the tables are thus one contiguous
 * region of rows (a {@code RowSpace}) that sparse inputs touch row by row.
 */
public final class ParameterLayout implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What a slice holds. */
  public enum Role { KERNEL, BIAS, EMBEDDING }

  /**
   * One named slice: {@code shape} is (in, out) for a kernel stored row-major, (out) for a bias,
   * (buckets, dim) for an embedding table (its {@code layer} is the table's index).
   */
  public static final class Entry implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;
    private final int layer;
    private final Role role;
    private final int[] shape;
    private final int offset;
    private final int size;

    Entry(String name, int layer, Role role, int[] shape, int offset) {
      this.name = name;
      this.layer = layer;
      this.role = role;
      this.shape = shape.clone();
      this.offset = offset;
      int s = 1;
      for (int d : shape) s = Math.multiplyExact(s, d);
      this.size = s;
    }

    public String name() { return name; }
    public int layer() { return layer; }
    public Role role() { return role; }
    public int[] shape() { return shape.clone(); }
    public int offset() { return offset; }
    public int size() { return size; }
    public int end() { return offset + size; }

    @Override
    public String toString() {
      return name + Arrays.toString(shape) + "@" + offset;
    }
  }

  /** The most parameters a network can have: they live in one Java float array. */
  public static final int MAX_PARAMETERS = Integer.MAX_VALUE - 8;

  private final List<Entry> entries;
  private final int size;
  private final Entry[] kernels;
  private final Entry[] biases;
  private final Entry[] tables;

  private ParameterLayout(List<Entry> entries, int size) {
    this.entries = Collections.unmodifiableList(entries);
    this.size = size;
    this.kernels = entries.stream().filter(e -> e.role == Role.KERNEL).toArray(Entry[]::new);
    this.biases = entries.stream().filter(e -> e.role == Role.BIAS).toArray(Entry[]::new);
    this.tables = entries.stream().filter(e -> e.role == Role.EMBEDDING).toArray(Entry[]::new);
  }

  /** The layout of dense layers with the given sizes: [input, hidden..., output]. */
  public static ParameterLayout dense(int[] sizes) {
    return of(sizes, new int[0][]);
  }

  /**
   * The layout of dense layers with the given sizes and embedding tables of shape
   * {@code tables[c] = (buckets, dim)}, placed right after the first kernel.
   */
  public static ParameterLayout of(int[] sizes, int[][] tables) {
    long total = 0;
    for (int l = 0; l + 1 < sizes.length; l++) total += ((long) sizes[l] + 1) * sizes[l + 1];
    for (int[] t : tables) total += (long) t[0] * t[1];
    if (total > MAX_PARAMETERS) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "network: expected at most %,d parameters (one float array), found %,d for the layer sizes %s%s;"
          + " use fewer inputs (e.g. fewer hashed features or buckets) or narrower layers", MAX_PARAMETERS, total,
          Arrays.toString(sizes), tables.length == 0 ? "" : " and embedding tables " + Arrays.deepToString(tables)));
    }
    List<Entry> list = new ArrayList<>();
    int off = 0;
    for (int l = 0; l + 1 < sizes.length; l++) {
      Entry w = new Entry("dense_" + l + "/kernel", l, Role.KERNEL, new int[] {sizes[l], sizes[l + 1]}, off);
      off = Math.addExact(off, w.size());
      list.add(w);
      if (l == 0) {
        for (int c = 0; c < tables.length; c++) {
          Entry t = new Entry("embedding_" + c + "/table", c, Role.EMBEDDING, tables[c], off);
          off = Math.addExact(off, t.size());
          list.add(t);
        }
      }
      Entry b = new Entry("dense_" + l + "/bias", l, Role.BIAS, new int[] {sizes[l + 1]}, off);
      off = Math.addExact(off, b.size());
      list.add(b);
    }
    return new ParameterLayout(list, off);
  }

  /** Total number of parameters. */
  public int size() {
    return size;
  }

  public List<Entry> entries() {
    return entries;
  }

  public Entry kernel(int layer) {
    return kernels[layer];
  }

  public Entry bias(int layer) {
    return biases[layer];
  }

  /** Embedding table {@code c}. */
  public Entry table(int c) {
    return tables[c];
  }

  /** How many embedding tables there are. */
  public int tables() {
    return tables.length;
  }

  /** Checks that {@code v} has this layout's size; {@code what} names the vector in the error. */
  public void check(float[] v, String what) {
    if (v.length != size) {
      throw new IllegalArgumentException(what + ": expected " + size + " values for layout "
          + this + ", found " + v.length);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParameterLayout && o.toString().equals(toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  @Override
  public String toString() {
    return entries.toString();
  }
}
