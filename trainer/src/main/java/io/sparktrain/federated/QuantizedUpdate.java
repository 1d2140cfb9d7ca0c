package io.sparktrain.federated;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * An update compressed to 8 bits per value by unbiased stochastic quantization (QSGD-style random
 * rounding: Alistarh, Grubic, Li, Tomioka, Vojnovic 2017, "QSGD: Communication-Efficient SGD via
 * Gradient Quantization and Encoding", NeurIPS; here with per-chunk min/max scaling as in Suresh,
 * Yu, Kumar, McMahan 2017, "Distributed Mean Estimation with Limited Communication", ICML).
 *
 * <p>The vector is cut into chunks of {@code chunkSize} values. A chunk with minimum lo and maximum
 * hi has step = (hi - lo) / 255; x maps to level (x - lo) / step, rounded up with probability equal
 * to its fractional part and down otherwise, so E[dequantize] = x (up to float rounding) and the
 * error is below one step. The payload is one byte per value plus two floats (lo, step) per
 * chunk. The random rounding draws from a {@link SplittableRandom} of the given seed, so the same
 * (vector, seed) gives the same payload. Immutable; {@link #codes()} etc. return copies.
 */
public final class QuantizedUpdate implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Levels 0..255. */
  private static final int LEVELS = 255;

  private final int length;
  private final int chunkSize;
  private final byte[] codes;
  private final float[] mins;
  private final float[] steps;

  private QuantizedUpdate(int length, int chunkSize, byte[] codes, float[] mins, float[] steps) {
    this.length = length;
    this.chunkSize = chunkSize;
    this.codes = codes;
    this.mins = mins;
    this.steps = steps;
  }

  /** Quantizes {@code x} with one (min, step) per chunk of {@code chunkSize} values. */
  public static QuantizedUpdate quantize(float[] x, int chunkSize, long seed) {
    if (chunkSize <= 0) {
      throw new IllegalArgumentException("quantization chunk size: expected > 0, found " + chunkSize);
    }
    int chunks = (x.length + chunkSize - 1) / chunkSize;
    byte[] codes = new byte[x.length];
    float[] mins = new float[chunks];
    float[] steps = new float[chunks];
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int b = 0; b < chunks; b++) {
      int from = b * chunkSize;
      int to = Math.min(x.length, from + chunkSize);
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int i = from; i < to; i++) {
        float v = x[i];
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("quantize: non-finite value " + v + " at index " + i);
        }
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      double step = ((double) hi - lo) / LEVELS;
      mins[b] = lo;
      steps[b] = (float) step;
      if (steps[b] == 0) {
        continue; // constant chunk: every code 0 decodes to lo exactly
      }
      double inv = 1.0 / steps[b];
      for (int i = from; i < to; i++) {
        double level = (x[i] - (double) lo) * inv;
        double floor = Math.floor(level);
        int q = (int) floor + (rnd.nextDouble() < level - floor ? 1 : 0);
        codes[i] = (byte) Math.min(LEVELS, Math.max(0, q));
      }
    }
    return new QuantizedUpdate(x.length, chunkSize, codes, mins, steps);
  }

  /** Quantizes {@code x} as a single chunk (one min/max for the whole vector). */
  public static QuantizedUpdate quantize(float[] x, long seed) {
    return quantize(x, Math.max(1, x.length), seed);
  }

  /** The decoded vector: lo + code * step per value. */
  public float[] dequantize() {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      int b = i / chunkSize;
      out[i] = (float) (mins[b] + (double) (codes[i] & 0xFF) * steps[b]);
    }
    return out;
  }

  /** Payload size in bytes: one per value, plus 8 (two floats) per chunk. */
  public long compressedBytes() {
    return (long) codes.length + 8L * mins.length;
  }

  /** Size of the uncompressed float vector, 4 bytes per value. */
  public long uncompressedBytes() {
    return 4L * length;
  }

  public int length() { return length; }
  public int chunkSize() { return chunkSize; }
  /** The 8-bit codes (a copy; read as unsigned). */
  public byte[] codes() { return codes.clone(); }
  /** Per-chunk minimum (a copy). */
  public float[] mins() { return mins.clone(); }
  /** Per-chunk step (max - min) / 255 (a copy). */
  public float[] steps() { return steps.clone(); }
}
