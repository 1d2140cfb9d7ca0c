package io.sparktrain.federated;

import io.sparktrain.util.Seeds;
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

  /** A mask over silos: true for the ones sampled in {@code round}. */
  public static boolean[] sample(long[] siloRows, double c, FederatedConfig.Sampling sampling, long seed, long round) {
    int k = siloRows.length;
    int[] eligible = new int[k];
    int n = 0;
    for (int i = 0; i < k; i++) {
      if (siloRows[i] > 0) {
        eligible[n++] = i;
      }
    }
    boolean[] picked = new boolean[k];
    if (n == 0) {
      return picked;
    }
    SplittableRandom rnd = new SplittableRandom(Seeds.of(seed, round, Seeds.CLIENT_SAMPLING));
    if (sampling == FederatedConfig.Sampling.POISSON) {
      int count = 0;
      for (int i = 0; i < n; i++) {
        if (rnd.nextDouble() < c) {
          picked[eligible[i]] = true;
          count++;
        }
      }
      if (count == 0) {
        picked[eligible[rnd.nextInt(n)]] = true;
      }
      return picked;
    }
    int m = Math.max(1, Math.min(n, (int) Math.round(c * n)));
    for (int i = 0; i < m; i++) { // partial Fisher-Yates
      int j = i + rnd.nextInt(n - i);
      int t = eligible[i];
      eligible[i] = eligible[j];
      eligible[j] = t;
      picked[eligible[i]] = true;
    }
    return picked;
  }
}
