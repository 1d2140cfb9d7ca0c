package io.sparktrain.explain;

import io.sparktrain.data.Block;
import io.sparktrain.data.InputScaling;
import io.sparktrain.eval.ClassificationAccumulator;
import io.sparktrain.eval.Predictions;
import io.sparktrain.nn.Network;
import io.sparktrain.util.Seeds;
import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * The per-partition work of permutation importance over one cached {@link Block}: the model's metric
 * on the rows as they are, and with each unit's features shuffled among the partition's rows, R times.
 *
 * <p><b>Shuffles.</b> Repeat r reorders the partition's rows by a Fisher-Yates permutation drawn from
 * (seed, partition, r) ({@link #permutation}); every unit uses the same R orders (as scikit-learn's
 * {@code permutation_importance}, which reseeds the same stream per column), and a group's features
 * move together. Rows never leave their partition.
 *
 * <p><b>Cost: all features in one pass.</b> A partition's block is in memory; per chunk of
 * {@link #CHUNK} rows the first layer's pre-activations {@code Z0 = X' W_0 + b_0} are computed once.
 * Shuffling feature j changes row i's scaled input by {@code delta = (x[pi(i), j] - x[i, j]) scale_j},
 * so the shuffled Z0 is {@code Z0 + delta W_0[j, :]}: a rank-one update of rows x units_0 operations,
 * not a new rows x inputs x units_0 GEMM. The rest of the network then runs forward
 * ({@link Network#predictFromFirstLayer}), and only for the rows the shuffle changed: a row whose
 * donor has the same value (two zero pixels, say) keeps its unshuffled outputs. For a 784-256-128-10
 * network that is about 34,000 multiply-adds per changed row and shuffle instead of 235,000, so the
 * whole job costs at most R x D passes over the rows through layers 1..L-1 (plus |group| x units_0 per
 * row for the rank-one terms), in one Spark job that reads each cached block once.
 *
 * <p><b>Metrics</b> (row-weighted as evaluation): a classifier's accuracy (importance = the drop) and
 * log loss (the increase); a regressor's mean squared error over its outputs (the increase).
 */
final class PermutationImportance {
  /** Rows per chunk. */
  static final int CHUNK = 512;

  private final Network net;
  private final float[] params;
  private final float[] scale;
  private final float[] shift;
  private final Units units;
  private final ExplainOptions o;
  private final boolean classifier;
  private final int numClasses;
  private final Network.Workspace ws;
  /** Scratch: one row's metric terms. */
  private final double[] t = new double[2];

  PermutationImportance(Network net, float[] params, InputScaling scaling, Units units, ExplainOptions o) {
    this.net = net;
    this.params = params;
    int d = net.inputs();
    this.shift = InputScaling.shiftsOf(scaling, d);
    this.scale = InputScaling.scalesOf(scaling, d);
    this.units = units;
    this.o = o;
    this.classifier = Predictions.isClassifier(net);
    this.numClasses = classifier ? Predictions.numClasses(net) : 0;
    this.ws = net.newWorkspace();
  }

  /** The row order of repeat {@code repeat} in a partition of {@code n} rows: row i takes row p[i]'s values. */
  static int[] permutation(long seed, int partition, int repeat, int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    SplittableRandom rnd = new SplittableRandom(Seeds.of(seed, partition, repeat, Seeds.EXPLAIN_PERMUTATION));
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** Adds the metric sums of {@code b} (partition {@code partition}), as it is and shuffled, to {@code acc}. */
  void run(int partition, Block b, Sums acc) {
    if (b.isSparse() || b.categorical() > 0) {
      throw new IllegalArgumentException("explain: expected dense numeric features, found a block with "
          + (b.isSparse() ? "sparse (CSR) features" : b.categorical() + " categorical columns"));
    }
    int rows = b.rows();
    if (rows == 0) {
      return;
    }
    int d = net.inputs();
    if (b.inputs() != d) {
      throw new IllegalArgumentException("block: expected " + d + " features per row (the network's inputs), found "
          + b.inputs());
    }
    int repeats = o.repeats();
    int[][] perm = new int[repeats][];
    for (int r = 0; r < repeats; r++) perm[r] = permutation(o.seed(), partition, r, rows);
    int h1 = net.sizes()[1];
    int kOff = net.layout().kernel(0).offset();
    int outs = net.outputs();
    int cap = Math.min(rows, CHUNK);
    float[] xs = new float[cap * d];
    float[] z0 = new float[cap * h1];
    float[] zp = new float[cap * h1];
    float[] out = new float[cap * outs];
    float[] p = new float[Math.max(2, outs)];
    // Per row of the chunk: its metric terms as it is, and the rows a shuffle changes.
    double[] ta = new double[cap];
    double[] tb = new double[cap];
    int[] changed = new int[cap];
    float[] x = b.features();
    float[] y = b.labels();
    float[] w = b.weights();
    for (int start = 0; start < rows; start += CHUNK) {
      int n = Math.min(CHUNK, rows - start);
      System.arraycopy(x, start * d, xs, 0, n * d);
      for (int i = 0; i < n; i++) {
        int base = i * d;
        for (int j = 0; j < d; j++) xs[base + j] = (xs[base + j] - shift[j]) * scale[j];
      }
      net.firstLayerPreActivations(params, xs, n, ws, z0);
      net.predictFromFirstLayer(params, z0, n, ws, out, 0);
      double baseA = 0;
      double baseB = 0;
      double weight = 0;
      for (int i = 0; i < n; i++) {
        int row = start + i;
        terms(out, i, row, y, p, ta, tb);
        double wt = w == null ? 1.0 : w[row];
        ta[i] *= wt;
        tb[i] *= wt;
        baseA += ta[i];
        baseB += tb[i];
        weight += wt;
      }
      acc.add(-1, -1, baseA, baseB, weight);
      for (int r = 0; r < repeats; r++) {
        int[] pi = perm[r];
        for (int u = 0; u < units.size(); u++) {
          // Only the rows whose shuffled values differ from their own are run again, packed at the top of zp.
          int m = 0;
          for (int i = 0; i < n; i++) {
            int row = start + i;
            boolean moved = false;
            for (int j : units.members(u)) {
              float delta = (x[pi[row] * d + j] - x[row * d + j]) * scale[j];
              if (delta != 0f) {
                int zb = m * h1;
                if (!moved) {
                  System.arraycopy(z0, i * h1, zp, zb, h1);
                  moved = true;
                }
                int wOff = kOff + j * h1;
                for (int q = 0; q < h1; q++) zp[zb + q] += delta * params[wOff + q];
              }
            }
            if (moved) {
              changed[m++] = i;
            }
          }
          double a = baseA;
          double bb = baseB;
          if (m > 0) {
            net.predictFromFirstLayer(params, zp, m, ws, out, 0);
            for (int k = 0; k < m; k++) {
              int i = changed[k];
              int row = start + i;
              double wt = w == null ? 1.0 : w[row];
              terms(out, k, row, y, p, t);
              a += wt * t[0] - ta[i];
              bb += wt * t[1] - tb[i];
            }
          }
          acc.add(u, r, a, bb, 0);
        }
      }
    }
  }

  /** The metric terms of output row k (labels of data row {@code row}) into ta[k], tb[k]. */
  private void terms(float[] out, int k, int row, float[] y, float[] p, double[] ta, double[] tb) {
    terms(out, k, row, y, p, t);
    ta[k] = t[0];
    tb[k] = t[1];
  }

  /**
   * The unweighted metric terms of output row k against the labels of data row {@code row}: a classifier's
   * (correct 0/1, -log p_label with p clipped as evaluation does), a regressor's (mean squared error, 0).
   */
  private void terms(float[] out, int k, int row, float[] y, float[] p, double[] t) {
    int outs = net.outputs();
    if (classifier) {
      Predictions.rowProbabilities(net, out, k * outs, p, 0);
      int c = (int) y[row];
      t[0] = Predictions.argmax(p, 0, numClasses) == c ? 1 : 0;
      double pc = Math.max(Math.min(p[c], 1 - ClassificationAccumulator.EPS), ClassificationAccumulator.EPS);
      t[1] = -Math.log(pc);
    } else {
      double se = 0;
      for (int q = 0; q < outs; q++) {
        double e = out[k * outs + q] - y[row * outs + q];
        se += e * e;
      }
      t[0] = se / outs;
      t[1] = 0;
    }
  }

  /**
   * Mergeable metric sums: for the rows as they are and for each (unit, repeat), a classifier's
   * weighted correct count and log-loss sum, or a regressor's weighted squared-error sum (mean over
   * outputs), and the weight.
   */
  static final class Sums implements Serializable {
    private static final long serialVersionUID = 1L;
    final int units;
    final int repeats;
    double weight;
    /** [2]: correct (or squared error), log loss. */
    final double[] base = new double[2];
    /** units x repeats x 2. */
    final double[] shuffled;

    Sums(int units, int repeats) {
      this.units = units;
      this.repeats = repeats;
      this.shuffled = new double[units * repeats * 2];
    }

    /** Adds metric sums a, b to (u, r), or to the unshuffled rows (and their weight) when u = -1. */
    void add(int u, int r, double a, double b, double w) {
      if (u < 0) {
        base[0] += a;
        base[1] += b;
        weight += w;
      } else {
        int at = (u * repeats + r) * 2;
        shuffled[at] += a;
        shuffled[at + 1] += b;
      }
    }

    Sums merge(Sums o) {
      if (o.units != units || o.repeats != repeats) {
        throw new IllegalArgumentException("permutation sums: expected " + units + " units x " + repeats
            + " repeats, found " + o.units + " x " + o.repeats);
      }
      weight += o.weight;
      base[0] += o.base[0];
      base[1] += o.base[1];
      for (int i = 0; i < shuffled.length; i++) shuffled[i] += o.shuffled[i];
      return this;
    }
  }
}
