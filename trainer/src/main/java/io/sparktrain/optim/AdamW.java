package io.sparktrain.optim;

/**
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019), as
 * torch.optim.AdamW: p *= 1 - lr wd, then the Adam step without L2 in the gradient.
 */
final class AdamW extends Adam {
  AdamW(OptimizerSpec spec, int size) {
    super(spec, size);
  }

  @Override
  void update(float[] p, float[] g, float scale, float lr, long t) {
    float decay = 1f - lr * (float) spec.weightDecay();
    for (int i = 0; i < size; i++) p[i] *= decay;
    adamStep(p, g, scale, lr, t, 0f);
  }
}
