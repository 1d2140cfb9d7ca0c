package io.sparktrain.federated;

import io.sparktrain.util.Seeds;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Which silos work in a round: uniform sampling of max(1, round(C K)) silos without replacement
 * (McMahan et al. 2017), or Poisson sampling (each silo independently with probability C, the
 * sampling the RDP accountant assumes). A Poisson round that draws nobody takes one silo uniformly,
 * since a round needs at least one; the accountant does not model that (rare for C K >> 1). Empty
 * silos are never sampled. Draws depend on (seed, round) only.
 */
public final class ClientSampler {
  private ClientSampler() {
  }

  /** A mask over silos: true for the ones sampled in {@code round} ({@link #silos}, as a mask). */
  public static boolean[] sample(long[] siloRows, double c, FederatedConfig.Sampling sampling, long seed, long round) {
    boolean[] picked = new boolean[siloRows.length];
    for (int s : silos(siloRows, c, sampling, seed, round)) picked[s] = true;
    return picked;
  }

  /**
   * The silos sampled in {@code round}, in increasing order. The work is one pass over the silos'
   * row counts plus the draws: no per-silo objects.
   */
  public static int[] silos(long[] siloRows, double c, FederatedConfig.Sampling sampling, long seed, long round) {
    int k = siloRows.length;
    int[] eligible = new int[k];
    int n = 0;
    for (int i = 0; i < k; i++) {
      if (siloRows[i] > 0) {
        eligible[n++] = i;
      }
    }
    if (n == 0) {
      return new int[0];
    }
    SplittableRandom rnd = new SplittableRandom(Seeds.of(seed, round, Seeds.CLIENT_SAMPLING));
    if (sampling == FederatedConfig.Sampling.POISSON) {
      int count = 0;
      int[] picked = new int[n];
      for (int i = 0; i < n; i++) {
        if (rnd.nextDouble() < c) {
          picked[count++] = eligible[i]; // in silo order
        }
      }
      if (count == 0) {
        return new int[] {eligible[rnd.nextInt(n)]};
      }
      return Arrays.copyOf(picked, count);
    }
    int m = Math.max(1, Math.min(n, (int) Math.round(c * n)));
    for (int i = 0; i < m; i++) { // partial Fisher-Yates
      int j = i + rnd.nextInt(n - i);
      int t = eligible[i];
      eligible[i] = eligible[j];
      eligible[j] = t;
    }
    int[] picked = Arrays.copyOf(eligible, m);
    Arrays.sort(picked);
    return picked;
  }
}
