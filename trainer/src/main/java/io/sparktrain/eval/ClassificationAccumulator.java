package io.sparktrain.eval;

import java.io.Serializable;

/**
 * Sufficient statistics for classification metrics over K classes, added row by row on the
 * executors and merged across partitions (e.g. by {@code treeAggregate}).
 *
 * <p>Holds: the weighted confusion matrix (rows = true class, columns = predicted class, the
 * prediction being the arg-max probability, first index on ties, as Spark's {@code argmax}); the
 * weighted log-loss sum with the true-class probability clipped to [1e-15, 1 - 1e-15] (as
 * sklearn and Spark's {@code MulticlassMetrics.logLoss}); the weight sum and the row count; and,
 * for K == 2 only, histograms of the positive-class probability per true class over
 * {@link #AUC_BINS} equal bins of [0, 1], from which {@link #result()} computes ROC AUC. The
 * histograms are allocated on the first binary {@code add}, so an empty accumulator (the
 * aggregation's zero) serializes to a few hundred bytes; a non-empty binary one is about 160 KB.
 *
 * <p>{@link #merge} adds another accumulator in place; either side may be empty, and the result
 * does not depend on the merge order (up to floating-point rounding of the sums).
 */
public final class ClassificationAccumulator implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Number of score bins for the binary ROC AUC. */
  public static final int AUC_BINS = 10_000;
  /** Probability clipping for the log-loss, as sklearn's and Spark's default eps. */
  public static final double EPS = 1e-15;

  private final int numClasses;
  private final double[][] confusion;
  private double logLossSum;
  private double weightSum;
  private long count;
  /** Positive-class score histograms for true class 0 and 1 (K == 2 only; null until used). */
  private double[] negHist;
  private double[] posHist;

  public ClassificationAccumulator(int numClasses) {
    if (numClasses < 2) {
      throw new IllegalArgumentException("classification accumulator: expected >= 2 classes, found "
          + numClasses);
    }
    this.numClasses = numClasses;
    this.confusion = new double[numClasses][numClasses];
  }

  public int numClasses() {
    return numClasses;
  }

  /** Sum of the weights added. */
  public double weightSum() {
    return weightSum;
  }

  /** Rows added (whatever their weight). */
  public long count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /**
   * Adds one row: true class {@code label}, class probabilities {@code probs[off, off + K)} and a
   * weight {@code >= 0}.
   */
  public void add(int label, float[] probs, int off, double weight) {
    int k = numClasses;
    if (label < 0 || label >= k) {
      throw new IllegalArgumentException("classification label: expected a class index in [0, " + k
          + "), found " + label);
    }
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("row weight: expected a finite value >= 0, found " + weight);
    }
    int pred = 0;
    float best = probs[off];
    for (int j = 1; j < k; j++) {
      float p = probs[off + j];
      if (p > best) {
        best = p;
        pred = j;
      }
    }
    confusion[label][pred] += weight;
    double p = Math.max(Math.min(probs[off + label], 1 - EPS), EPS);
    logLossSum -= weight * Math.log(p);
    weightSum += weight;
    count++;
    if (k == 2) {
      if (posHist == null) {
        negHist = new double[AUC_BINS];
        posHist = new double[AUC_BINS];
      }
      (label == 1 ? posHist : negHist)[bin(probs[off + 1])] += weight;
    }
  }

  /** The histogram bin of a score: floor(s * bins), clamped to [0, bins - 1]; NaN goes to bin 0. */
  static int bin(float score) {
    int b = (int) (score * (double) AUC_BINS);
    return Math.max(0, Math.min(AUC_BINS - 1, b));
  }

  /** Adds {@code other} into this and returns this. */
  public ClassificationAccumulator merge(ClassificationAccumulator other) {
    if (other.numClasses != numClasses) {
      throw new IllegalArgumentException("classification accumulator merge: expected " + numClasses
          + " classes, found " + other.numClasses);
    }
    for (int i = 0; i < numClasses; i++) {
      double[] a = confusion[i];
      double[] b = other.confusion[i];
      for (int j = 0; j < numClasses; j++) a[j] += b[j];
    }
    logLossSum += other.logLossSum;
    weightSum += other.weightSum;
    count += other.count;
    if (other.posHist != null) {
      if (posHist == null) {
        posHist = other.posHist.clone();
        negHist = other.negHist.clone();
      } else {
        for (int i = 0; i < AUC_BINS; i++) {
          posHist[i] += other.posHist[i];
          negHist[i] += other.negHist[i];
        }
      }
    }
    return this;
  }

  /**
   * ROC AUC from the histograms: the ROC curve with one threshold per bin boundary (rows in the
   * same bin are ties), integrated by the trapezoid rule. NaN unless binary with both classes
   * present with positive weight.
   */
  double auc() {
    if (numClasses != 2 || posHist == null) {
      return Double.NaN;
    }
    double pTotal = 0;
    double nTotal = 0;
    for (int i = 0; i < AUC_BINS; i++) {
      pTotal += posHist[i];
      nTotal += negHist[i];
    }
    if (!(pTotal > 0) || !(nTotal > 0)) {
      return Double.NaN;
    }
    // Walk thresholds from the top bin down; each bin adds a trapezoid of width neg (FP step)
    // and mean height (tp before + tp after).
    double area = 0;
    double tp = 0;
    for (int i = AUC_BINS - 1; i >= 0; i--) {
      double p = posHist[i];
      double n = negHist[i];
      area += n * (tp + 0.5 * p);
      tp += p;
    }
    return area / (pTotal * nTotal);
  }

  public ClassificationMetrics result() {
    double[][] copy = new double[numClasses][];
    for (int i = 0; i < numClasses; i++) copy[i] = confusion[i].clone();
    double logLoss = weightSum > 0 ? logLossSum / weightSum : Double.NaN;
    return new ClassificationMetrics(copy, logLoss, weightSum, auc());
  }
}
