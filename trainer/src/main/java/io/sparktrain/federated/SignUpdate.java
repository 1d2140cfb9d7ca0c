package io.sparktrain.federated;

/**
 * Scaled sign compression: one bit per value (its sign) and one scale per chunk, the chunk's mean
 * absolute value, so a chunk x_c of d_c values decodes to (||x_c||_1 / d_c) sign(x_c): the
 * compressor of Karimireddy, Rebjock, Stich, Jaggi 2019, "Error Feedback Fixes SignSGD and other
 * Gradient Compression Schemes", ICML (EF-SignSGD, Algorithm 2), applied per chunk.
 *
 * <p>Biased (E[C(x)] != x) but a delta-compressor: ||C(x) - x||^2 = ||x||^2 - sum_c ||x_c||_1^2 / d_c
 * <= (1 - 1/d_c) ||x||^2, so with error feedback the sum of what was sent tracks the sum of the true
 * deltas; without it, it does not. Deterministic (no seed). Zero encodes as +. The payload is
 * ceil(n / 8) bytes of signs plus one float per chunk. Immutable.
 */
public final class SignUpdate implements CompressedUpdate {
  private static final long serialVersionUID = 1L;

  private final int length;
  private final int chunkSize;
  /** Bit i % 8 of byte i / 8 set = value i is negative. */
  private final byte[] negative;
  private final float[] scales;

  private SignUpdate(int length, int chunkSize, byte[] negative, float[] scales) {
    this.length = length;
    this.chunkSize = chunkSize;
    this.negative = negative;
    this.scales = scales;
  }

  /** The signs of {@code x} and, per chunk of {@code chunkSize} values, their mean absolute value. */
  public static SignUpdate compress(float[] x, int chunkSize) {
    if (chunkSize <= 0) {
      throw new IllegalArgumentException("sign compression chunk size: expected > 0, found " + chunkSize);
    }
    int chunks = (x.length + chunkSize - 1) / chunkSize;
    byte[] negative = new byte[(x.length + 7) / 8];
    float[] scales = new float[chunks];
    for (int b = 0; b < chunks; b++) {
      int from = b * chunkSize;
      int to = Math.min(x.length, from + chunkSize);
      double l1 = 0;
      for (int i = from; i < to; i++) {
        float v = x[i];
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("sign compression: non-finite value " + v + " at index " + i);
        }
        l1 += Math.abs(v);
        if (v < 0) {
          negative[i >>> 3] |= (byte) (1 << (i & 7));
        }
      }
      scales[b] = (float) (l1 / (to - from));
    }
    return new SignUpdate(x.length, chunkSize, negative, scales);
  }

  /** The decoded vector: +-scale of the value's chunk. */
  @Override
  public float[] decode() {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      float s = scales[i / chunkSize];
      out[i] = (negative[i >>> 3] >>> (i & 7) & 1) != 0 ? -s : s;
    }
    return out;
  }

  /** ceil(n / 8) bytes of signs plus 4 (one float) per chunk. */
  @Override
  public long payloadBytes() {
    return payloadBytes(length, chunkSize);
  }

  static long payloadBytes(int length, int chunkSize) {
    long chunks = (length + (long) chunkSize - 1) / chunkSize;
    return (length + 7L) / 8 + 4L * chunks;
  }

  @Override
  public int length() { return length; }
  public int chunkSize() { return chunkSize; }
  /** Per-chunk scale, the chunk's mean |x| (a copy). */
  public float[] scales() { return scales.clone(); }
}
