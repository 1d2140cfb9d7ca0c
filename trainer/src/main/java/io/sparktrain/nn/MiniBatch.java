package io.sparktrain.nn;

/**
 * Contiguous, reusable buffers for one mini-batch: features (rows x inputs, row-major), labels
 * (rows x label width) and optional per-row weights. Capacity grows on demand; {@link #rows}
 * says how many rows are in use.
 */
public final class MiniBatch {
  private final int inputs;
  private final int labelWidth;
  private float[] x = new float[0];
  private float[] y = new float[0];
  private float[] w;
  private int rows;

  public MiniBatch(int inputs, int labelWidth) {
    this.inputs = inputs;
    this.labelWidth = labelWidth;
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
      y = new float[n * labelWidth];
    }
    if (weighted && (w == null || w.length < n)) {
      w = new float[Math.max(n, x.length / Math.max(1, inputs))];
    }
    if (!weighted) {
      w = null;
    }
    rows = n;
  }

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
