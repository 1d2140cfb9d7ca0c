package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * An element-wise (or, for softmax, row-wise) activation f in y = f(xW + b).
 *
 * <p>Immutable; {@code leaky_relu} carries its slope. {@link #parse} reads the names used in
 * configs: {@code identity, relu, leaky_relu, leaky_relu(0.1), sigmoid, tanh, gelu, softmax}.
 */
public final class Activation implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The kinds of activation. */
  public enum Kind { IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, GELU, SOFTMAX }

  public static final Activation IDENTITY = new Activation(Kind.IDENTITY, 0f);
  public static final Activation RELU = new Activation(Kind.RELU, 0f);
  public static final Activation SIGMOID = new Activation(Kind.SIGMOID, 0f);
  public static final Activation TANH = new Activation(Kind.TANH, 0f);
  public static final Activation GELU = new Activation(Kind.GELU, 0f);
  public static final Activation SOFTMAX = new Activation(Kind.SOFTMAX, 0f);

  /** Default negative slope of leaky ReLU, as in Keras' LeakyReLU (0.3 there; 0.01 in PyTorch). */
  public static final float DEFAULT_LEAKY_ALPHA = 0.01f;

  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);
  private static final float GELU_C = 0.044715f;

  private final Kind kind;
  private final float alpha;

  private Activation(Kind kind, float alpha) {
    this.kind = kind;
    this.alpha = alpha;
  }

  /** Leaky ReLU with negative slope {@code alpha} (0 <= alpha < 1). */
  public static Activation leakyRelu(float alpha) {
    if (!(alpha >= 0f && alpha < 1f)) {
      throw new IllegalArgumentException("leaky_relu alpha: expected 0 <= alpha < 1, found " + alpha);
    }
    return new Activation(Kind.LEAKY_RELU, alpha);
  }

  /** Parses {@code relu}, {@code leaky_relu}, {@code leaky_relu(0.2)}, ... (case-insensitive). */
  public static Activation parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("leaky_relu")) {
      String rest = s.substring("leaky_relu".length()).trim();
      if (rest.isEmpty()) {
        return leakyRelu(DEFAULT_LEAKY_ALPHA);
      }
      if (rest.startsWith("(") && rest.endsWith(")")) {
        try {
          return leakyRelu(Float.parseFloat(rest.substring(1, rest.length() - 1).trim()));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("activation '" + text + "': expected leaky_relu(<alpha>)");
        }
      }
    }
    switch (s) {
      case "identity": case "linear": return IDENTITY;
      case "relu": return RELU;
      case "sigmoid": return SIGMOID;
      case "tanh": return TANH;
      case "gelu": return GELU;
      case "softmax": return SOFTMAX;
      default:
        throw new IllegalArgumentException("activation '" + text
            + "': expected one of identity, relu, leaky_relu(alpha), sigmoid, tanh, gelu, softmax");
    }
  }

  public Kind kind() {
    return kind;
  }

  public float alpha() {
    return alpha;
  }

  /** True for the ReLU family, which gets He initialisation. */
  public boolean isReluFamily() {
    return kind == Kind.RELU || kind == Kind.LEAKY_RELU || kind == Kind.GELU;
  }

  /**
   * Applies f to {@code z[off, off + rows*cols)} (row-major), writing {@code a} at the same offsets.
   * {@code a} may be {@code z}.
   */
  public void forward(float[] z, float[] a, int off, int rows, int cols) {
    int n = rows * cols;
    switch (kind) {
      case IDENTITY:
        if (a != z) System.arraycopy(z, off, a, off, n);
        break;
      case RELU:
        // Math.max compiles to a branch-free (and vectorised) max; a branch here mispredicts on
        // real data, where about half the units are active in no predictable pattern. NaN stays NaN.
        for (int i = off; i < off + n; i++) a[i] = Math.max(z[i], 0f);
        break;
      case LEAKY_RELU:
        for (int i = off; i < off + n; i++) a[i] = z[i] > 0f ? z[i] : alpha * z[i];
        break;
      case SIGMOID:
        for (int i = off; i < off + n; i++) a[i] = sigmoid(z[i]);
        break;
      case TANH:
        for (int i = off; i < off + n; i++) a[i] = (float) Math.tanh(z[i]);
        break;
      case GELU:
        for (int i = off; i < off + n; i++) {
          float x = z[i];
          float t = (float) Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
          a[i] = 0.5f * x * (1f + t);
        }
        break;
      case SOFTMAX:
        for (int r = 0; r < rows; r++) softmaxRow(z, a, off + r * cols, cols);
        break;
      default:
        throw new AssertionError(kind);
    }
  }

  /**
   * Back-propagates through f: given z, a = f(z) and the upstream gradient {@code da}, writes
   * dL/dz into {@code dz} (which may be {@code da}).
   */
  public void backward(float[] z, float[] a, float[] da, float[] dz, int off, int rows, int cols) {
    int n = rows * cols;
    switch (kind) {
      case IDENTITY:
        if (dz != da) System.arraycopy(da, off, dz, off, n);
        break;
      case RELU:
        // dz = z > 0 ? da : 0 without a branch: the mask is all ones exactly when z's bits, read as
        // an int, are positive (z > 0 or a positive NaN), and zero for +0, -0 and negative z.
        for (int i = off; i < off + n; i++) {
          int b = Float.floatToRawIntBits(z[i]);
          dz[i] = Float.intBitsToFloat(Float.floatToRawIntBits(da[i]) & ((-b & ~b) >> 31));
        }
        break;
      case LEAKY_RELU:
        for (int i = off; i < off + n; i++) dz[i] = z[i] > 0f ? da[i] : alpha * da[i];
        break;
      case SIGMOID:
        for (int i = off; i < off + n; i++) dz[i] = da[i] * a[i] * (1f - a[i]);
        break;
      case TANH:
        for (int i = off; i < off + n; i++) dz[i] = da[i] * (1f - a[i] * a[i]);
        break;
      case GELU:
        for (int i = off; i < off + n; i++) {
          float x = z[i];
          float u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
          float t = (float) Math.tanh(u);
          float du = SQRT_2_OVER_PI * (1f + 3f * GELU_C * x * x);
          dz[i] = da[i] * (0.5f * (1f + t) + 0.5f * x * (1f - t * t) * du);
        }
        break;
      case SOFTMAX:
        // Jacobian-vector product of softmax: dz = a * (da - sum(da * a)).
        for (int r = 0; r < rows; r++) {
          int base = off + r * cols;
          double dot = 0;
          for (int j = 0; j < cols; j++) dot += (double) da[base + j] * a[base + j];
          for (int j = 0; j < cols; j++) dz[base + j] = a[base + j] * (float) (da[base + j] - dot);
        }
        break;
      default:
        throw new AssertionError(kind);
    }
  }

  /** Numerically stable logistic function. */
  public static float sigmoid(float z) {
    if (z >= 0f) {
      return (float) (1.0 / (1.0 + Math.exp(-z)));
    }
    double e = Math.exp(z);
    return (float) (e / (1.0 + e));
  }

  /** Softmax of one row, shifted by its maximum so that exp never overflows. */
  static void softmaxRow(float[] z, float[] a, int base, int cols) {
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < cols; j++) max = Math.max(max, z[base + j]);
    double sum = 0;
    for (int j = 0; j < cols; j++) {
      float e = (float) Math.exp(z[base + j] - max);
      a[base + j] = e;
      sum += e;
    }
    float inv = (float) (1.0 / sum);
    for (int j = 0; j < cols; j++) a[base + j] *= inv;
  }

  @Override
  public String toString() {
    return kind == Kind.LEAKY_RELU ? "leaky_relu(" + alpha + ")" : kind.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Activation && ((Activation) o).kind == kind && ((Activation) o).alpha == alpha;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, alpha);
  }
}
