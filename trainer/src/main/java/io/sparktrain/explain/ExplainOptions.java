package io.sparktrain.explain;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link Explainer} computes and how: the method and its settings. Immutable; build with
 * {@link #builder()}, where every default is defined once and every value is checked in
 * {@link Builder#build()}.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><td>method</td><td>integrated_gradients</td><td>permutation, integrated_gradients, gradient_x_input</td></tr>
 *   <tr><td>output</td><td>probability</td><td>gradient methods: what F(x) is, the probability or the logit of
 *       the explained class (a regressor: its output, or the output layer's pre-activation)</td></tr>
 *   <tr><td>target</td><td>-1</td><td>the explained class; -1 = each row's predicted class (a regressor: the
 *       explained output, -1 = output 0)</td></tr>
 *   <tr><td>steps, rule</td><td>32, gauss_legendre</td><td>integrated gradients: the path integral's points
 *       and rule ({@link Rule}: Gauss-Legendre, Riemann midpoint or trapezoid)</td></tr>
 *   <tr><td>baseline</td><td>zeros</td><td>integrated gradients: zeros, means (of the explained rows) or a
 *       given row of raw feature values</td></tr>
 *   <tr><td>repeats, seed</td><td>5, 1</td><td>permutation: shuffles per feature, and their seed</td></tr>
 *   <tr><td>groups</td><td>none</td><td>named groups of feature indices explained as one unit</td></tr>
 *   <tr><td>sampleRows</td><td>16</td><td>gradient methods: rows whose own attributions are reported</td></tr>
 *   <tr><td>labelCol</td><td>label</td><td>permutation needs labels; the gradient methods read them when
 *       present (for the sample rows)</td></tr>
 *   <tr><td>perPartition</td><td>false</td><td>also one result per partition (a federated silo: rows stay
 *       where they are)</td></tr>
 *   <tr><td>depth</td><td>2</td><td>treeAggregate depth</td></tr>
 * </table>
 */
public final class ExplainOptions implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The attribution methods. */
  public enum Method {
    /** The drop in the model's metric when a feature's values are shuffled among the rows of a partition. */
    PERMUTATION,
    /** Integrated gradients (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks", ICML 2017). */
    INTEGRATED_GRADIENTS,
    /** The input times the gradient at the input: one backward pass per row. */
    GRADIENT_X_INPUT;

    /** The name in configs and on the command line, e.g. {@code integrated_gradients}. */
    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@link #key()} (case-insensitive; {@code ig} and {@code gxi} are accepted too). */
    public static Method parse(String s) {
      String k = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
      switch (k) {
        case "permutation": return PERMUTATION;
        case "integrated_gradients": case "ig": return INTEGRATED_GRADIENTS;
        case "gradient_x_input": case "gxi": case "gradient_times_input": return GRADIENT_X_INPUT;
        default:
          throw new IllegalArgumentException("method: expected one of permutation, integrated_gradients,"
              + " gradient_x_input, found " + s);
      }
    }
  }

  /** The scalar F(x) of the outputs that the gradient methods attribute. */
  public enum Output {
    /** The explained class's probability (a regressor's output). */
    PROBABILITY,
    /** The explained class's logit (log-odds for one sigmoid unit; a regressor's pre-activation). */
    LOGIT;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Output parse(String s) {
      switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "probability": case "output": return PROBABILITY;
        case "logit": return LOGIT;
        default:
          throw new IllegalArgumentException("output: expected probability or logit, found " + s);
      }
    }
  }

  /** How integrated gradients places its m points on the path from the baseline to the row. */
  public enum Rule {
    /** Gauss-Legendre: m nodes and weights on [0, 1]; exact for polynomials of degree 2m - 1 (Captum's default). */
    GAUSS_LEGENDRE,
    /** Riemann midpoint: alpha = (k + 1/2)/m, weight 1/m; error O(1/m^2) on smooth paths. */
    MIDPOINT,
    /** Trapezoid: alpha = k/m for k = 0..m (m + 1 points), weight 1/m, 1/(2m) at the ends. */
    TRAPEZOID;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Rule parse(String s) {
      switch (s.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
        case "gauss_legendre": case "gausslegendre": return GAUSS_LEGENDRE;
        case "midpoint": case "riemann_middle": return MIDPOINT;
        case "trapezoid": case "trapezoidal": case "riemann_trapezoid": return TRAPEZOID;
        default:
          throw new IllegalArgumentException("rule: expected gauss_legendre, midpoint or trapezoid, found " + s);
      }
    }
  }

  /** The integrated-gradients baseline. */
  public enum Baseline {
    ZEROS, MEANS, ROW;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Method method;
  private final Output output;
  private final int target;
  private final int steps;
  private final Rule rule;
  private final Baseline baseline;
  private final float[] baselineRow;
  private final int repeats;
  private final long seed;
  private final Map<String, int[]> groups;
  private final int sampleRows;
  private final String labelCol;
  private final boolean perPartition;
  private final int depth;

  private ExplainOptions(Builder b) {
    this.method = b.method;
    this.output = b.output;
    this.target = b.target;
    this.steps = b.steps;
    this.rule = b.rule;
    this.baseline = b.baseline;
    this.baselineRow = b.baselineRow == null ? null : b.baselineRow.clone();
    this.repeats = b.repeats;
    this.seed = b.seed;
    Map<String, int[]> g = new LinkedHashMap<>();
    b.groups.forEach((k, v) -> g.put(k, v.clone()));
    this.groups = g;
    this.sampleRows = b.sampleRows;
    this.labelCol = b.labelCol;
    this.perPartition = b.perPartition;
    this.depth = b.depth;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    Builder b = new Builder().method(method).output(output).target(target).steps(steps).rule(rule).repeats(repeats)
        .seed(seed).sampleRows(sampleRows).labelCol(labelCol).perPartition(perPartition).depth(depth);
    b.baseline = baseline;
    b.baselineRow = baselineRow;
    groups.forEach(b::group);
    return b;
  }

  public Method method() { return method; }
  public Output output() { return output; }
  /** The explained class (output), or -1 for each row's predicted class (output 0 of a regressor). */
  public int target() { return target; }
  public int steps() { return steps; }
  public Rule rule() { return rule; }
  public Baseline baseline() { return baseline; }
  /** The given baseline row (raw feature values), or null unless {@link #baseline()} is ROW; a copy. */
  public float[] baselineRow() { return baselineRow == null ? null : baselineRow.clone(); }
  public int repeats() { return repeats; }
  public long seed() { return seed; }
  /** The named feature groups, in the order given (empty: every feature is its own unit); arrays shared. */
  public Map<String, int[]> groups() { return Collections.unmodifiableMap(groups); }
  public int sampleRows() { return sampleRows; }
  public String labelCol() { return labelCol; }
  public boolean perPartition() { return perPartition; }
  public int depth() { return depth; }

  /** The settings as a map for reports (only those the method uses). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("method", method.key());
    if (method == Method.PERMUTATION) {
      m.put("repeats", repeats);
      m.put("seed", seed);
    } else {
      m.put("output", output.key());
      m.put("target", target < 0 ? "predicted" : Integer.toString(target));
      if (method == Method.INTEGRATED_GRADIENTS) {
        m.put("steps", steps);
        m.put("rule", rule.key());
        m.put("baseline", baseline.key());
      }
      m.put("sample_rows", sampleRows);
    }
    if (!groups.isEmpty()) {
      m.put("groups", groups.size());
    }
    m.put("per_partition", perPartition);
    return m;
  }

  @Override
  public String toString() {
    return "ExplainOptions" + toMap();
  }

  /** Builds {@link ExplainOptions}; the defaults are the field initialisers here. */
  public static final class Builder {
    private Method method = Method.INTEGRATED_GRADIENTS;
    private Output output = Output.PROBABILITY;
    private int target = -1;
    private int steps = 32;
    private Rule rule = Rule.GAUSS_LEGENDRE;
    private Baseline baseline = Baseline.ZEROS;
    private float[] baselineRow;
    private int repeats = 5;
    private long seed = 1;
    private final Map<String, int[]> groups = new LinkedHashMap<>();
    private int sampleRows = 16;
    private String labelCol = "label";
    private boolean perPartition;
    private int depth = 2;

    private Builder() {
    }

    public Builder method(Method m) {
      this.method = m;
      return this;
    }

    public Builder output(Output o) {
      this.output = o;
      return this;
    }

    /** The explained class (or regression output); -1 = each row's predicted class. */
    public Builder target(int t) {
      this.target = t;
      return this;
    }

    public Builder steps(int m) {
      this.steps = m;
      return this;
    }

    public Builder rule(Rule r) {
      this.rule = r;
      return this;
    }

    /** Baseline all zeros (raw feature values). */
    public Builder zerosBaseline() {
      this.baseline = Baseline.ZEROS;
      this.baselineRow = null;
      return this;
    }

    /** Baseline = the mean of each feature over the explained rows (one more pass over the cached blocks). */
    public Builder meansBaseline() {
      this.baseline = Baseline.MEANS;
      this.baselineRow = null;
      return this;
    }

    /** Baseline = this row of raw feature values (copied). */
    public Builder baselineRow(float[] row) {
      this.baseline = Baseline.ROW;
      this.baselineRow = row.clone();
      return this;
    }

    public Builder repeats(int r) {
      this.repeats = r;
      return this;
    }

    public Builder seed(long s) {
      this.seed = s;
      return this;
    }

    /** Adds a named group of feature indices, explained as one unit (copied). */
    public Builder group(String name, int... features) {
      if (groups.containsKey(name)) {
        throw new IllegalArgumentException("group '" + name + "': given twice");
      }
      groups.put(name, features.clone());
      return this;
    }

    public Builder sampleRows(int n) {
      this.sampleRows = n;
      return this;
    }

    public Builder labelCol(String c) {
      this.labelCol = c;
      return this;
    }

    public Builder perPartition(boolean p) {
      this.perPartition = p;
      return this;
    }

    public Builder depth(int d) {
      this.depth = d;
      return this;
    }

    public ExplainOptions build() {
      if (method == null || output == null || rule == null) {
        throw new IllegalArgumentException("explain: method, output and rule must be given, found " + method + ", "
            + output + ", " + rule);
      }
      if (target < -1) {
        throw new IllegalArgumentException("target: expected a class index >= 0 or -1 (the predicted class), found "
            + target);
      }
      if (steps < 1 || steps > 4096) {
        throw new IllegalArgumentException("steps: expected 1..4096, found " + steps);
      }
      if (repeats < 1 || repeats > 1000) {
        throw new IllegalArgumentException("repeats: expected 1..1000, found " + repeats);
      }
      if (sampleRows < 0 || sampleRows > 10_000) {
        throw new IllegalArgumentException("sample rows: expected 0..10000, found " + sampleRows);
      }
      if (depth < 1) {
        throw new IllegalArgumentException("treeAggregate depth: expected >= 1, found " + depth);
      }
      if (labelCol == null || labelCol.isEmpty()) {
        throw new IllegalArgumentException("label column: expected a name, found " + labelCol);
      }
      for (Map.Entry<String, int[]> g : groups.entrySet()) {
        if (g.getKey().isEmpty() || g.getValue().length == 0) {
          throw new IllegalArgumentException("group '" + g.getKey() + "': expected a name and at least one feature,"
              + " found " + Arrays.toString(g.getValue()));
        }
      }
      if (baseline == Baseline.ROW) {
        for (int j = 0; j < baselineRow.length; j++) {
          if (!Float.isFinite(baselineRow[j])) {
            throw new IllegalArgumentException("baseline row: expected finite values, found " + baselineRow[j]
                + " at feature " + j);
          }
        }
      }
      return new ExplainOptions(this);
    }
  }
}
