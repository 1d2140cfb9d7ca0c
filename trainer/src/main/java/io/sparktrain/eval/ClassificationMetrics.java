package io.sparktrain.eval;

import io.sparktrain.util.Json;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Classification metrics from a weighted confusion matrix (rows = true class, columns = predicted
 * class), as produced by {@link ClassificationAccumulator#result()}.
 *
 * <p>Definitions follow Spark's {@code MulticlassMetrics} (and sklearn with
 * {@code zero_division=0}): precision(k) = tp / predicted weight of k, 0 when k is never
 * predicted; recall(k) = tp / true weight of k, 0 when k never occurs; F1 = 2PR / (P + R), 0 when
 * P + R = 0. Weighted averages weigh each class by its true-class weight (Spark's
 * {@code weightedPrecision}, {@code weightedRecall}, {@code weightedFMeasure}; sklearn's
 * {@code average='weighted'}). Macro averages are unweighted means over the classes that occur as
 * a true or a predicted class with positive weight (sklearn's {@code average='macro'} over the
 * labels present). With no weight at all, every metric is NaN.
 */
public final class ClassificationMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int k;
  private final double[][] confusion;
  private final double weightedCount;
  private final double logLoss;
  private final double auc;
  private final double[] trueWeight;
  private final double[] predWeight;
  private final double[] precision;
  private final double[] recall;
  private final double[] f1;

  /** From a K x K weighted confusion matrix (kept, not copied), a mean log-loss and an AUC (NaN if none). */
  public ClassificationMetrics(double[][] confusion, double logLoss, double weightedCount, double auc) {
    this.k = confusion.length;
    this.confusion = confusion;
    this.logLoss = logLoss;
    this.weightedCount = weightedCount;
    this.auc = auc;
    trueWeight = new double[k];
    predWeight = new double[k];
    for (int i = 0; i < k; i++) {
      if (confusion[i].length != k) {
        throw new IllegalArgumentException("confusion matrix: expected " + k + " x " + k
            + ", found a row of " + confusion[i].length);
      }
      for (int j = 0; j < k; j++) {
        trueWeight[i] += confusion[i][j];
        predWeight[j] += confusion[i][j];
      }
    }
    precision = new double[k];
    recall = new double[k];
    f1 = new double[k];
    for (int c = 0; c < k; c++) {
      double tp = confusion[c][c];
      precision[c] = predWeight[c] > 0 ? tp / predWeight[c] : 0;
      recall[c] = trueWeight[c] > 0 ? tp / trueWeight[c] : 0;
      double s = precision[c] + recall[c];
      f1[c] = s > 0 ? 2 * precision[c] * recall[c] / s : 0;
    }
  }

  public int numClasses() { return k; }
  /** Sum of the row weights. */
  public double weightedCount() { return weightedCount; }
  /** Weighted mean of -log p(true class), p clipped to [1e-15, 1 - 1e-15]. */
  public double logLoss() { return logLoss; }
  /** ROC AUC of the positive-class score (binned, see {@link ClassificationAccumulator}); NaN unless binary. */
  public double auc() { return auc; }

  public double precision(int c) { return precision[c]; }
  public double recall(int c) { return recall[c]; }
  public double f1(int c) { return f1[c]; }
  /** Weight of the rows whose true class is {@code c}. */
  public double support(int c) { return trueWeight[c]; }

  /** A copy of the weighted confusion matrix, [true][predicted]. */
  public double[][] confusionMatrix() {
    double[][] m = new double[k][];
    for (int i = 0; i < k; i++) m[i] = confusion[i].clone();
    return m;
  }

  public double accuracy() {
    if (!(weightedCount > 0)) {
      return Double.NaN;
    }
    double t = 0;
    for (int c = 0; c < k; c++) t += confusion[c][c];
    return t / weightedCount;
  }

  public double precisionMacro() { return macro(precision); }
  public double recallMacro() { return macro(recall); }
  public double f1Macro() { return macro(f1); }
  public double precisionWeighted() { return weighted(precision); }
  public double recallWeighted() { return weighted(recall); }
  public double f1Weighted() { return weighted(f1); }

  private double macro(double[] v) {
    double s = 0;
    int n = 0;
    for (int c = 0; c < k; c++) {
      if (trueWeight[c] > 0 || predWeight[c] > 0) {
        s += v[c];
        n++;
      }
    }
    return n == 0 ? Double.NaN : s / n;
  }

  private double weighted(double[] v) {
    double total = 0;
    double s = 0;
    for (int c = 0; c < k; c++) {
      s += trueWeight[c] * v[c];
      total += trueWeight[c];
    }
    return total > 0 ? s / total : Double.NaN;
  }

  public boolean isBinary() {
    return k == 2;
  }

  /**
   * The scalar metrics under stable snake_case keys, in this order: accuracy, precision_macro,
   * recall_macro, f1_macro, precision_weighted, recall_weighted, f1_weighted, log_loss, and auc
   * when binary. Unmodifiable.
   */
  public Map<String, Double> toMap() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("accuracy", accuracy());
    m.put("precision_macro", precisionMacro());
    m.put("recall_macro", recallMacro());
    m.put("f1_macro", f1Macro());
    m.put("precision_weighted", precisionWeighted());
    m.put("recall_weighted", recallWeighted());
    m.put("f1_weighted", f1Weighted());
    m.put("log_loss", logLoss);
    if (isBinary()) {
      m.put("auc", auc);
    }
    return Collections.unmodifiableMap(m);
  }

  /**
   * One JSON object: the {@link #toMap()} entries, then num_classes, weighted_count, per-class
   * arrays precision, recall, f1, support, and confusion_matrix ([true][predicted]). NaN is
   * written as null.
   */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>(toMap());
    m.put("num_classes", k);
    m.put("weighted_count", weightedCount);
    m.put("precision", precision);
    m.put("recall", recall);
    m.put("f1", f1);
    m.put("support", trueWeight);
    m.put("confusion_matrix", confusion);
    return Json.object(m);
  }

  @Override
  public String toString() {
    return "ClassificationMetrics" + toMap();
  }
}
