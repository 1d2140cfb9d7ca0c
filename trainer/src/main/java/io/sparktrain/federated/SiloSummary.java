package io.sparktrain.federated;

import io.sparktrain.data.Block;
import io.sparktrain.data.TrainingData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-silo rows and label histogram, and the skew of the split: the total-variation distance of
 * each silo's label distribution from the global one (0 = IID, 1 = disjoint labels), labels
 * present per silo, and the coefficient of variation of silo sizes. Computed from the decoded
 * blocks by one small job; only histograms leave the silos.
 */
public final class SiloSummary {
  private final long[] rows;
  private final long[][] histogram;
  private final double[] tv;

  private SiloSummary(long[] rows, long[][] histogram, double[] tv) {
    this.rows = rows;
    this.histogram = histogram;
    this.tv = tv;
  }

  /** Summarises classification silos with {@code classes} labels. */
  public static SiloSummary of(TrainingData silos, int classes) {
    List<long[]> hists = silos.blocks().map(b -> histogram(b, classes)).collect();
    int k = hists.size();
    long[] rows = new long[k];
    long[][] h = new long[k][];
    long[] global = new long[classes];
    for (int i = 0; i < k; i++) {
      h[i] = hists.get(i);
      for (int c = 0; c < classes; c++) {
        rows[i] += h[i][c];
        global[c] += h[i][c];
      }
    }
    long total = 0;
    for (long g : global) total += g;
    double[] tv = new double[k];
    for (int i = 0; i < k; i++) {
      if (rows[i] == 0) {
        tv[i] = Double.NaN;
        continue;
      }
      double d = 0;
      for (int c = 0; c < classes; c++) d += Math.abs((double) h[i][c] / rows[i] - (double) global[c] / total);
      tv[i] = d / 2;
    }
    return new SiloSummary(rows, h, tv);
  }

  static long[] histogram(Block b, int classes) {
    long[] h = new long[classes];
    float[] y = b.labels();
    for (int i = 0; i < b.rows(); i++) {
      int c = (int) y[i];
      if (c >= 0 && c < classes) {
        h[c]++;
      }
    }
    return h;
  }

  public int silos() { return rows.length; }
  public long rows(int silo) { return rows[silo]; }
  public long[] histogram(int silo) { return histogram[silo].clone(); }
  /** Total-variation distance of silo i's label distribution from the global one. */
  public double tvDistance(int silo) { return tv[silo]; }

  /** Mean TV distance over non-empty silos. */
  public double meanTvDistance() {
    double s = 0;
    int n = 0;
    for (double d : tv) {
      if (!Double.isNaN(d)) {
        s += d;
        n++;
      }
    }
    return n == 0 ? Double.NaN : s / n;
  }

  /** Mean number of labels present per non-empty silo. */
  public double meanLabelsPerSilo() {
    double s = 0;
    int n = 0;
    for (int i = 0; i < rows.length; i++) {
      if (rows[i] == 0) {
        continue;
      }
      for (long c : histogram[i]) s += c > 0 ? 1 : 0;
      n++;
    }
    return n == 0 ? 0 : s / n;
  }

  /** Standard deviation / mean of silo sizes. */
  public double sizeCv() {
    double mean = 0;
    for (long r : rows) mean += r;
    mean /= rows.length;
    double var = 0;
    for (long r : rows) var += (r - mean) * (r - mean);
    return mean == 0 ? 0 : Math.sqrt(var / rows.length) / mean;
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("silos", rows.length);
    m.put("mean_tv_distance", meanTvDistance());
    m.put("mean_labels_per_silo", meanLabelsPerSilo());
    m.put("size_cv", sizeCv());
    List<Object> per = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("silo", i);
      s.put("rows", rows[i]);
      List<Long> h = new ArrayList<>();
      for (long c : histogram[i]) h.add(c);
      s.put("labels", h);
      s.put("tv_distance", tv[i]);
      per.add(s);
    }
    m.put("per_silo", per);
    return m;
  }

  /** A few lines for the log: the skew statistics and the first silos. */
  public String describe(int maxSilos) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "%d silos, rows per silo cv %.2f, labels per silo %.1f, mean TV distance from the global label"
            + " distribution %.3f", rows.length, sizeCv(), meanLabelsPerSilo(), meanTvDistance()));
    for (int i = 0; i < Math.min(maxSilos, rows.length); i++) {
      sb.append(String.format(Locale.ROOT, "%n  silo %d: %d rows, labels %s, tv %.3f", i, rows[i],
          Arrays.toString(histogram[i]), tv[i]));
    }
    return sb.toString();
  }
}
