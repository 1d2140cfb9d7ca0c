package io.sparktrain.nn;

/**
 * Contiguous, reusable buffers for one mini-batch: features (rows x inputs, row-major), labels
 * (rows x label width) and optional per-row weights. Capacity grows on demand; {@link #rows}
 * says how many rows are in use.
 *
 * <p>Categorical inputs ({@link #categorical()} columns, one embedding table each) are bags of
 * bucket ids in CSR form over (row, column) pairs: the ids of row r's column c are
 * {@code catIds[catPtr[r * categorical + c] .. catPtr[r * categorical + c + 1])}.
 */
public final class MiniBatch {
  private final int inputs;
  private final int labelWidth;
  private float[] x = new float[0];
  private float[] y = new float[0];
  private float[] w;
  private int rows;
  /** CSR features: row pointers and column indices (values in x), in use while {@code sparse}. */
  private int[] ptrBuf = new int[0];
  private int[] colBuf = new int[0];
  private boolean sparse;
  private final int categorical;
  private int[] catPtr = new int[1];
  private int[] catIds = new int[0];

  public MiniBatch(int inputs, int labelWidth) {
    this(inputs, labelWidth, 0);
  }

  /** A batch with {@code categorical} categorical columns besides the numeric features. */
  public MiniBatch(int inputs, int labelWidth, int categorical) {
    this.inputs = inputs;
    this.labelWidth = labelWidth;
    this.categorical = categorical;
  }

  /** Wraps existing arrays (not copied). {@code weights} may be null. */
  public static MiniBatch wrap(int inputs, int labelWidth, float[] x, float[] y, float[] weights, int rows) {
    MiniBatch b = new MiniBatch(inputs, labelWidth);
    if (x.length < (long) rows * inputs || y.length < (long) rows * labelWidth
        || (weights != null && weights.length < rows)) {
      throw new IllegalArgumentException("mini-batch of " + rows + " rows: expected at least "
          + (long) rows * inputs + " feature and " + (long) rows * labelWidth + " label values, found "
          + x.length + " and " + y.length);
    }
    b.x = x;
    b.y = y;
    b.w = weights;
    b.rows = rows;
    return b;
  }

  /** Makes room for {@code n} rows and sets the row count; contents are undefined. */
  public void resize(int n, boolean weighted) {
    if (x.length < n * inputs) {
      x = new float[n * inputs];
    }
    if (y.length < n * labelWidth) {
      y = new float[n * labelWidth];
    }
    if (weighted && (w == null || w.length < n)) {
      w = new float[Math.max(n, x.length / Math.max(1, inputs))];
    }
    if (!weighted) {
      w = null;
    }
    rows = n;
    sparse = false;
  }

  /**
   * Makes room for {@code n} rows of sparse (CSR) features with {@code nnz} nonzeros and sets the
   * row count; {@link #features()} then holds the values, {@link #rowPtr()} and {@link #cols()} the
   * structure. Contents are undefined.
   */
  public void resizeSparse(int n, int nnz, boolean weighted) {
    if (x.length < nnz) {
      x = new float[nnz];
    }
    if (y.length < n * labelWidth) {
      y = new float[n * labelWidth];
    }
    if (colBuf.length < nnz) {
      colBuf = new int[nnz];
    }
    if (ptrBuf.length < n + 1) {
      ptrBuf = new int[n + 1];
    }
    w = weighted ? (w != null && w.length >= n ? w : new float[n]) : null;
    rows = n;
    sparse = true;
  }

  /**
   * Makes room for the categorical ids of the current {@link #rows} rows: {@code ids} ids in all.
   * Contents are undefined; the caller fills {@link #catPtr()} (rows x categorical + 1 entries,
   * from 0) and {@link #catIds()}.
   */
  public void resizeCategorical(int ids) {
    int n = rows * categorical + 1;
    if (catPtr.length < n) {
      catPtr = new int[n];
    }
    if (catIds.length < ids) {
      catIds = new int[ids];
    }
  }

  /** Categorical columns per row (embedding tables of the network). */
  public int categorical() { return categorical; }
  /** Bag pointers of the categorical ids (rows x categorical + 1 valid entries). */
  public int[] catPtr() { return catPtr; }
  /** The categorical bucket ids. */
  public int[] catIds() { return catIds; }

  /** Whether the features are sparse (CSR). */
  public boolean isSparse() { return sparse; }
  /** CSR row pointers (at least rows + 1), or null when dense. */
  public int[] rowPtr() { return sparse ? ptrBuf : null; }
  /** CSR column indices, or null when dense. */
  public int[] cols() { return sparse ? colBuf : null; }

  public int inputs() { return inputs; }
  public int labelWidth() { return labelWidth; }
  public int rows() { return rows; }
  public float[] features() { return x; }
  public float[] labels() { return y; }
  /** Per-row weights, or null when all are 1. */
  public float[] weights() { return w; }

  /** Sum of the row weights (rows when unweighted). */
  public double weightSum() {
    if (w == null) {
      return rows;
    }
    double s = 0;
    for (int i = 0; i < rows; i++) s += w[i];
    return s;
  }
}
