package io.sparktrain.data;

import io.sparktrain.nn.MiniBatch;
import java.io.Serializable;
import java.util.Iterator;

/**
 * A partition's rows packed into primitive arrays: features (rows x inputs, row-major), labels
 * (rows x labelWidth: one class index per row, or the targets) and optional per-row weights.
 * Decoded once from a DataFrame and cached; every round iterates these arrays, never Rows.
 *
 * <p>Sparse features are kept in CSR form instead ({@link #sparse}): row pointers, int32 column
 * indices and float32 values, so the cached size grows with the nonzeros, not with the dimension.
 *
 * <p>Categorical columns ({@link #categorical()}, one embedding table each) are kept as bags of
 * bucket ids in CSR form over (row, column) pairs ({@link #catPtr()}, {@link #catIds()}), as in
 * {@link MiniBatch}. A block may then have no numeric features at all ({@code inputs == 0}).
 *
 * <p>A block of unlabeled rows (pretraining's data, decoded without a label column) has label width 0
 * and no labels; {@link #copyInputs} gathers rows without their labels.
 */
public final class Block implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int rows;
  private final int inputs;
  private final int labelWidth;
  private final float[] features;
  private final float[] labels;
  private final float[] weights;
  /** CSR row pointers (rows + 1) and column indices (nnz), or null for dense features. */
  private final int[] rowPtr;
  private final int[] cols;
  private int categorical;
  private int[] catPtr;
  private int[] catIds;

  /** Wraps the arrays (not copied); {@code weights} may be null (all 1). */
  public Block(int rows, int inputs, int labelWidth, float[] features, float[] labels, float[] weights) {
    if (rows < 0 || inputs < 0 || labelWidth < 0) {
      throw new IllegalArgumentException("block: expected rows >= 0, inputs >= 0, label width >= 0, found "
          + rows + ", " + inputs + ", " + labelWidth);
    }
    if (features.length != (long) rows * inputs || labels.length != (long) rows * labelWidth
        || (weights != null && weights.length != rows)) {
      throw new IllegalArgumentException("block of " + rows + " rows x " + inputs + " features: expected "
          + (long) rows * inputs + " feature, " + (long) rows * labelWidth + " label"
          + (weights != null ? " and " + rows + " weight" : "") + " values, found " + features.length
          + ", " + labels.length + (weights != null ? " and " + weights.length : ""));
    }
    this.rows = rows;
    this.inputs = inputs;
    this.labelWidth = labelWidth;
    this.features = features;
    this.labels = labels;
    this.weights = weights;
    this.rowPtr = null;
    this.cols = null;
  }

  private Block(int rows, int inputs, int labelWidth, int[] rowPtr, int[] cols, float[] values, float[] labels,
      float[] weights) {
    if (rows < 0 || inputs <= 0 || labelWidth < 0) {
      throw new IllegalArgumentException("block: expected rows >= 0, inputs > 0, label width >= 0, found "
          + rows + ", " + inputs + ", " + labelWidth);
    }
    if (rowPtr.length != rows + 1 || rowPtr[0] != 0 || rowPtr[rows] != values.length || cols.length != values.length
        || labels.length != (long) rows * labelWidth || (weights != null && weights.length != rows)) {
      throw new IllegalArgumentException("sparse block of " + rows + " rows: expected " + (rows + 1)
          + " row pointers from 0 to the value count, as many column indices as values, and "
          + (long) rows * labelWidth + " labels; found " + rowPtr.length + " row pointers, " + cols.length
          + " indices, " + values.length + " values, " + labels.length + " labels");
    }
    this.rows = rows;
    this.inputs = inputs;
    this.labelWidth = labelWidth;
    this.features = values;
    this.labels = labels;
    this.weights = weights;
    this.rowPtr = rowPtr;
    this.cols = cols;
  }

  /**
   * A block of sparse features in CSR form (arrays wrapped, not copied): row r's nonzeros are
   * {@code values[rowPtr[r] .. rowPtr[r+1])} at columns {@code cols[...]} (each below {@code inputs}).
   */
  public static Block sparse(int rows, int inputs, int labelWidth, int[] rowPtr, int[] cols, float[] values,
      float[] labels, float[] weights) {
    return new Block(rows, inputs, labelWidth, rowPtr, cols, values, labels, weights);
  }

  /**
   * This block with {@code k} categorical columns (arrays wrapped, not copied): the bucket ids of
   * row r's column c are {@code catIds[catPtr[r * k + c] .. catPtr[r * k + c + 1])}.
   */
  public Block withCategorical(int k, int[] catPtr, int[] catIds) {
    if (k < 0 || catPtr.length != rows * k + 1 || catPtr[0] != 0 || catPtr[rows * k] != catIds.length) {
      throw new IllegalArgumentException("block of " + rows + " rows x " + k + " categorical columns: expected "
          + (rows * k + 1) + " bag pointers from 0 to the id count " + catIds.length + ", found " + catPtr.length
          + (catPtr.length > 0 ? " ending at " + catPtr[catPtr.length - 1] : ""));
    }
    Block b = rowPtr != null ? new Block(rows, inputs, labelWidth, rowPtr, cols, features, labels, weights)
        : new Block(rows, inputs, labelWidth, features, labels, weights);
    b.categorical = k;
    b.catPtr = catPtr;
    b.catIds = catIds;
    return b;
  }

  /** Categorical columns per row (0 when there are none). */
  public int categorical() { return categorical; }
  /** Bag pointers of the categorical ids (rows x categorical + 1), or null without categorical columns. */
  public int[] catPtr() { return catPtr; }
  /** The categorical bucket ids, or null without categorical columns. */
  public int[] catIds() { return catIds; }

  /** An empty block (an empty partition). */
  public static Block empty(int inputs, int labelWidth, boolean weighted) {
    return new Block(0, inputs, labelWidth, new float[0], new float[0], weighted ? new float[0] : null);
  }

  /**
   * The single block of a partition's iterator. Drains the iterator, so that Spark's cache
   * releases its read lock on the partition.
   */
  public static Block only(Iterator<Block> it) {
    if (!it.hasNext()) {
      throw new IllegalStateException("partition: expected one decoded block, found none");
    }
    Block b = it.next();
    if (it.hasNext()) {
      throw new IllegalStateException("partition: expected one decoded block, found several");
    }
    return b;
  }

  public int rows() { return rows; }
  public int inputs() { return inputs; }
  public int labelWidth() { return labelWidth; }
  public boolean weighted() { return weights != null; }
  /** The packed features (dense: rows x inputs; sparse: the nonzero values); callers must not modify them. */
  public float[] features() { return features; }
  /** Whether the features are in CSR form ({@link #rowPtr}, {@link #cols}, values in {@link #features}). */
  public boolean isSparse() { return rowPtr != null; }
  /** CSR row pointers (rows + 1), or null for dense features. */
  public int[] rowPtr() { return rowPtr; }
  /** CSR column indices, or null for dense features. */
  public int[] cols() { return cols; }
  /** The packed labels; callers must not modify them. */
  public float[] labels() { return labels; }
  /** The weights or null; callers must not modify them. */
  public float[] weights() { return weights; }

  /**
   * Copies rows {@code order[from, to)} (rows {@code from..to} when {@code order} is null) into the
   * reusable mini-batch {@code mb}: features (dense rows or CSR), labels and weights.
   */
  public void copyRows(int[] order, int from, int to, MiniBatch mb) {
    if (rowPtr != null) {
      copySparseRows(order, from, to, mb);
    } else {
      copyDenseRows(order, from, to, mb);
    }
    if (categorical > 0) {
      copyCategorical(order, from, to, mb);
    }
  }

  /**
   * Copies the features and weights of rows {@code order[from, to)} into {@code mb}, and not their
   * labels: what a reconstruction run gathers (its targets are the features; {@code mb}'s labels are
   * left to the caller). Dense features only.
   */
  public void copyInputs(int[] order, int from, int to, MiniBatch mb) {
    if (rowPtr != null || categorical > 0) {
      throw new IllegalArgumentException("block: expected dense numeric features to copy without labels, found "
          + (rowPtr != null ? "sparse (CSR) features" : categorical + " categorical columns"));
    }
    if (mb.inputs() != inputs) {
      throw new IllegalArgumentException("mini-batch: expected " + inputs + " features per row (the block's), found "
          + mb.inputs());
    }
    int n = to - from;
    int d = inputs;
    mb.resize(n, weights != null);
    float[] x = mb.features();
    float[] w = mb.weights();
    for (int i = 0; i < n; i++) {
      int r = order == null ? from + i : order[from + i];
      System.arraycopy(features, r * d, x, i * d, d);
      if (w != null) {
        w[i] = weights[r];
      }
    }
  }

  private void copyCategorical(int[] order, int from, int to, MiniBatch mb) {
    int k = categorical;
    if (mb.categorical() != k) {
      throw new IllegalArgumentException("mini-batch: expected " + k + " categorical columns (the block's), found "
          + mb.categorical());
    }
    int ids = 0;
    for (int i = from; i < to; i++) {
      int r = order == null ? i : order[i];
      ids += catPtr[(r + 1) * k] - catPtr[r * k];
    }
    mb.resizeCategorical(ids);
    int[] ptr = mb.catPtr();
    int[] out = mb.catIds();
    int at = 0;
    ptr[0] = 0;
    for (int i = 0; i < to - from; i++) {
      int r = order == null ? from + i : order[from + i];
      int src = catPtr[r * k];
      int len = catPtr[(r + 1) * k] - src;
      System.arraycopy(catIds, src, out, at, len);
      for (int c = 1; c <= k; c++) ptr[i * k + c] = at + catPtr[r * k + c] - src;
      at += len;
    }
  }

  private void copyDenseRows(int[] order, int from, int to, MiniBatch mb) {
    int n = to - from;
    int d = inputs;
    int lw = labelWidth;
    mb.resize(n, weights != null);
    float[] x = mb.features();
    float[] y = mb.labels();
    float[] w = mb.weights();
    for (int i = 0; i < n; i++) {
      int r = order == null ? from + i : order[from + i];
      System.arraycopy(features, r * d, x, i * d, d);
      if (lw == 1) {
        y[i] = labels[r];
      } else {
        System.arraycopy(labels, r * lw, y, i * lw, lw);
      }
      if (w != null) {
        w[i] = weights[r];
      }
    }
  }

  private void copySparseRows(int[] order, int from, int to, MiniBatch mb) {
    int n = to - from;
    int lw = labelWidth;
    int nnz = 0;
    for (int i = 0; i < n; i++) {
      int r = order == null ? from + i : order[from + i];
      nnz += rowPtr[r + 1] - rowPtr[r];
    }
    mb.resizeSparse(n, nnz, weights != null);
    int[] ptr = mb.rowPtr();
    int[] out = mb.cols();
    float[] vals = mb.features();
    float[] y = mb.labels();
    float[] w = mb.weights();
    int at = 0;
    ptr[0] = 0;
    for (int i = 0; i < n; i++) {
      int r = order == null ? from + i : order[from + i];
      int len = rowPtr[r + 1] - rowPtr[r];
      System.arraycopy(cols, rowPtr[r], out, at, len);
      System.arraycopy(features, rowPtr[r], vals, at, len);
      at += len;
      ptr[i + 1] = at;
      System.arraycopy(labels, r * lw, y, i * lw, lw);
      if (w != null) {
        w[i] = weights[r];
      }
    }
  }

  /** Bytes held by the arrays. */
  public long sizeInBytes() {
    return 4L * (features.length + labels.length + (weights == null ? 0 : weights.length)
        + (rowPtr == null ? 0 : rowPtr.length + cols.length) + (catPtr == null ? 0 : catPtr.length + catIds.length));
  }
}
