package io.sparktrain.optim;

/** Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_. */
public final class Clipping {
  private Clipping() {
  }

  /** The L2 norm of {@code v}, accumulated in double. */
  public static double norm(float[] v) {
    double s = 0;
    for (float x : v) s += (double) x * x;
    return Math.sqrt(s);
  }

  /**
   * Scales {@code grads} in place by {@code maxNorm / (norm + 1e-6)} when its norm exceeds
   * {@code maxNorm}; returns the norm before clipping.
   */
  public static double clipByGlobalNorm(float[] grads, double maxNorm) {
    double norm = norm(grads);
    if (norm > maxNorm) {
      float scale = (float) (maxNorm / (norm + 1e-6));
      for (int i = 0; i < grads.length; i++) grads[i] *= scale;
    }
    return norm;
  }
}
