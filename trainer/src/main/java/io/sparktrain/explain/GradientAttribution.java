package io.sparktrain.explain;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.Network;
import io.sparktrain.util.Seeds;
import java.util.Arrays;

/**
 * The per-partition work of the gradient methods: integrated gradients and gradient x input over one
 * cached {@link Block}, in chunks of {@link #CHUNK} rows, with the network's own forward and backward
 * passes ({@link Network#predict}, {@link Network#inputGradient}). Spark-free: {@link Explainer} runs
 * it in each partition.
 *
 * <p><b>Raw features.</b> The block holds the features as the user gave them; a model that
 * standardizes ({@code x' = (x - shift) * scale}) gets them scaled here, chunk by chunk, and the
 * attributions are for the raw features: dF/dx = dF/dx' * scale. Integrated gradients is invariant to
 * such a per-feature affine map ((x - b) dF/dx = (x' - b') dF/dx'); gradient x input is not, and
 * multiplies the raw value by the raw gradient.
 *
 * <p><b>Integrated gradients</b> of row x, baseline b, class c fixed at x: {@code a_j = (x_j - b_j)
 * sum_k w_k dF/dx_j(b + alpha_k (x - b))}, the path integral by a quadrature rule
 * ({@link ExplainOptions.Rule}): m Gauss-Legendre nodes (the default, as Captum's), midpoint points
 * {@code alpha_k = (k + 1/2)/m} with {@code w_k = 1/m}, or trapezoid points {@code alpha_k = k/m},
 * k = 0..m, weights 1/m and 1/(2m) at the ends (m + 1 passes). Each point is one forward and one
 * backward pass of the chunk. The gradients are summed in double. The completeness gap
 * {@code sum_j a_j - (F(x) - F(b))} is recorded per row.
 */
final class GradientAttribution {
  /** Rows per forward/backward pass. */
  static final int CHUNK = 256;

  private final Network net;
  private final float[] params;
  private final float[] shift;
  private final float[] scale;
  private final ModelOutput f;
  private final Units units;
  private final ExplainOptions o;
  private final boolean integrated;
  /** The baseline, scaled as layer 0 sees it (integrated gradients only). */
  private final float[] bs;
  /** F(baseline) for each class. */
  private final double[] fb;
  private final double[] alphas;
  private final double[] weights;
  private final Network.Workspace ws;
  private final float[] probs;

  /**
   * @param scaling the model's input scaling, or null
   * @param baseline the raw baseline row (integrated gradients), or null
   */
  GradientAttribution(Network net, float[] params, InputScaling scaling, ModelOutput f, Units units,
      ExplainOptions o, float[] baseline) {
    this.net = net;
    this.params = params;
    int d = net.inputs();
    this.shift = InputScaling.shiftsOf(scaling, d);
    this.scale = InputScaling.scalesOf(scaling, d);
    this.f = f;
    this.units = units;
    this.o = o;
    this.integrated = o.method() == ExplainOptions.Method.INTEGRATED_GRADIENTS;
    this.ws = net.newWorkspace();
    this.probs = new float[Math.max(2, net.outputs())];
    if (integrated) {
      bs = baseline.clone();
      scale(bs, 0, 1);
      float[] h = net.predict(params, bs, 1, ws);
      float[] z = net.lastLogits(ws, 1);
      // F(baseline) of every class, or of every output of a regressor (the explained one is fixed).
      fb = new double[f.isClassifier() ? f.classes() : net.outputs()];
      for (int c = 0; c < fb.length; c++) fb[c] = f.value(h, z, 0, c, null, 0, probs);
      int m = o.steps();
      if (o.rule() == ExplainOptions.Rule.GAUSS_LEGENDRE) {
        double[][] nw = gaussLegendre(m);
        alphas = nw[0];
        weights = nw[1];
      } else if (o.rule() == ExplainOptions.Rule.MIDPOINT) {
        alphas = new double[m];
        weights = new double[m];
        for (int k = 0; k < m; k++) {
          alphas[k] = (k + 0.5) / m;
          weights[k] = 1.0 / m;
        }
      } else {
        alphas = new double[m + 1];
        weights = new double[m + 1];
        for (int k = 0; k <= m; k++) {
          alphas[k] = (double) k / m;
          weights[k] = (k == 0 || k == m ? 0.5 : 1.0) / m;
        }
      }
    } else {
      bs = null;
      fb = null;
      alphas = null;
      weights = null;
    }
  }

  /**
   * The m Gauss-Legendre nodes and weights on [0, 1] ({nodes, weights}, nodes ascending): the roots of
   * the Legendre polynomial P_m by Newton's method from Chebyshev guesses, weights 2 / ((1 - x^2)
   * P_m'(x)^2), mapped from [-1, 1]. The weights sum to 1.
   */
  static double[][] gaussLegendre(int m) {
    double[] x = new double[m];
    double[] w = new double[m];
    for (int i = 0; i < (m + 1) / 2; i++) {
      double t = Math.cos(Math.PI * (i + 0.75) / (m + 0.5));
      double dp = 0;
      for (int it = 0; it < 100; it++) {
        double p0 = 1;
        double p1 = t;
        for (int k = 2; k <= m; k++) {
          double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
          p0 = p1;
          p1 = p2;
        }
        dp = m * (t * p1 - p0) / (t * t - 1);
        double step = p1 / dp;
        t -= step;
        if (Math.abs(step) < 1e-15) {
          break;
        }
      }
      double wt = 2 / ((1 - t * t) * dp * dp);
      // Root t of [-1, 1] and its mirror -t, mapped to [0, 1].
      x[i] = (1 - t) / 2;
      x[m - 1 - i] = (1 + t) / 2;
      w[i] = wt / 2;
      w[m - 1 - i] = wt / 2;
    }
    return new double[][] {x, w};
  }

  /** F(baseline) of class c (integrated gradients). */
  double baselineValue(int c) {
    return fb[c];
  }

  private void scale(float[] x, int off, int rows) {
    int d = shift.length;
    for (int r = 0; r < rows; r++) {
      int base = off + r * d;
      for (int j = 0; j < d; j++) x[base + j] = (x[base + j] - shift[j]) * scale[j];
    }
  }

  /** Explains every row of {@code b}, partition {@code partition}, into {@code acc}. */
  void run(int partition, Block b, boolean hasLabels, AttributionSums acc) {
    if (b.isSparse() || b.categorical() > 0) {
      throw new IllegalArgumentException("explain: expected dense numeric features, found a block with "
          + (b.isSparse() ? "sparse (CSR) features" : b.categorical() + " categorical columns"));
    }
    int d = net.inputs();
    if (b.inputs() != d && b.rows() > 0) {
      throw new IllegalArgumentException("block: expected " + d + " features per row (the network's inputs), found "
          + b.inputs());
    }
    int k = net.outputs();
    int rows = b.rows();
    int cap = Math.min(rows, CHUNK);
    float[] xs = new float[cap * d];
    float[] xk = o.method() == ExplainOptions.Method.INTEGRATED_GRADIENTS ? new float[cap * d] : null;
    float[] h = new float[cap * k];
    float[] dz = new float[cap * k];
    float[] g = new float[cap * d];
    double[] grad = new double[cap * d];
    double[] attr = new double[cap * d];
    int[] target = new int[cap];
    double[] fx = new double[cap];
    double[] unit = new double[units.size()];
    float[] x = b.features();
    float[] y = b.labels();
    int lw = b.labelWidth();
    for (int start = 0; start < rows; start += CHUNK) {
      int n = Math.min(CHUNK, rows - start);
      System.arraycopy(x, start * d, xs, 0, n * d);
      scale(xs, 0, n);
      net.predict(params, xs, n, ws, h, 0);
      float[] z = net.lastLogits(ws, n);
      for (int i = 0; i < n; i++) {
        target[i] = f.target(h, i * k, probs);
        fx[i] = f.value(h, z, i * k, target[i], dz, i * k, probs);
      }
      if (integrated) {
        integratedGradients(xs, xk, n, target, h, dz, g, grad, attr);
      } else {
        net.inputGradient(params, dz, n, ws, g, 0);
        for (int i = 0; i < n * d; i++) {
          int j = i % d;
          attr[i] = (double) x[start * d + i] * g[i] * scale[j];
        }
      }
      for (int i = 0; i < n; i++) {
        int c = target[i];
        double delta = integrated ? fx[i] - fb[c] : 0;
        double sum = 0;
        for (int j = 0; j < d; j++) sum += attr[i * d + j];
        double gap = integrated ? sum - delta : 0;
        units.sum(attr, i * d, unit);
        acc.add(unit, f.isClassifier() ? c : 0, gap, delta); // a regressor's results have one "class"
        int r = start + i;
        long key = Seeds.of(o.seed(), partition, r, Seeds.EXPLAIN_SAMPLE);
        if (acc.wantsSample(key)) {
          float label = hasLabels ? y[r * lw] : Float.NaN;
          acc.offer(new AttributionSums.SampleRow(key, partition, r, label, c, fx[i], integrated ? fb[c] : Double.NaN,
              Arrays.copyOfRange(x, r * d, (r + 1) * d), unit.clone()));
        }
      }
    }
  }

  /** Integrated gradients of the n scaled rows {@code xs} into {@code attr} (rows x d). */
  private void integratedGradients(float[] xs, float[] xk, int n, int[] target, float[] h, float[] dz, float[] g,
      double[] grad, double[] attr) {
    int d = net.inputs();
    int k = net.outputs();
    Arrays.fill(grad, 0, n * d, 0.0);
    for (int p = 0; p < alphas.length; p++) {
      float a = (float) alphas[p];
      for (int i = 0; i < n; i++) {
        int base = i * d;
        for (int j = 0; j < d; j++) xk[base + j] = bs[j] + a * (xs[base + j] - bs[j]);
      }
      net.predict(params, xk, n, ws, h, 0);
      float[] z = net.lastLogits(ws, n);
      for (int i = 0; i < n; i++) f.value(h, z, i * k, target[i], dz, i * k, probs);
      net.inputGradient(params, dz, n, ws, g, 0);
      double w = weights[p];
      for (int i = 0; i < n * d; i++) grad[i] += w * g[i];
    }
    for (int i = 0; i < n; i++) {
      int base = i * d;
      for (int j = 0; j < d; j++) attr[base + j] = ((double) xs[base + j] - bs[j]) * grad[base + j];
    }
  }
}
