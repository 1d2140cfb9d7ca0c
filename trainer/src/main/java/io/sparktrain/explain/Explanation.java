package io.sparktrain.explain;

import io.sparktrain.util.Json;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The result of {@link Explainer}: one score per unit (a feature, or a named group of features), and
 * what stands behind it.
 *
 * <ul>
 *   <li>Gradient methods: the mean |attribution| per unit (the score) and the mean signed attribution,
 *       overall and per explained class; for integrated gradients the completeness gap (mean and
 *       largest |sum of a row's attributions - (F(x) - F(baseline))|); a sample of rows with their own
 *       attributions.
 *   <li>Permutation: the metric on the rows as they are, and per unit the drop (accuracy) or
 *       increase (mean squared error) after shuffling, per repeat, with its mean (the score) and
 *       sample standard deviation; a classifier's log-loss increase beside it.
 * </ul>
 * With {@code perPartition} there is also one explanation per partition ({@link #partitions()}),
 * each over its own rows only. {@link #toJson()} and {@link #toCsv()} write it out.
 */
public final class Explanation implements Serializable {
  private static final long serialVersionUID = 1L;

  private final ExplainOptions options;
  private final String task;
  private final int classes;
  private final String explained;
  private final List<String> featureNames;
  private final Units units;
  private final int partition;
  private final long rows;
  // Gradient methods.
  private double[] meanAbs;
  private double[] mean;
  private double[][] classMeanAbs;
  private double[][] classMean;
  private long[] classCount;
  private double gapMean = Double.NaN;
  private double gapMax = Double.NaN;
  private double deltaMean = Double.NaN;
  private float[] baseline;
  private List<ExplainedRow> sample = List.of();
  // Permutation.
  private String metric;
  private double baseMetric = Double.NaN;
  private double baseLogLoss = Double.NaN;
  private double[][] drops;
  private double[][] logLossIncreases;
  private double[] dropMean;
  private double[] dropStd;
  private List<Explanation> partitions = List.of();
  private double seconds = Double.NaN;

  private Explanation(ExplainOptions options, String task, int classes, String explained, List<String> featureNames,
      Units units, int partition, long rows) {
    this.options = options;
    this.task = task;
    this.classes = classes;
    this.explained = explained;
    this.featureNames = List.copyOf(featureNames);
    this.units = units;
    this.partition = partition;
    this.rows = rows;
  }

  /** From the merged sums of a gradient method. */
  static Explanation ofAttributions(ExplainOptions o, ModelOutput f, List<String> featureNames, Units units,
      int partition, AttributionSums s, float[] baseline) {
    Explanation e = new Explanation(o, f.isClassifier() ? "classification" : "regression", f.classes(),
        f.describe(), featureNames, units, partition, s.rows);
    int u = units.size();
    e.meanAbs = new double[u];
    e.mean = new double[u];
    for (int i = 0; i < u; i++) {
      e.meanAbs[i] = s.rows > 0 ? s.sumAbs[i] / s.rows : Double.NaN;
      e.mean[i] = s.rows > 0 ? s.sum[i] / s.rows : Double.NaN;
    }
    e.classCount = s.classCount.clone();
    e.classMeanAbs = new double[s.classes][u];
    e.classMean = new double[s.classes][u];
    for (int c = 0; c < s.classes; c++) {
      long n = s.classCount[c];
      for (int i = 0; i < u; i++) {
        e.classMeanAbs[c][i] = n > 0 ? s.classSumAbs[c * u + i] / n : Double.NaN;
        e.classMean[c][i] = n > 0 ? s.classSum[c * u + i] / n : Double.NaN;
      }
    }
    if (o.method() == ExplainOptions.Method.INTEGRATED_GRADIENTS) {
      e.gapMean = s.rows > 0 ? s.gapAbsSum / s.rows : Double.NaN;
      e.gapMax = s.rows > 0 ? s.gapMax : Double.NaN;
      e.deltaMean = s.rows > 0 ? s.deltaSum / s.rows : Double.NaN;
      e.baseline = baseline == null ? null : baseline.clone();
    }
    List<ExplainedRow> rows = new ArrayList<>();
    for (AttributionSums.SampleRow r : s.sampleInRowOrder()) {
      rows.add(new ExplainedRow(r.partition, r.row, r.label, r.target, r.fx, r.fBaseline, r.features,
          r.attributions));
    }
    e.sample = Collections.unmodifiableList(rows);
    return e;
  }

  /** From the merged sums of permutation importance. */
  static Explanation ofPermutation(ExplainOptions o, ModelOutput f, List<String> featureNames, Units units,
      int partition, PermutationImportance.Sums s, long rows) {
    boolean cls = f.isClassifier();
    Explanation e = new Explanation(o, cls ? "classification" : "regression", f.classes(), null, featureNames, units,
        partition, rows);
    e.metric = cls ? "accuracy" : "mse";
    double w = s.weight;
    e.baseMetric = w > 0 ? s.base[0] / w : Double.NaN;
    e.baseLogLoss = cls && w > 0 ? s.base[1] / w : Double.NaN;
    int u = units.size();
    int reps = s.repeats;
    e.drops = new double[u][reps];
    e.logLossIncreases = cls ? new double[u][reps] : null;
    e.dropMean = new double[u];
    e.dropStd = new double[u];
    for (int i = 0; i < u; i++) {
      for (int r = 0; r < reps; r++) {
        int at = (i * reps + r) * 2;
        double m = w > 0 ? s.shuffled[at] / w : Double.NaN;
        // Importance is how much worse the model gets: accuracy drops, squared error rises.
        e.drops[i][r] = cls ? e.baseMetric - m : m - e.baseMetric;
        if (cls) {
          e.logLossIncreases[i][r] = w > 0 ? s.shuffled[at + 1] / w - e.baseLogLoss : Double.NaN;
        }
      }
      e.dropMean[i] = meanOf(e.drops[i]);
      e.dropStd[i] = stdOf(e.drops[i]);
    }
    return e;
  }

  static double meanOf(double[] v) {
    double s = 0;
    for (double x : v) s += x;
    return v.length == 0 ? Double.NaN : s / v.length;
  }

  /** Sample standard deviation (n - 1); 0 for a single value. */
  static double stdOf(double[] v) {
    if (v.length < 2) {
      return 0;
    }
    double m = meanOf(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return Math.sqrt(s / (v.length - 1));
  }

  void setPartitions(List<Explanation> parts) {
    this.partitions = List.copyOf(parts);
  }

  void setSeconds(double s) {
    this.seconds = s;
  }

  public ExplainOptions options() { return options; }
  public ExplainOptions.Method method() { return options.method(); }
  /** "classification" or "regression". */
  public String task() { return task; }
  /** Classes of a classifier (results per class), else 1. */
  public int classes() { return classes; }
  /** Gradient methods: what F is ("probability of the predicted class"); null for permutation. */
  public String explained() { return explained; }
  /** The model's features, by index. */
  public List<String> featureNames() { return featureNames; }
  public int numFeatures() { return featureNames.size(); }
  /** Units results are given for: the features, or the named groups. */
  public int numUnits() { return units.size(); }
  public String unitName(int u) { return units.name(u); }
  /** The features of unit u (a copy). */
  public int[] unitFeatures(int u) { return units.members(u).clone(); }
  /** Whether unit u is feature u for every u (no groups). */
  public boolean perFeature() { return units.perFeature(); }
  /** The partition these results are for, or -1 for all rows. */
  public int partition() { return partition; }
  public long rows() { return rows; }
  /** Wall time of the explanation in seconds (NaN when not measured, e.g. per partition). */
  public double seconds() { return seconds; }
  /** One explanation per partition, in partition order, when asked for; else empty. */
  public List<Explanation> partitions() { return partitions; }

  /** The score per unit: mean |attribution| (gradient methods) or the mean metric drop (permutation); a copy. */
  public double[] scores() {
    return (method() == ExplainOptions.Method.PERMUTATION ? dropMean : meanAbs).clone();
  }

  /** Unit indices by score, highest first (ties by index); NaN scores last. */
  public int[] ranking() {
    double[] s = scores();
    Integer[] idx = new Integer[s.length];
    for (int i = 0; i < idx.length; i++) idx[i] = i;
    Arrays.sort(idx, (a, b) -> {
      double x = Double.isNaN(s[a]) ? Double.NEGATIVE_INFINITY : s[a];
      double y = Double.isNaN(s[b]) ? Double.NEGATIVE_INFINITY : s[b];
      int c = Double.compare(y, x);
      return c != 0 ? c : Integer.compare(a, b);
    });
    return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
  }

  /** Gradient methods: mean |attribution| per unit (null for permutation); a copy. */
  public double[] meanAbs() { return meanAbs == null ? null : meanAbs.clone(); }
  /** Gradient methods: mean signed attribution per unit; a copy. */
  public double[] mean() { return mean == null ? null : mean.clone(); }
  /** Gradient methods: mean |attribution| per unit over the rows explained for class c (NaN without rows). */
  public double[] classMeanAbs(int c) { return classMeanAbs[c].clone(); }
  /** Gradient methods: mean signed attribution per unit over the rows explained for class c. */
  public double[] classMean(int c) { return classMean[c].clone(); }
  /** Gradient methods: rows explained for each class (the predicted class unless a target was given). */
  public long[] classCounts() { return classCount.clone(); }
  /** Integrated gradients: mean over rows of |sum of attributions - (F(x) - F(baseline))|; else NaN. */
  public double completenessGapMean() { return gapMean; }
  /** Integrated gradients: the largest such gap over the rows; else NaN. */
  public double completenessGapMax() { return gapMax; }
  /** Integrated gradients: mean of F(x) - F(baseline) over the rows (the scale the gap compares to). */
  public double meanDelta() { return deltaMean; }
  /** Integrated gradients: the baseline row (raw features); else null. */
  public float[] baseline() { return baseline == null ? null : baseline.clone(); }
  /** Gradient methods: the sampled rows with their attributions, by (partition, row). */
  public List<ExplainedRow> sample() { return sample; }

  /** Permutation: "accuracy" (classifiers) or "mse" (regressors); else null. */
  public String metric() { return metric; }
  /** Permutation: the metric on the rows as they are. */
  public double baseMetric() { return baseMetric; }
  /** Permutation, classifiers: the log loss on the rows as they are. */
  public double baseLogLoss() { return baseLogLoss; }
  /** Permutation: per repeat, how much worse the metric gets when unit u is shuffled (accuracy drop, MSE rise). */
  public double[] drops(int u) { return drops[u].clone(); }
  /** Permutation, classifiers: per repeat, the log-loss increase when unit u is shuffled. */
  public double[] logLossIncreases(int u) { return logLossIncreases == null ? null : logLossIncreases[u].clone(); }
  /** Permutation: mean drop per unit (the score); a copy. */
  public double[] dropMean() { return dropMean == null ? null : dropMean.clone(); }
  /** Permutation: sample standard deviation of the drop over the repeats, per unit; a copy. */
  public double[] dropStd() { return dropStd == null ? null : dropStd.clone(); }

  /** One explained row: where it is, its label, the explained class, F at the row and at the baseline, attributions. */
  public static final class ExplainedRow implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int partition;
    private final int row;
    private final float label;
    private final int target;
    private final double fx;
    private final double fBaseline;
    private final float[] features;
    private final double[] attributions;

    ExplainedRow(int partition, int row, float label, int target, double fx, double fBaseline, float[] features,
        double[] attributions) {
      this.partition = partition;
      this.row = row;
      this.label = label;
      this.target = target;
      this.fx = fx;
      this.fBaseline = fBaseline;
      this.features = features.clone();
      this.attributions = attributions.clone();
    }

    public int partition() { return partition; }
    /** The row's position in its partition. */
    public int row() { return row; }
    /** The label, NaN when the data has none. */
    public float label() { return label; }
    /** The explained class (output). */
    public int target() { return target; }
    /** F at the row. */
    public double fx() { return fx; }
    /** F at the baseline (integrated gradients), else NaN. */
    public double fBaseline() { return fBaseline; }
    /** The raw features; a copy. */
    public float[] features() { return features.clone(); }
    /** One attribution per unit; a copy. */
    public double[] attributions() { return attributions.clone(); }
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  /** The whole explanation as a JSON object (non-finite numbers as null). */
  public String toJson() {
    return Json.object(toMap()) + "\n";
  }

  /** The explanation as nested maps and lists, in the order {@link #toJson()} writes them. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("method", method().key());
    m.put("settings", options.toMap());
    m.put("task", task);
    if ("classification".equals(task)) {
      m.put("classes", classes);
    }
    if (explained != null) {
      m.put("explained", explained);
    }
    m.put("rows", rows);
    if (partition >= 0) {
      m.put("partition", partition);
    }
    m.put("features", featureNames.size());
    if (Double.isFinite(seconds)) {
      m.put("seconds", seconds);
    }
    if (method() == ExplainOptions.Method.PERMUTATION) {
      m.put("metric", metric);
      m.put("base_" + metric, baseMetric);
      if (Double.isFinite(baseLogLoss) || "accuracy".equals(metric)) {
        m.put("base_log_loss", baseLogLoss);
      }
    } else if (method() == ExplainOptions.Method.INTEGRATED_GRADIENTS) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("mean_abs_gap", gapMean);
      c.put("max_abs_gap", gapMax);
      c.put("mean_delta", deltaMean);
      m.put("completeness", c);
    }
    List<Object> us = new ArrayList<>();
    int[] rank = ranking();
    int[] place = new int[rank.length];
    for (int i = 0; i < rank.length; i++) place[rank[i]] = i + 1;
    for (int u = 0; u < units.size(); u++) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("index", u);
      e.put("name", units.name(u));
      if (!units.perFeature()) {
        e.put("features", Arrays.stream(units.members(u)).asLongStream().toArray());
      }
      e.put("rank", place[u]);
      if (method() == ExplainOptions.Method.PERMUTATION) {
        e.put("importance", dropMean[u]);
        e.put("std", dropStd[u]);
        e.put(metric.equals("accuracy") ? "accuracy_drops" : "mse_increases", drops[u].clone());
        if (logLossIncreases != null) {
          e.put("log_loss_increase", meanOf(logLossIncreases[u]));
          e.put("log_loss_increases", logLossIncreases[u].clone());
        }
      } else {
        e.put("mean_abs", meanAbs[u]);
        e.put("mean", mean[u]);
      }
      us.add(e);
    }
    m.put("units", us);
    if (method() != ExplainOptions.Method.PERMUTATION) {
      Map<String, Object> pc = new LinkedHashMap<>();
      pc.put("rows", classCount.clone());
      pc.put("mean_abs", copy(classMeanAbs));
      pc.put("mean", copy(classMean));
      m.put("per_class", pc);
      if (baseline != null) {
        m.put("baseline", toDoubles(baseline));
      }
      List<Object> rs = new ArrayList<>();
      for (ExplainedRow r : sample) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("partition", r.partition);
        e.put("row", r.row);
        e.put("label", Float.isNaN(r.label) ? null : (double) r.label);
        e.put("class", r.target);
        e.put("f", r.fx);
        if (Double.isFinite(r.fBaseline)) {
          e.put("f_baseline", r.fBaseline);
        }
        e.put("attributions", r.attributions.clone());
        e.put("features", toDoubles(r.features));
        rs.add(e);
      }
      m.put("sample", rs);
    }
    if (!partitions.isEmpty()) {
      List<Object> ps = new ArrayList<>();
      for (Explanation p : partitions) ps.add(p.partitionSummary(this));
      m.put("partitions", ps);
    }
    return m;
  }

  /** What a partition's explanation says, for the per-partition list: its rows, scores and top units. */
  private Map<String, Object> partitionSummary(Explanation all) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("partition", partition);
    m.put("rows", rows);
    if (method() == ExplainOptions.Method.PERMUTATION) {
      m.put("base_" + metric, baseMetric);
    }
    int k = Math.min(10, units.size());
    int[] r = ranking();
    List<Object> top = new ArrayList<>();
    for (int i = 0; i < k; i++) top.add(units.name(r[i]));
    m.put("top", top);
    m.put("top_overlap", rows > 0 ? topOverlap(all, k) : null);
    m.put("rank_correlation", rows > 0 ? rankCorrelation(all) : null);
    m.put("scores", scores());
    return m;
  }

  /** The share of this explanation's top k units that are among {@code other}'s top k. */
  public double topOverlap(Explanation other, int k) {
    int[] a = ranking();
    int[] b = other.ranking();
    k = Math.min(k, Math.min(a.length, b.length));
    boolean[] inB = new boolean[b.length];
    for (int i = 0; i < k; i++) inB[b[i]] = true;
    int n = 0;
    for (int i = 0; i < k; i++) n += inB[a[i]] ? 1 : 0;
    return k == 0 ? Double.NaN : (double) n / k;
  }

  /**
   * Spearman's rank correlation between this explanation's scores and {@code other}'s: the Pearson
   * correlation of their ranks, tied scores sharing their mean rank (units no row moves, such as
   * always-blank pixels, tie at the bottom of both). NaN with fewer than two units or a constant side.
   */
  public double rankCorrelation(Explanation other) {
    double[] a = averageRanks(scores());
    double[] b = averageRanks(other.scores());
    int n = a.length;
    if (n < 2 || b.length != n) {
      return Double.NaN;
    }
    double ma = meanOf(a);
    double mb = meanOf(b);
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < n; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Double.NaN;
  }

  /** Ranks 1..n of {@code s} ascending, ties given their mean rank, NaN lowest. */
  static double[] averageRanks(double[] s) {
    int n = s.length;
    Integer[] idx = new Integer[n];
    for (int i = 0; i < n; i++) idx[i] = i;
    Arrays.sort(idx, (x, y) -> Double.compare(Double.isNaN(s[x]) ? Double.NEGATIVE_INFINITY : s[x],
        Double.isNaN(s[y]) ? Double.NEGATIVE_INFINITY : s[y]));
    double[] r = new double[n];
    for (int i = 0; i < n;) {
      int j = i;
      while (j + 1 < n && Double.compare(s[idx[j + 1]], s[idx[i]]) == 0) j++;
      double mean = (i + j) / 2.0 + 1;
      for (int k = i; k <= j; k++) r[idx[k]] = mean;
      i = j + 1;
    }
    return r;
  }

  /**
   * One line per unit, in unit order: {@code index,name,rank,} then the permutation importance, its
   * standard deviation and the log-loss increase, or the mean |attribution|, the mean attribution and the
   * mean |attribution| per class.
   */
  public String toCsv() {
    StringBuilder sb = new StringBuilder("index,name,rank");
    boolean perm = method() == ExplainOptions.Method.PERMUTATION;
    if (perm) {
      sb.append(',').append(metric.equals("accuracy") ? "accuracy_drop" : "mse_increase").append(",std");
      if (logLossIncreases != null) {
        sb.append(",log_loss_increase");
      }
    } else {
      sb.append(",mean_abs,mean");
      for (int c = 0; c < classMeanAbs.length; c++) sb.append(",mean_abs_class_").append(c);
    }
    sb.append('\n');
    int[] rank = ranking();
    int[] place = new int[rank.length];
    for (int i = 0; i < rank.length; i++) place[rank[i]] = i + 1;
    for (int u = 0; u < units.size(); u++) {
      sb.append(u).append(',').append(csv(units.name(u))).append(',').append(place[u]);
      if (perm) {
        sb.append(',').append(num(dropMean[u])).append(',').append(num(dropStd[u]));
        if (logLossIncreases != null) {
          sb.append(',').append(num(meanOf(logLossIncreases[u])));
        }
      } else {
        sb.append(',').append(num(meanAbs[u])).append(',').append(num(mean[u]));
        for (double[] c : classMeanAbs) sb.append(',').append(num(c[u]));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String num(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "";
  }

  private static String csv(String s) {
    return s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0
        ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static double[] toDoubles(float[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) d[i] = v[i];
    return d;
  }

  private static double[][] copy(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
    return c;
  }

  @Override
  public String toString() {
    int[] r = ranking();
    StringBuilder sb = new StringBuilder("Explanation(").append(method().key()).append(", ").append(rows)
        .append(" rows, top:");
    double[] s = scores();
    for (int i = 0; i < Math.min(5, r.length); i++) {
      sb.append(' ').append(units.name(r[i])).append('=').append(String.format(Locale.ROOT, "%.4g", s[r[i]]));
    }
    return sb.append(')').toString();
  }
}
