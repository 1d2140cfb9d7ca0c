package io.sparktrain.federated;

import java.util.Arrays;

/**
 * Top-k sparsification: the k values of largest magnitude, with their indices; the rest are
 * sent as zero (Aji and Heafield 2017, "Sparse Communication for Distributed Gradient Descent",
 * EMNLP; Stich, Cordonnier, Jaggi 2018, "Sparsified SGD with Memory", NeurIPS, who pair it with
 * error feedback).
 *
 * <p>k = max(1, round(fraction n)), at most n. Ties at the k-th magnitude go to the lower index, so
 * the selection is a function of the vector alone and a retried task sends the identical bytes.
 * Biased, and a delta-compressor with delta = k / n: ||C(x) - x||^2 <= (1 - k / n) ||x||^2. The
 * payload is an int32 index and a float32 value per kept value, 8 k bytes (k is known to the server
 * from the fraction and n). Indices are ascending. Immutable.
 */
public final class TopKUpdate implements CompressedUpdate {
  private static final long serialVersionUID = 1L;

  private final int length;
  private final int[] indices;
  private final float[] values;

  private TopKUpdate(int length, int[] indices, float[] values) {
    this.length = length;
    this.indices = indices;
    this.values = values;
  }

  /** How many values top-k keeps of {@code n} at {@code fraction}: max(1, round(fraction n)), at most n. */
  public static int k(int n, double fraction) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("top-k fraction: expected 0 < k <= 1, found " + fraction);
    }
    return (int) Math.min(n, Math.max(1, Math.round(fraction * n)));
  }

  /** The {@link #k} values of {@code x} of largest magnitude (ties: lower index first). */
  public static TopKUpdate compress(float[] x, double fraction) {
    int n = x.length;
    int k = n == 0 ? 0 : k(n, fraction);
    float[] mag = new float[n];
    for (int i = 0; i < n; i++) {
      if (!Float.isFinite(x[i])) {
        throw new IllegalArgumentException("top-k: non-finite value " + x[i] + " at index " + i);
      }
      mag[i] = Math.abs(x[i]);
    }
    int[] idx = new int[k];
    float[] val = new float[k];
    if (k == 0) {
      return new TopKUpdate(n, idx, val);
    }
    float[] sorted = mag.clone();
    Arrays.sort(sorted);
    float t = sorted[n - k]; // the k-th largest magnitude
    int above = 0;
    for (float m : mag) above += m > t ? 1 : 0;
    int ties = k - above; // how many values equal to t are kept: the first ones
    int j = 0;
    for (int i = 0; i < n && j < k; i++) {
      if (mag[i] > t || (mag[i] == t && ties-- > 0)) {
        idx[j] = i;
        val[j] = x[i];
        j++;
      }
    }
    return new TopKUpdate(n, idx, val);
  }

  /** The decoded vector: the kept values at their indices, zeros elsewhere. */
  @Override
  public float[] decode() {
    float[] out = new float[length];
    for (int j = 0; j < indices.length; j++) out[indices[j]] = values[j];
    return out;
  }

  /** 8 bytes per kept value: an int32 index and a float32 value. */
  @Override
  public long payloadBytes() {
    return 8L * indices.length;
  }

  @Override
  public int length() { return length; }
  /** The kept indices, ascending (a copy). */
  public int[] indices() { return indices.clone(); }
  /** The kept values, in the order of {@link #indices()} (a copy). */
  public float[] values() { return values.clone(); }
}
