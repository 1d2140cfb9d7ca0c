package io.sparktrain.data;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;

/**
 * Standardization that lives inside a model: a plain per-feature shift and scale, applied as
 * {@code x'[j] = (x[j] - shift[j]) * scale[j]} before the first layer (an ONNX export is a Sub and a
 * Mul in front of the network).
 *
 * <p>{@link TrainingData#fitScaling} computes the feature means and variances in one distributed pass
 * over the decoded blocks ({@link Moments}: per partition an exact two-pass mean and sum of squared
 * deviations in double, merged with Chan et al.'s pairwise rule), row-weighted (example weights do
 * not enter), population variance (divided by n, as scikit-learn's StandardScaler).
 * {@code scale = 1/std}, and 1 for a feature of zero variance.
 *
 * <p><b>Sparse (CSR) data is scaled by its largest magnitude, not centred</b> (scikit-learn's
 * {@code MaxAbsScaler}, which it recommends for sparse data): {@code shift} is all 0, since
 * subtracting the mean would turn every zero into a nonzero, and {@code scale} is 1/max|x|, so every
 * feature lies in [-1, 1] and zeros stay zeros. Not 1/std: a term that occurs in one row of n has a
 * standard deviation of about sqrt(1/n), and 1/std would multiply it by about 200 on 40,000 rows (on
 * the hashed-text benchmark of docs/BENCHMARKS.md that cost 25 points of accuracy). One sparse
 * partition is enough for the whole model to be scaled this way.
 *
 * <p>This class uses no Spark type, so that a model's scaling is applied the same way by
 * {@code transform} and by the Spark-free {@code io.sparktrain.serve.Predictor}; the distributed
 * fit lives in {@link TrainingData}.
 */
public final class InputScaling implements Serializable {
  private static final long serialVersionUID = 1L;

  private final float[] shift;
  private final float[] scale;

  /** A scaling of {@code shift.length} features (arrays copied). */
  public InputScaling(float[] shift, float[] scale) {
    if (shift.length != scale.length || shift.length == 0) {
      throw new IllegalArgumentException("input scaling: expected as many shifts as scales (> 0), found "
          + shift.length + " and " + scale.length);
    }
    for (int j = 0; j < scale.length; j++) {
      if (!Float.isFinite(shift[j]) || !Float.isFinite(scale[j]) || scale[j] == 0f) {
        throw new IllegalArgumentException("input scaling: expected finite shifts and finite nonzero scales, found"
            + " shift " + shift[j] + ", scale " + scale[j] + " at feature " + j);
      }
    }
    this.shift = shift.clone();
    this.scale = scale.clone();
  }

  /** Features. */
  public int size() {
    return shift.length;
  }

  /** The per-feature shift (the training mean, or 0 for sparse data); a copy. */
  public float[] shift() {
    return shift.clone();
  }

  /** The per-feature factor applied after the shift (1/std, or 1 for zero variance); a copy. */
  public float[] scale() {
    return scale.clone();
  }

  /** The shifts of {@code s}, or {@code d} zeros when there is no scaling (null): a copy either way. */
  public static float[] shiftsOf(InputScaling s, int d) {
    return s == null ? new float[d] : s.shift();
  }

  /** The scales of {@code s}, or {@code d} ones when there is no scaling (null): a copy either way. */
  public static float[] scalesOf(InputScaling s, int d) {
    if (s != null) {
      return s.scale();
    }
    float[] ones = new float[d];
    Arrays.fill(ones, 1f);
    return ones;
  }

  /** Whether the shift is all zero (scale only, as for sparse data). */
  public boolean scaleOnly() {
    for (float s : shift) {
      if (s != 0f) {
        return false;
      }
    }
    return true;
  }

  /** Scales {@code rows} dense rows of {@code size()} features in {@code x} in place, from {@code off}. */
  public void applyDense(float[] x, int off, int rows) {
    int d = shift.length;
    for (int r = 0; r < rows; r++) {
      int base = off + r * d;
      for (int j = 0; j < d; j++) {
        x[base + j] = (x[base + j] - shift[j]) * scale[j];
      }
    }
  }

  /** Scales CSR values {@code vals[0, nnz)} at columns {@code cols} in place (scale only: zeros stay zeros). */
  public void applySparse(int[] cols, float[] vals, int nnz) {
    for (int k = 0; k < nnz; k++) {
      vals[k] *= scale[cols[k]];
    }
  }

  /** A copy of {@code b} with scaled features (dense: shift and scale; CSR: scale only). */
  public Block apply(Block b) {
    if (b.inputs() != shift.length && b.rows() > 0) {
      throw new InvalidInputException("features: expected " + shift.length + " values per row (the input scaling's"
          + " width), found " + b.inputs());
    }
    float[] x = b.features().clone();
    Block out;
    if (b.isSparse()) {
      applySparse(b.cols(), x, x.length);
      out = Block.sparse(b.rows(), b.inputs(), b.labelWidth(), b.rowPtr(), b.cols(), x, b.labels(), b.weights());
    } else {
      applyDense(x, 0, b.rows());
      out = new Block(b.rows(), b.inputs(), b.labelWidth(), x, b.labels(), b.weights());
    }
    return b.categorical() == 0 ? out : out.withCategorical(b.categorical(), b.catPtr(), b.catIds());
  }

  /** Per-feature moments of some rows: count, mean and the sum of squared deviations (M2). */
  public static final class Moments implements Serializable {
    private static final long serialVersionUID = 1L;
    long n;
    double[] mean;
    double[] m2;
    double[] maxAbs;
    boolean sparse;

    /** No rows yet. */
    public Moments() {
    }

    /** The moments of one block's rows (implicit CSR zeros included), exact two-pass within the block. */
    public static Moments of(Block b) {
      Moments m = new Moments();
      int rows = b.rows();
      if (rows == 0) {
        return m;
      }
      int d = b.inputs();
      double[] mean = new double[d];
      double[] m2 = new double[d];
      double[] maxAbs = new double[d];
      float[] x = b.features();
      if (b.isSparse()) {
        int[] cols = b.cols();
        for (int k = 0; k < x.length; k++) maxAbs[cols[k]] = Math.max(maxAbs[cols[k]], Math.abs(x[k]));
        for (int k = 0; k < x.length; k++) mean[cols[k]] += x[k];
        for (int j = 0; j < d; j++) mean[j] /= rows;
        // Sum over the zeros too: (0 - mean)^2 for each row without a nonzero in the column.
        int[] nnzPerCol = new int[d];
        for (int k = 0; k < x.length; k++) {
          double dev = x[k] - mean[cols[k]];
          m2[cols[k]] += dev * dev;
          nnzPerCol[cols[k]]++;
        }
        for (int j = 0; j < d; j++) m2[j] += (double) (rows - nnzPerCol[j]) * mean[j] * mean[j];
      } else {
        for (int r = 0; r < rows; r++) {
          int base = r * d;
          for (int j = 0; j < d; j++) {
            mean[j] += x[base + j];
            maxAbs[j] = Math.max(maxAbs[j], Math.abs(x[base + j]));
          }
        }
        for (int j = 0; j < d; j++) mean[j] /= rows;
        for (int r = 0; r < rows; r++) {
          int base = r * d;
          for (int j = 0; j < d; j++) {
            double dev = x[base + j] - mean[j];
            m2[j] += dev * dev;
          }
        }
      }
      m.n = rows;
      m.mean = mean;
      m.m2 = m2;
      m.maxAbs = maxAbs;
      m.sparse = b.isSparse();
      return m;
    }

    /** Merges {@code o} into this (Chan et al.), and returns this; either side may be empty. */
    public Moments merge(Moments o) {
      sparse |= o.sparse;
      if (o.n == 0) {
        return this;
      }
      if (n == 0) {
        n = o.n;
        mean = o.mean.clone();
        m2 = o.m2.clone();
        maxAbs = o.maxAbs.clone();
        return this;
      }
      if (o.mean.length != mean.length) {
        throw new InvalidInputException("features: vectors of different sizes: " + mean.length + " and "
            + o.mean.length);
      }
      long total = n + o.n;
      for (int j = 0; j < mean.length; j++) {
        double delta = o.mean[j] - mean[j];
        mean[j] += delta * o.n / total;
        m2[j] += o.m2[j] + delta * delta * ((double) n * o.n / total);
        maxAbs[j] = Math.max(maxAbs[j], o.maxAbs[j]);
      }
      n = total;
      return this;
    }

    /** Rows. */
    public long count() { return n; }
    /** Per-feature means (a copy). */
    public double[] mean() { return mean.clone(); }
    /** Per-feature population variances (M2 / n). */
    public double[] variance() {
      double[] v = new double[m2.length];
      for (int j = 0; j < v.length; j++) v[j] = m2[j] / n;
      return v;
    }
    /** Per-feature largest magnitude (a copy). */
    public double[] maxAbs() { return maxAbs.clone(); }
    /** Whether any of the merged rows were in CSR form. */
    public boolean sparse() { return sparse; }
  }

  /**
   * The scaling of moments {@code m}: dense, shift = mean and scale = 1/std (1 for zero variance);
   * sparse, shift = 0 and scale = 1/max|x| (1 for an all-zero feature).
   */
  public static InputScaling of(Moments m) {
    double[] mean = m.mean();
    double[] var = m.variance();
    double[] maxAbs = m.maxAbs();
    float[] shift = new float[mean.length];
    float[] scale = new float[mean.length];
    for (int j = 0; j < mean.length; j++) {
      shift[j] = m.sparse() ? 0f : (float) mean[j];
      double spread = m.sparse() ? maxAbs[j] : Math.sqrt(var[j]);
      float s = spread > 0 ? (float) (1.0 / spread) : 1f;
      scale[j] = Float.isFinite(s) && s != 0f ? s : 1f;
    }
    return new InputScaling(shift, scale);
  }

  /** A compact text form (Base64 of the floats), for checkpoint extras; {@link #decode} reads it. */
  public String encode() {
    ByteBuffer buf = ByteBuffer.allocate(4 + 8 * shift.length);
    buf.putInt(shift.length);
    for (float v : shift) buf.putFloat(v);
    for (float v : scale) buf.putFloat(v);
    return Base64.getEncoder().encodeToString(buf.array());
  }

  /** Reads {@link #encode}'s form. */
  public static InputScaling decode(String s) {
    ByteBuffer buf = ByteBuffer.wrap(Base64.getDecoder().decode(s));
    int d = buf.getInt();
    float[] shift = new float[d];
    float[] scale = new float[d];
    for (int j = 0; j < d; j++) shift[j] = buf.getFloat();
    for (int j = 0; j < d; j++) scale[j] = buf.getFloat();
    return new InputScaling(shift, scale);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InputScaling && Arrays.equals(shift, ((InputScaling) o).shift)
        && Arrays.equals(scale, ((InputScaling) o).scale);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shift) + Arrays.hashCode(scale);
  }

  @Override
  public String toString() {
    return "InputScaling(" + shift.length + " features" + (scaleOnly() ? ", scale only" : "") + ")";
  }
}
