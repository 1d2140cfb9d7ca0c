package io.sparktrain.linalg;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Which rows of a {@link RowSpace} of a flat vector are nonzero: the immutable, serializable
 * companion of {@link RowSet}, carried by an update whose sparse first layer's kernel and embedding
 * tables only have the rows its mini-batches touched. Rows are sorted and unique.
 *
 * <p>{@link #write} and {@link #read} put such a vector on the wire as its listed rows plus the dense
 * rest when that is smaller than the whole vector, and whole otherwise: the receiver gets the same
 * dense vector back either way.
 */
public final class RowSlice implements Serializable {
  private static final long serialVersionUID = 1L;

  private final RowSpace space;
  private final int[] rows;

  /** A slice of one segment ({@code rowCount} rows of {@code width} at {@code offset}) listing {@code rows}. */
  public RowSlice(int offset, int rowCount, int width, int[] rows) {
    this(RowSpace.of(offset, rowCount, width), rows);
  }

  /** A slice of {@code space} listing {@code rows} (sorted ascending, unique; not copied). */
  public RowSlice(RowSpace space, int[] rows) {
    this.space = space;
    this.rows = rows;
  }

  /** The rows of {@code set} (sorted here; the set is sorted as a side effect). */
  public static RowSlice of(RowSet set) {
    set.sort();
    return new RowSlice(set.space(), Arrays.copyOf(set.ids(), set.size()));
  }

  public RowSpace space() { return space; }
  public int offset() { return space.offset(); }
  public int rowCount() { return space.rowCount(); }
  /** The sorted row ids (not a copy). */
  public int[] rows() { return rows; }
  public int end() { return space.end(); }

  /** A {@link RowSet} with these rows. */
  public RowSet toRowSet() {
    RowSet s = new RowSet(space);
    s.addAll(rows, 0, rows.length);
    return s;
  }

  /** Whether {@code other} covers the same rows of the same vector. */
  public boolean sameSlice(RowSlice other) {
    return other.space.equals(space);
  }

  /** Floats the listed rows take. */
  private long listedFloats() {
    long n = 0;
    for (int r : rows) n += space.width(r);
    return n;
  }

  /** The sorted union of both row lists (same slice). */
  public RowSlice union(RowSlice other) {
    if (!sameSlice(other)) {
      throw new IllegalArgumentException("row slice union: expected the slice " + this + ", found " + other);
    }
    int[] a = rows;
    int[] b = other.rows;
    int[] u = new int[a.length + b.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < a.length || j < b.length) {
      int next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
      if (i < a.length && a[i] == next) i++;
      if (j < b.length && b[j] == next) j++;
      u[n++] = next;
    }
    return new RowSlice(space, Arrays.copyOf(u, n));
  }

  /** Adds {@code src}'s listed rows and its dense rest into {@code dst} (same layout). */
  public void addInto(float[] src, float[] dst) {
    for (int i = 0; i < offset(); i++) dst[i] += src[i];
    for (int i = end(); i < src.length; i++) dst[i] += src[i];
    for (int r : rows) {
      int at = space.start(r);
      for (int j = at, e = at + space.width(r); j < e; j++) dst[j] += src[j];
    }
  }

  /** Bytes a vector of {@code total} floats takes on the wire with these rows ({@link #write}), data only. */
  public long sparseBytes(int total) {
    return 4L * (rows.length + listedFloats()) + 4L * (total - space.floats());
  }

  /** Whether writing the vector row-sparse is smaller than writing it whole. */
  public boolean smaller(int total) {
    return sparseBytes(total) < 4L * total;
  }

  /** Bytes {@code v} takes on the wire with {@code slice} (null: whole). */
  public static long wireBytes(float[] v, RowSlice slice) {
    return slice != null && slice.smaller(v.length) ? slice.sparseBytes(v.length) : 4L * v.length;
  }

  /** {@code v}'s listed rows, then everything before the slice, then everything after it: a new array. */
  public float[] pack(float[] v) {
    float[] packed = new float[Math.toIntExact(listedFloats() + v.length - space.floats())];
    int n = 0;
    for (int r : rows) {
      int w = space.width(r);
      System.arraycopy(v, space.start(r), packed, n, w);
      n += w;
    }
    System.arraycopy(v, 0, packed, n, offset());
    n += offset();
    System.arraycopy(v, end(), packed, n, v.length - end());
    return packed;
  }

  /** Writes what {@link #pack} packed into {@code v}'s listed rows and outside its slice; other rows stay. */
  public void unpack(float[] packed, float[] v) {
    int n = 0;
    for (int r : rows) {
      int w = space.width(r);
      System.arraycopy(packed, n, v, space.start(r), w);
      n += w;
    }
    System.arraycopy(packed, n, v, 0, offset());
    n += offset();
    System.arraycopy(packed, n, v, end(), v.length - end());
  }

  /** Writes {@code v}: its listed rows and dense rest when {@code slice} says that is smaller, else whole. */
  public static void write(ObjectOutputStream out, float[] v, RowSlice slice) throws IOException {
    boolean sparse = v != null && slice != null && slice.smaller(v.length);
    out.writeBoolean(sparse);
    if (!sparse) {
      out.writeObject(v);
      return;
    }
    out.writeObject(slice);
    out.writeInt(v.length);
    out.writeObject(slice.pack(v));
  }

  /** Reads what {@link #write} wrote: the dense vector (rows outside the slice's list are 0). */
  public static float[] read(ObjectInputStream in) throws IOException, ClassNotFoundException {
    if (!in.readBoolean()) {
      return (float[]) in.readObject();
    }
    RowSlice slice = (RowSlice) in.readObject();
    float[] v = new float[in.readInt()];
    slice.unpack((float[]) in.readObject(), v);
    return v;
  }

  @Override
  public String toString() {
    return "RowSlice(" + rows.length + " of " + space + ")";
  }
}
