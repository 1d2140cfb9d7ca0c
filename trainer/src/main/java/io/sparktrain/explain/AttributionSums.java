package io.sparktrain.explain;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The mergeable sums behind a gradient method's result: per unit the sums of the row attributions
 * and of their magnitudes, overall and per explained class, the rows per class, the completeness
 * gaps of integrated gradients, and a uniform sample of rows (the {@code limit} rows of smallest
 * seeded key, so merging in any order keeps the same sample).
 */
final class AttributionSums implements Serializable {
  private static final long serialVersionUID = 1L;

  final int units;
  final int classes;
  final int limit;
  long rows;
  final double[] sumAbs;
  final double[] sum;
  /** classes x units, row-major. */
  final double[] classSumAbs;
  final double[] classSum;
  final long[] classCount;
  /** Sum and largest value of |sum of a row's attributions - (F(x) - F(baseline))|. */
  double gapAbsSum;
  double gapMax;
  /** Sum of F(x) - F(baseline) over the rows (for the mean in reports). */
  double deltaSum;
  final List<SampleRow> sample = new ArrayList<>();

  AttributionSums(int units, int classes, int limit) {
    this.units = units;
    this.classes = classes;
    this.limit = limit;
    this.sumAbs = new double[units];
    this.sum = new double[units];
    this.classSumAbs = new double[classes * units];
    this.classSum = new double[classes * units];
    this.classCount = new long[classes];
  }

  /** Adds one row: its attributions per unit {@code a}, explained class {@code c}, and the completeness gap. */
  void add(double[] a, int c, double gap, double delta) {
    rows++;
    classCount[c]++;
    int base = c * units;
    for (int u = 0; u < units; u++) {
      double v = a[u];
      double m = Math.abs(v);
      sum[u] += v;
      sumAbs[u] += m;
      classSum[base + u] += v;
      classSumAbs[base + u] += m;
    }
    double g = Math.abs(gap);
    gapAbsSum += g;
    gapMax = Math.max(gapMax, g);
    deltaSum += delta;
  }

  /** Whether a row of sampling key {@code key} would enter the sample now. */
  boolean wantsSample(long key) {
    return limit > 0 && (sample.size() < limit || key < sample.get(sample.size() - 1).key);
  }

  /** Offers a row to the sample (kept sorted by key, at most {@code limit}). */
  void offer(SampleRow r) {
    if (!wantsSample(r.key)) {
      return;
    }
    int at = 0;
    while (at < sample.size() && sample.get(at).key < r.key) at++;
    sample.add(at, r);
    if (sample.size() > limit) {
      sample.remove(sample.size() - 1);
    }
  }

  AttributionSums merge(AttributionSums o) {
    if (o.units != units || o.classes != classes) {
      throw new IllegalArgumentException("attribution sums: expected " + units + " units and " + classes
          + " classes, found " + o.units + " and " + o.classes);
    }
    rows += o.rows;
    for (int u = 0; u < units; u++) {
      sum[u] += o.sum[u];
      sumAbs[u] += o.sumAbs[u];
    }
    for (int i = 0; i < classSum.length; i++) {
      classSum[i] += o.classSum[i];
      classSumAbs[i] += o.classSumAbs[i];
    }
    for (int c = 0; c < classes; c++) classCount[c] += o.classCount[c];
    gapAbsSum += o.gapAbsSum;
    gapMax = Math.max(gapMax, o.gapMax);
    deltaSum += o.deltaSum;
    for (SampleRow r : o.sample) offer(r);
    return this;
  }

  /** The sampled rows ordered by (partition, row). */
  List<SampleRow> sampleInRowOrder() {
    List<SampleRow> s = new ArrayList<>(sample);
    s.sort(Comparator.comparingInt((SampleRow r) -> r.partition).thenComparingInt(r -> r.row));
    return s;
  }

  /** One explained row: where it is, its label and class, F at the row and the baseline, its attributions. */
  static final class SampleRow implements Serializable {
    private static final long serialVersionUID = 1L;
    final long key;
    final int partition;
    final int row;
    /** The label (NaN when the data has none). */
    final float label;
    final int target;
    final double fx;
    final double fBaseline;
    /** The raw feature values. */
    final float[] features;
    /** One attribution per unit. */
    final double[] attributions;

    SampleRow(long key, int partition, int row, float label, int target, double fx, double fBaseline,
        float[] features, double[] attributions) {
      this.key = key;
      this.partition = partition;
      this.row = row;
      this.label = label;
      this.target = target;
      this.fx = fx;
      this.fBaseline = fBaseline;
      this.features = features;
      this.attributions = attributions;
    }
  }
}
