package io.sparktrain.util;

import io.sparktrain.linalg.RowSpace;

/**
 * An additive 64-bit checksum of float vectors: the sum, mod 2^64, over positions i of
 * {@code mix(seed ^ (i << 32 | bits(v[i])))}, where {@code mix} is MurmurHash3's 64-bit finalizer
 * (a bijection) and {@code bits} the raw IEEE bits. Two properties matter to the collective engine:
 *
 * <ul>
 *   <li><b>Additive:</b> the checksum of a vector is the sum of its parts' checksums (rows, ranges),
 *       each computed with the positions of the whole vector. When some rows change, the new checksum
 *       is the old one minus those rows' old terms plus their new terms: O(changed rows), not O(vector).
 *   <li><b>Any single changed value changes it:</b> for a fixed seed, (position, bits) maps to its term
 *       injectively (positions below 2^32), so replacing one value's bits by other bits changes the sum
 *       by a nonzero amount, whatever the rest of the vector. Several changed values cancel only by
 *       chance (about 2^-64 for unrelated changes).
 * </ul>
 *
 * The seed tells vectors apart (the parameters, each optimizer slot), so that values moved from one
 * vector to another at the same position change the combined sum.
 */
public final class Checksums {
  /** The seed of a parameter vector. */
  public static final long PARAMS = 0x9E3779B97F4A7C15L;

  private Checksums() {
  }

  /** The seed of optimizer slot {@code slot} (distinct from {@link #PARAMS} and from the other slots). */
  public static long slotSeed(int slot) {
    return mix(0x5851F42D4C957F2DL + slot);
  }

  /** MurmurHash3's fmix64: a bijection of 64-bit values with good avalanche. */
  public static long mix(long x) {
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    x ^= x >>> 33;
    x *= 0xc4ceb9fe1a85ec53L;
    x ^= x >>> 33;
    return x;
  }

  /** The term of value {@code v} at position {@code i}. */
  public static long term(long seed, int i, float v) {
    return mix(seed ^ ((long) i << 32 | (Float.floatToRawIntBits(v) & 0xffffffffL)));
  }

  /** The whole vector's checksum. */
  public static long of(float[] v, long seed) {
    return range(v, 0, v.length, seed);
  }

  /** The terms of positions {@code [from, to)}. */
  public static long range(float[] v, int from, int to, long seed) {
    long acc = 0;
    for (int i = from; i < to; i++) {
      acc += mix(seed ^ ((long) i << 32 | (Float.floatToRawIntBits(v[i]) & 0xffffffffL)));
    }
    return acc;
  }

  /** The terms of every position outside {@code [from, to)} (a slice's dense rest). */
  public static long outside(float[] v, int from, int to, long seed) {
    return range(v, 0, from, seed) + range(v, to, v.length, seed);
  }

  /** The terms of rows {@code ids[0, n)} of {@code space} (row r is positions [start(r), start(r) + width(r))). */
  public static long rows(float[] v, RowSpace space, int[] ids, int n, long seed) {
    long acc = 0;
    for (int k = 0; k < n; k++) {
      int at = space.start(ids[k]);
      acc += range(v, at, at + space.width(ids[k]), seed);
    }
    return acc;
  }

  /**
   * Writes {@code packed} into {@code v} as {@code RowSlice.unpack} does (rows {@code rows} of
   * {@code space}, then {@code [0, offset)}, then everything after the space) and returns the change
   * of {@code v}'s checksum: the written positions' new terms minus their old ones, each row hashed
   * before and after its copy while it is in cache.
   */
  public static long unpack(float[] packed, float[] v, RowSpace space, int[] rows, long seed) {
    long delta = 0;
    int n = 0;
    for (int r : rows) {
      int at = space.start(r);
      int w = space.width(r);
      delta -= range(v, at, at + w, seed);
      System.arraycopy(packed, n, v, at, w);
      delta += range(v, at, at + w, seed);
      n += w;
    }
    int offset = space.offset();
    int end = space.end();
    delta -= outside(v, offset, end, seed);
    System.arraycopy(packed, n, v, 0, offset);
    n += offset;
    System.arraycopy(packed, n, v, end, v.length - end);
    return delta + outside(v, offset, end, seed);
  }

  /**
   * The checksum terms of what {@code packed} holds in the layout {@code RowSlice.pack} writes (rows
   * {@code rows} of {@code space}, then {@code [0, offset)}, then everything after the space, of a
   * vector of {@code length}), each value at its position in the vector: the terms of the packed
   * positions, read in order from the packed copy.
   */
  public static long packed(float[] packed, RowSpace space, int[] rows, int length, long seed) {
    long acc = 0;
    int n = 0;
    for (int r : rows) {
      int w = space.width(r);
      int at = space.start(r) - n; // position = index in packed + at
      for (int i = n; i < n + w; i++) {
        acc += mix(seed ^ ((long) (i + at) << 32 | (Float.floatToRawIntBits(packed[i]) & 0xffffffffL)));
      }
      n += w;
    }
    int offset = space.offset();
    for (int i = 0; i < offset; i++) {
      acc += mix(seed ^ ((long) i << 32 | (Float.floatToRawIntBits(packed[n + i]) & 0xffffffffL)));
    }
    n += offset;
    int end = space.end();
    for (int i = end; i < length; i++) {
      acc += mix(seed ^ ((long) i << 32 | (Float.floatToRawIntBits(packed[n + i - end]) & 0xffffffffL)));
    }
    return acc;
  }
}
