package io.sparktrain.federated;

import java.util.SplittableRandom;

/**
 * Standard normal deviates from a seeded {@link SplittableRandom} by Marsaglia's polar method
 * (Marsaglia, Bray 1964, "A Convenient Method for Generating Normal Variables", SIAM Review 6(3)):
 * draw (u, v) uniform in the unit disc, s = u^2 + v^2, and return u f and v f with
 * f = sqrt(-2 ln s / s). The same seed gives the same sequence. Not thread-safe; not a
 * cryptographically secure generator.
 */
public final class GaussianNoise {
  private final SplittableRandom random;
  private double spare;
  private boolean hasSpare;

  public GaussianNoise(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** The next N(0, 1) deviate. */
  public double next() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double u;
    double v;
    double s;
    do {
      u = 2 * random.nextDouble() - 1;
      v = 2 * random.nextDouble() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double f = Math.sqrt(-2 * Math.log(s) / s);
    spare = v * f;
    hasSpare = true;
    return u * f;
  }

  /** Adds N(0, stddev^2) to every element of {@code v}, in place. */
  public void addTo(float[] v, double stddev) {
    for (int i = 0; i < v.length; i++) v[i] += (float) (stddev * next());
  }
}
