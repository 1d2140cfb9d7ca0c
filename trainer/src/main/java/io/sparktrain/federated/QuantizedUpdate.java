package io.sparktrain.federated;

import java.util.SplittableRandom;

/**
 * An update compressed to b bits per value (b = 8, 4 or 2) by unbiased stochastic quantization
 * (QSGD-style random rounding: Alistarh, Grubic, Li, Tomioka, Vojnovic 2017, "QSGD:
 * Communication-Efficient SGD via Gradient Quantization and Encoding", NeurIPS; here with per-chunk
 * min/max scaling as in Suresh, Yu, Kumar, McMahan 2017, "Distributed Mean Estimation with Limited
 * Communication", ICML).
 *
 * <p>The vector is cut into chunks of {@code chunkSize} values. A chunk with minimum lo and maximum
 * hi has step = (hi - lo) / (2^b - 1); x maps to level (x - lo) / step, rounded up with probability
 * equal to its fractional part f and down otherwise, so E[dequantize] = x (up to float rounding),
 * the error is below one step and its variance is step^2 f (1 - f) <= step^2 / 4 per value. The
 * codes are bit-packed, b bits per value, low bits first within a byte; the payload is
 * ceil(n b / 8) bytes plus two floats (lo, step) per chunk. The random rounding draws from a
 * {@link SplittableRandom} of the given seed, so the same (vector, bits, chunk size, seed) gives the
 * same payload. At 8 bits this is exactly sparktrain's original int8 quantization (same draws, same
 * codes). Immutable; {@link #codes()} etc. return copies.
 */
public final class QuantizedUpdate implements CompressedUpdate {
  private static final long serialVersionUID = 2L;

  private final int length;
  private final int bits;
  private final int chunkSize;
  /** b-bit codes, packed: value i at bit (i b) % 8 of byte (i b) / 8. */
  private final byte[] packed;
  private final float[] mins;
  private final float[] steps;

  private QuantizedUpdate(int length, int bits, int chunkSize, byte[] packed, float[] mins, float[] steps) {
    this.length = length;
    this.bits = bits;
    this.chunkSize = chunkSize;
    this.packed = packed;
    this.mins = mins;
    this.steps = steps;
  }

  /** Quantizes {@code x} to 8 bits with one (min, step) per chunk of {@code chunkSize} values. */
  public static QuantizedUpdate quantize(float[] x, int chunkSize, long seed) {
    return quantize(x, 8, chunkSize, seed);
  }

  /** Quantizes {@code x} to 8 bits as a single chunk (one min/max for the whole vector). */
  public static QuantizedUpdate quantize(float[] x, long seed) {
    return quantize(x, 8, Math.max(1, x.length), seed);
  }

  /** Quantizes {@code x} to {@code bits} bits (8, 4 or 2) with one (min, step) per chunk of {@code chunkSize}. */
  public static QuantizedUpdate quantize(float[] x, int bits, int chunkSize, long seed) {
    checkBits(bits);
    if (chunkSize <= 0) {
      throw new IllegalArgumentException("quantization chunk size: expected > 0, found " + chunkSize);
    }
    int levels = (1 << bits) - 1;
    int chunks = (x.length + chunkSize - 1) / chunkSize;
    int[] codes = new int[x.length];
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
      double step = ((double) hi - lo) / levels;
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
        codes[i] = Math.min(levels, Math.max(0, q));
      }
    }
    return new QuantizedUpdate(x.length, bits, chunkSize, pack(codes, bits), mins, steps);
  }

  private static void checkBits(int bits) {
    if (bits != 8 && bits != 4 && bits != 2) {
      throw new IllegalArgumentException("quantization bits: expected 8, 4 or 2, found " + bits);
    }
  }

  /** Packs codes of {@code bits} bits (a divisor of 8) into ceil(n bits / 8) bytes, low bits first. */
  static byte[] pack(int[] codes, int bits) {
    int perByte = 8 / bits;
    byte[] out = new byte[(int) (((long) codes.length * bits + 7) / 8)];
    for (int i = 0; i < codes.length; i++) {
      out[i / perByte] |= (byte) (codes[i] << (bits * (i % perByte)));
    }
    return out;
  }

  /** The code of value {@code i} in {@code packed}. */
  static int unpack(byte[] packed, int bits, int i) {
    int perByte = 8 / bits;
    return ((packed[i / perByte] & 0xFF) >>> (bits * (i % perByte))) & ((1 << bits) - 1);
  }

  /** The decoded vector: lo + code * step per value. */
  public float[] dequantize() {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      int b = i / chunkSize;
      out[i] = (float) (mins[b] + (double) unpack(packed, bits, i) * steps[b]);
    }
    return out;
  }

  @Override
  public float[] decode() {
    return dequantize();
  }

  /** Payload size in bytes: ceil(n b / 8) for the codes, plus 8 (two floats) per chunk. */
  @Override
  public long payloadBytes() {
    return payloadBytes(length, bits, chunkSize);
  }

  /** The payload of {@code length} values at {@code bits} bits in chunks of {@code chunkSize}. */
  static long payloadBytes(int length, int bits, int chunkSize) {
    long chunks = (length + (long) chunkSize - 1) / chunkSize;
    return ((long) length * bits + 7) / 8 + 8L * chunks;
  }

  /** Same as {@link #payloadBytes()}. */
  public long compressedBytes() {
    return payloadBytes();
  }

  /** Size of the uncompressed float vector, 4 bytes per value. */
  public long uncompressedBytes() {
    return float32Bytes();
  }

  @Override
  public int length() { return length; }
  public int bits() { return bits; }
  public int chunkSize() { return chunkSize; }
  /** The codes, one per value (a copy; read as unsigned, 0 .. 2^b - 1). */
  public byte[] codes() {
    byte[] out = new byte[length];
    for (int i = 0; i < length; i++) out[i] = (byte) unpack(packed, bits, i);
    return out;
  }
  /** The bit-packed codes as they travel (a copy). */
  public byte[] packedCodes() { return packed.clone(); }
  /** Per-chunk minimum (a copy). */
  public float[] mins() { return mins.clone(); }
  /** Per-chunk step (max - min) / (2^b - 1) (a copy). */
  public float[] steps() { return steps.clone(); }
}
