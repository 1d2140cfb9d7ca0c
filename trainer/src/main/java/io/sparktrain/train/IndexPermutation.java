package io.sparktrain.train;

import io.sparktrain.util.Seeds;
/**
 * A seeded pseudo-random permutation of [0, n) that needs no array: a 4-round balanced Feistel
 * network on the smallest even number of bits covering n, with cycle walking (values >= n are fed
 * through again; at most ~4 passes on average). Lets every partition find, for each of its rows,
 * the row's position in the epoch's global order without the driver shipping a permutation.
 */
public final class IndexPermutation {
  private static final int ROUNDS = 4;
  private final long n;
  private final int half;
  private final long mask;
  private final long[] keys = new long[ROUNDS];

  public IndexPermutation(long n, long seed) {
    if (n <= 0) {
      throw new IllegalArgumentException("permutation size: expected > 0, found " + n);
    }
    this.n = n;
    int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(n - 1));
    if ((bits & 1) == 1) {
      bits++;
    }
    this.half = bits / 2;
    this.mask = (1L << half) - 1;
    for (int i = 0; i < ROUNDS; i++) keys[i] = Seeds.of(seed, i);
  }

  /** The position of {@code i} in the permuted order. */
  public long apply(long i) {
    if (i < 0 || i >= n) {
      throw new IndexOutOfBoundsException("permutation index " + i + " outside [0, " + n + ")");
    }
    long x = i;
    do {
      x = feistel(x);
    } while (x >= n);
    return x;
  }

  private long feistel(long x) {
    long l = x >>> half;
    long r = x & mask;
    for (int k = 0; k < ROUNDS; k++) {
      long f = mix(r ^ keys[k]) & mask;
      long t = l ^ f;
      l = r;
      r = t;
    }
    return (l << half) | r;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
    z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
    return z ^ (z >>> 33);
  }
}
