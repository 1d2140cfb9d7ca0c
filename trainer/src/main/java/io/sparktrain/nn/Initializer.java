package io.sparktrain.nn;

import io.sparktrain.util.Seeds;
import java.util.SplittableRandom;

/**
 * Seeded parameter initialisation: He normal (std sqrt(2 / fan_in)) for layers with a ReLU-family
 * activation, Glorot uniform (limit sqrt(6 / (fan_in + fan_out))) otherwise; biases start at 0.
 * Same seed, same parameters, on every machine.
 */
public final class Initializer {
  private Initializer() {
  }

  /** Fills a new parameter vector for {@code network}. */
  public static float[] init(Network network, long seed) {
    ParameterLayout layout = network.layout();
    float[] p = new float[layout.size()];
    for (int l = 0; l < network.depth(); l++) {
      ParameterLayout.Entry k = layout.kernel(l);
      int[] shape = k.shape();
      int fanIn = shape[0];
      int fanOut = shape[1];
      SplittableRandom rnd = new SplittableRandom(Seeds.initLayer(seed, l));
      if (network.layer(l).activation().isReluFamily()) {
        double std = Math.sqrt(2.0 / fanIn);
        for (int i = k.offset(); i < k.end(); i++) p[i] = (float) (std * gaussian(rnd));
      } else {
        double limit = Math.sqrt(6.0 / (fanIn + fanOut));
        for (int i = k.offset(); i < k.end(); i++) p[i] = (float) ((2 * rnd.nextDouble() - 1) * limit);
      }
    }
    for (int c = 0; c < layout.tables(); c++) {
      // Embedding tables: normal with std 1/sqrt(dim), as TensorFlow's embedding_column (truncated there).
      ParameterLayout.Entry t = layout.table(c);
      double std = 1.0 / Math.sqrt(t.shape()[1]);
      SplittableRandom rnd = new SplittableRandom(Seeds.initLayer(seed, -1 - c));
      for (int i = t.offset(); i < t.end(); i++) p[i] = (float) (std * gaussian(rnd));
    }
    return p;
  }

  /** A standard normal deviate by Box-Muller, from this generator only (reproducible). */
  static double gaussian(SplittableRandom rnd) {
    double u1 = 1.0 - rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
