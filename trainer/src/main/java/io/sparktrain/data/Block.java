package io.sparktrain.data;

import java.io.Serializable;
import java.util.Iterator;

/**
 * A partition's rows packed into primitive arrays: features (rows x inputs, row-major), labels
 * (rows x labelWidth: one class index per row, or the targets) and optional per-row weights.
 * Decoded once from a DataFrame and cached; every round iterates these arrays, never Rows.
 */
public final class Block implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int rows;
  private final int inputs;
  private final int labelWidth;
  private final float[] features;
  private final float[] labels;
  private final float[] weights;

  /** Wraps the arrays (not copied); {@code weights} may be null (all 1). */
  public Block(int rows, int inputs, int labelWidth, float[] features, float[] labels, float[] weights) {
    if (rows < 0 || inputs <= 0 || labelWidth <= 0) {
      throw new IllegalArgumentException("block: expected rows >= 0, inputs > 0, label width > 0, found "
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
  }

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
  /** The packed features; callers must not modify them. */
  public float[] features() { return features; }
  /** The packed labels; callers must not modify them. */
  public float[] labels() { return labels; }
  /** The weights or null; callers must not modify them. */
  public float[] weights() { return weights; }

  /** Bytes held by the arrays. */
  public long sizeInBytes() {
    return 4L * (features.length + labels.length + (weights == null ? 0 : weights.length));
  }
}
