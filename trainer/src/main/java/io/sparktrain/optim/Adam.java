package io.sparktrain.optim;

/**
 * Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015), bias-corrected,
 * in PyTorch's form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). Weight decay, when set, is added to the
 * gradient (L2), as torch.optim.Adam.
 */
class Adam extends Optimizer {
  private long constantsStep = -1;
  private float constantsLr;
  private float invSqrtBc2Cached;
  private float stepSizeCached;

  Adam(OptimizerSpec spec, int size) {
    super(spec, size, 2);
  }

  @Override
  void update(float[] p, float[] g, float scale, float lr, long t) {
    adamStep(p, g, scale, lr, t, (float) spec.weightDecay());
  }

  final void adamStep(float[] p, float[] g, float scale, float lr, long t, float l2) {
    adamRange(p, g, scale, lr, t, l2, 0, size);
  }

  /** The Adam rule on parameters {@code [from, to)} only. */
  final void adamRange(float[] p, float[] g, float scale, float lr, long t, float l2, int from, int to) {
    float b1 = (float) spec.beta1();
    float b2 = (float) spec.beta2();
    // 1 - beta in double, then rounded (as torch's alpha/value = 1 - beta): (1 - (float) beta2) in
    // float is off by 1.3e-5 relative for beta2 = 0.999, which the bias correction (in double) then
    // does not cancel, so the first step would differ from lr * sign(g) by 6e-6 relative.
    float c1 = (float) (1 - spec.beta1());
    float c2 = (float) (1 - spec.beta2());
    float eps = (float) spec.epsilon();
    if (t != constantsStep || lr != constantsLr) { // once per step (lazy_adam calls this per row)
      constantsStep = t;
      constantsLr = lr;
      float bc1 = (float) (1 - Math.pow(spec.beta1(), t));
      invSqrtBc2Cached = (float) (1 / Math.sqrt(1 - Math.pow(spec.beta2(), t)));
      stepSizeCached = lr / bc1;
    }
    float invSqrtBc2 = invSqrtBc2Cached;
    float stepSize = stepSizeCached;
    float[] m = slots[0];
    float[] v = slots[1];
    for (int i = from; i < to; i++) {
      float gi = scale * g[i] + l2 * p[i];
      m[i] = b1 * m[i] + c1 * gi;
      v[i] = b2 * v[i] + c2 * gi * gi;
      p[i] -= stepSize * m[i] / ((float) Math.sqrt(v[i]) * invSqrtBc2 + eps);
    }
  }
}
