package io.sparktrain.federated;

import io.sparktrain.optim.Clipping;
import io.sparktrain.util.Seeds;

/**
 * The two steps of the Gaussian mechanism on model updates (DP-FedAvg: McMahan, Ramage, Talwar,
 * Zhang 2018, "Learning Differentially Private Recurrent Language Models", ICLR; Abadi et al. 2016):
 * clip each silo's delta to L2 norm S, so that one silo changes the sum by at most S, then add
 * N(0, (z S)^2) noise per coordinate to the sum. {@link RdpAccountant} turns (q, z, rounds) into
 * epsilon.
 *
 * <p>Noise is drawn from a {@link GaussianNoise} seeded by (secret seed, round, silo), so a retried
 * task adds the identical noise. The privacy guarantee holds only against parties that do not know
 * the seed: with a seed the server knows, the server can subtract the noise. For distributed noise
 * (each of n silos adds its share under secure aggregation) use standard deviation z S / sqrt(n)
 * per silo, so that the sum carries variance (z S)^2.
 */
public final class DpClipping {
  private DpClipping() {
  }

  /**
   * Scales {@code delta} in place to L2 norm at most {@code maxNorm} and returns the factor applied:
   * min(1, maxNorm / ||delta||) (1 for a zero vector). Fails on a non-finite norm.
   */
  public static double clip(float[] delta, double maxNorm) {
    if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
      throw new IllegalArgumentException("clip norm S: expected finite and > 0, found " + maxNorm);
    }
    double norm = Clipping.norm(delta);
    if (!Double.isFinite(norm)) {
      throw new IllegalArgumentException("clip: the delta's L2 norm is " + norm + " (non-finite values)");
    }
    if (norm <= maxNorm) {
      return 1;
    }
    double scale = maxNorm / norm;
    float s = (float) scale;
    for (int i = 0; i < delta.length; i++) delta[i] *= s;
    return scale;
  }

  /**
   * Adds N(0, (noiseMultiplier * clipNorm)^2) independently to every coordinate of {@code sum}, in
   * place, from the generator keyed by ({@code secretSeed}, {@code round}, {@code silo}).
   */
  public static void addNoise(float[] sum, double noiseMultiplier, double clipNorm, long secretSeed, long round,
      int silo) {
    if (!(noiseMultiplier >= 0) || !(clipNorm > 0)) {
      throw new IllegalArgumentException("noise: expected noise multiplier >= 0 and clip norm > 0, found "
          + noiseMultiplier + " and " + clipNorm);
    }
    new GaussianNoise(noiseSeed(secretSeed, round, silo)).addTo(sum, noiseMultiplier * clipNorm);
  }

  /** The generator seed of ({@code secretSeed}, {@code round}, {@code silo}). */
  public static long noiseSeed(long secretSeed, long round, int silo) {
    return Seeds.of(secretSeed, round, silo, Seeds.DP_NOISE);
  }
}
