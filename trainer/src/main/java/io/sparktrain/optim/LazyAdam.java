package io.sparktrain.optim;

import io.sparktrain.linalg.RowSet;

/**
 * Lazy Adam, for sparse first layers and embeddings (TensorFlow Addons' {@code LazyAdam}, PyTorch's
 * {@code SparseAdam}): on a row-sparse gradient, the moments and the parameters of a sparse slice
 * change only in the rows the gradient lists (the rows the mini-batch touched); everything outside
 * the slice takes the ordinary Adam step. The bias correction uses the global step count t, as both
 * do.
 *
 * <p><b>How it differs from Adam.</b> Dense Adam decays every row's moments every step, so a row
 * touched at step 5 keeps moving at steps 6, 7, ... with its decaying momentum; lazy Adam moves it
 * only at the steps that touch it, and its moments do not decay in between. A step costs
 * O(touched rows x units) instead of O(inputs x units). Weight decay (L2 in the gradient) applies to
 * the touched rows only. On a dense gradient ({@code rows == null}) it is Adam exactly.
 */
final class LazyAdam extends Adam {
  LazyAdam(OptimizerSpec spec, int size) {
    super(spec, size);
  }

  @Override
  void update(float[] p, float[] g, float scale, float lr, long t, RowSet rows) {
    float l2 = (float) spec.weightDecay();
    adamRange(p, g, scale, lr, t, l2, 0, rows.offset());
    adamRange(p, g, scale, lr, t, l2, rows.end(), size);
    int[] ids = rows.ids();
    for (int k = 0; k < rows.size(); k++) {
      int at = rows.start(ids[k]);
      adamRange(p, g, scale, lr, t, l2, at, at + rows.width(ids[k]));
    }
  }

  @Override
  public boolean lazy() {
    return true;
  }
}
