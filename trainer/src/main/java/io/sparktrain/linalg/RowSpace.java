package io.sparktrain.linalg;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The rows of a contiguous region of a flat vector that may be stepped and shipped row by row: one
 * or more row-major segments laid end to end, segment {@code s} holding {@code rows[s]} rows of
 * {@code widths[s]} floats. Rows are numbered across the segments (segment 0's rows first), so one
 * int names a row of any segment.
 *
 * <p>A sparse first layer has one segment, its kernel (inputs x units). A network with embedding
 * tables adds a segment per table (buckets x dim) right after that kernel: the touched rows of the
 * kernel and of every table are then one {@link RowSet}, one {@link RowSlice} on the wire, and one
 * loop in a lazy optimizer. Everything outside {@code [offset, end)} is the dense rest.
 */
public final class RowSpace implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int offset;
  /** First row id of each segment, and the total row count last (segments + 1 entries). */
  private final int[] firstRow;
  /** Where each segment starts in the flat vector. */
  private final int[] start;
  private final int[] widths;
  private final int end;

  private RowSpace(int offset, int[] rows, int[] widths) {
    if (offset < 0 || rows.length == 0 || rows.length != widths.length) {
      throw new IllegalArgumentException("row space: expected offset >= 0 and one width per segment, found offset "
          + offset + ", " + rows.length + " segments and " + widths.length + " widths");
    }
    this.offset = offset;
    this.widths = widths.clone();
    this.firstRow = new int[rows.length + 1];
    this.start = new int[rows.length];
    long at = offset;
    for (int s = 0; s < rows.length; s++) {
      if (rows[s] <= 0 || widths[s] <= 0) {
        throw new IllegalArgumentException("row space segment " + s + ": expected rows > 0 and width > 0, found "
            + rows[s] + " and " + widths[s]);
      }
      start[s] = (int) at;
      firstRow[s + 1] = Math.addExact(firstRow[s], rows[s]);
      at += (long) rows[s] * widths[s];
      if (at > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("row space: expected at most " + Integer.MAX_VALUE + " floats, found "
            + at);
      }
    }
    this.end = (int) at;
  }

  /** One segment: {@code rows} rows of {@code width} floats at {@code offset}. */
  public static RowSpace of(int offset, int rows, int width) {
    return new RowSpace(offset, new int[] {rows}, new int[] {width});
  }

  /** Segments laid end to end from {@code offset}: {@code rows[s]} rows of {@code widths[s]} floats. */
  public static RowSpace of(int offset, int[] rows, int[] widths) {
    return new RowSpace(offset, rows, widths);
  }

  public int offset() { return offset; }
  /** The region's end (exclusive) in the flat vector. */
  public int end() { return end; }
  /** Floats in the region. */
  public int floats() { return end - offset; }
  /** Rows over all segments. */
  public int rowCount() { return firstRow[firstRow.length - 1]; }
  public int segments() { return widths.length; }
  /** The first row id of segment {@code s}. */
  public int firstRow(int s) { return firstRow[s]; }
  /** Rows of segment {@code s}. */
  public int rows(int s) { return firstRow[s + 1] - firstRow[s]; }
  /** The row width of segment {@code s}. */
  public int segmentWidth(int s) { return widths[s]; }
  /** Where segment {@code s} starts in the flat vector. */
  public int segmentStart(int s) { return start[s]; }

  /** The segment of {@code row}. */
  public int segment(int row) {
    if (widths.length == 1) {
      return 0;
    }
    int s = Arrays.binarySearch(firstRow, row);
    return s >= 0 ? s : -s - 2;
  }

  /** Where {@code row} starts in the flat vector. */
  public int start(int row) {
    if (widths.length == 1) {
      return offset + row * widths[0];
    }
    int s = segment(row);
    return start[s] + (row - firstRow[s]) * widths[s];
  }

  /** The width of {@code row}. */
  public int width(int row) {
    return widths.length == 1 ? widths[0] : widths[segment(row)];
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RowSpace)) {
      return false;
    }
    RowSpace r = (RowSpace) o;
    return r.offset == offset && Arrays.equals(r.firstRow, firstRow) && Arrays.equals(r.widths, widths);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * offset + Arrays.hashCode(firstRow)) + Arrays.hashCode(widths);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (int s = 0; s < widths.length; s++) {
      sb.append(s == 0 ? "" : " + ").append(rows(s)).append(" x ").append(widths[s]);
    }
    return sb.append(" at ").append(offset).toString();
  }
}
