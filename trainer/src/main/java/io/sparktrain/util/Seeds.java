package io.sparktrain.util;

/**
 * Every random stream of a run is derived here from the run's seed and a key, so that what a task
 * draws depends only on (seed, epoch, round, partition or silo, stream) and never on scheduling: a
 * retried or speculative task draws the same numbers, and a resumed run continues the same streams.
 *
 * <p>A key is a list of longs mixed by {@link #of}. Streams that share the rest of their key are told
 * apart by a trailing stream constant, named below. The constants' values are pinned: results
 * depend on them, and tests check those results bit for bit, so never renumber one.
 */
public final class Seeds {
  /** Federated: a silo's upload quantization (stochastic rounding): (seed, round, silo, this). */
  public static final long QUANTIZATION = 0x71;
  /** Federated: which silos a round samples: (seed, round, this). */
  public static final long CLIENT_SAMPLING = 0x5A3F;
  /** Federated DP: a silo's Gaussian noise, from the secret seed: (secret, round, silo, this) = "noise". */
  public static final long DP_NOISE = 0x6E6F697365L;
  /** Federated stragglers: whether and how much a silo is slowed: (seed, round, silo, this). */
  public static final long STRAGGLER_SILO = 0x57A66L;
  /** Federated stragglers: the round's deadline draw: (seed, round, this). */
  public static final long STRAGGLER_ROUND = 0x57A65L;
  /** Pretraining: a mini-batch's corruption (denoising noise), from its dropout seed: (seed, this). */
  public static final long CORRUPTION = 0xC0FF;
  /** Simulated silos: a row's uniform draw for random splits: (seed, row, this). */
  public static final long SILO_ROW_UNIFORM = 77;
  /** Explain, permutation importance: a partition's row order of one repeat: (seed, partition, repeat, this). */
  public static final long EXPLAIN_PERMUTATION = 0xE1;
  /** Explain: a row's sampling key for the reported sample of rows: (seed, partition, row, this). */
  public static final long EXPLAIN_SAMPLE = 0xE2;

  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private Seeds() {
  }

  /** Mixes several longs into one seed (SplitMix64 finaliser), for (seed, epoch, partition, ...) keys. */
  public static long of(long... parts) {
    long h = GOLDEN;
    for (long p : parts) {
      h ^= p + GOLDEN + (h << 6) + (h >>> 2);
      h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
      h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
      h ^= h >>> 31;
    }
    return h;
  }

  /** The seed of layer {@code layer}'s initial weights. */
  public static long initLayer(long seed, int layer) {
    return seed * GOLDEN + layer + 1;
  }

  /** The seed of layer {@code layer}'s dropout mask, from a micro-batch's {@code seed}. */
  public static long dropoutLayer(long seed, int layer) {
    return seed ^ (0xD1B54A32D192ED03L * (layer + 1));
  }
}
