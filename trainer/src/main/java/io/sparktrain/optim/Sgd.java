package io.sparktrain.optim;

/**
 * Stochastic gradient descent with optional momentum and Nesterov momentum, as torch.optim.SGD
 * (dampening 0): g += wd p; v = mu v + g; p -= lr (nesterov ? g + mu v : v).
 */
final class Sgd extends Optimizer {
  Sgd(OptimizerSpec spec, int size) {
    super(spec, size, spec.momentum() > 0 ? 1 : 0);
  }

  @Override
  void update(float[] p, float[] g, float scale, float lr, long t) {
    float wd = (float) spec.weightDecay();
    float mu = (float) spec.momentum();
    if (mu == 0f) {
      for (int i = 0; i < size; i++) p[i] -= lr * (scale * g[i] + wd * p[i]);
      return;
    }
    float[] v = slots[0];
    boolean nesterov = spec.nesterov();
    boolean first = t == 1;
    for (int i = 0; i < size; i++) {
      float gi = scale * g[i] + wd * p[i];
      // PyTorch starts the buffer at the first gradient (not at mu * 0 + g, the same thing here).
      v[i] = first ? gi : mu * v[i] + gi;
      p[i] -= lr * (nesterov ? gi + mu * v[i] : v[i]);
    }
  }
}
