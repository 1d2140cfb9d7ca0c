package io.sparktrain.driver;

import io.sparktrain.data.InputSpec;
import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.driver.config.Presets;
import io.sparktrain.driver.report.ExplainReport;
import io.sparktrain.explain.ExplainOptions;
import io.sparktrain.explain.Explainer;
import io.sparktrain.explain.Explanation;
import io.sparktrain.federated.Silos;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetModel;
import io.sparktrain.train.MetricsHistory;
import io.sparktrain.util.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sparktrain explain --model DIR --data PATH [--method ...] [--output DIR]}: feature attributions of a
 * saved model over a whole DataFrame ({@link Explainer}), written as attributions.json, attributions.csv and
 * explain.html.
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
    description = {"Explain a saved model over a DataFrame: which features its outputs depend on.",
        "Writes attributions.json, attributions.csv and explain.html (a ranked bar chart;",
        "per-class heat maps when the feature count is a square, e.g. 784 = 28 x 28)",
        "to --output, and prints the top features."})
final class ExplainCommand implements Callable<Integer> {
  @Mixin
  ModelInput input;

  @Option(names = "--method", paramLabel = "METHOD", defaultValue = "integrated_gradients",
      description = "permutation, integrated_gradients or gradient_x_input (default: ${DEFAULT-VALUE}).")
  String method;

  @Option(names = {"-o", "--output"}, paramLabel = "DIR",
      description = "Where to write the files (any Hadoop FS URI; default: explain-<method> beside the model"
          + " directory, e.g. runs/x/explain-integrated_gradients).")
  String output;

  @Option(names = "--label", paramLabel = "COL", defaultValue = "label", description = "The label column (default:"
      + " ${DEFAULT-VALUE}); needed by permutation, optional for the gradient methods.")
  String label;

  @Option(names = "--explained", paramLabel = "probability|logit", defaultValue = "probability",
      description = "Gradient methods: attribute the class's probability or its logit (a regressor: its output or"
          + " the pre-activation) (default: ${DEFAULT-VALUE}).")
  String explained;

  @Option(names = "--class", paramLabel = "K|predicted", defaultValue = "predicted",
      description = "Gradient methods: the explained class (a regressor: output), or each row's predicted class"
          + " (default: ${DEFAULT-VALUE}).")
  String target;

  @Option(names = "--steps", paramLabel = "M", defaultValue = "32",
      description = "Integrated gradients: points on the path (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--rule", paramLabel = "RULE", defaultValue = "gauss_legendre",
      description = "Integrated gradients: gauss_legendre, midpoint or trapezoid (default: ${DEFAULT-VALUE}).")
  String rule;

  @Option(names = "--baseline", paramLabel = "zeros|means|V,V,...", defaultValue = "zeros",
      description = "Integrated gradients: all zeros, the features' means over the data, or a row of raw values"
          + " (default: ${DEFAULT-VALUE}).")
  String baseline;

  @Option(names = "--repeats", paramLabel = "R", defaultValue = "5",
      description = "Permutation: shuffles per feature (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
      description = "Seed of the shuffles and of the sampled rows (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--group", paramLabel = "NAME=I,J-K",
      description = "A named group of feature indices explained as one unit, e.g. --group top=0-27. Repeatable.")
  Map<String, String> groups = new LinkedHashMap<>();

  @Option(names = "--patches", paramLabel = "K",
      description = "Square inputs (784 = 28 x 28): explain K x K patches of pixels as the units.")
  int patches;

  @Option(names = "--sample-rows", paramLabel = "N", defaultValue = "16",
      description = "Gradient methods: rows whose own attributions are written (default: ${DEFAULT-VALUE}).")
  int sampleRows;

  @Option(names = "--per-partition",
      description = "Also explain each partition of the data on its own (a federated model's silos: the rows stay"
          + " where they are, and the data is never repartitioned).")
  boolean perPartition;

  @Option(names = "--silos", paramLabel = "SPEC",
      description = "Explain per silo (implies --per-partition): partitions (the data's own, rows stay put),"
          + " column (one per value of --silo-column), or simulated from the rows (moved once, as federated training"
          + " simulates them): iid, dirichlet(alpha), shards(k), quantity(alpha), with --silo-count silos.")
  String silos;

  @Option(names = "--silo-count", paramLabel = "N", defaultValue = "10",
      description = "Simulated silos: how many (default: ${DEFAULT-VALUE}).")
  int siloCount;

  @Option(names = "--silo-column", paramLabel = "COL", description = "--silos column: the silo column.")
  String siloColumn;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "-1",
      description = "Repartition the data to N partitions first (rows move); -1 (default): to Spark's default"
          + " parallelism when the data has fewer partitions; 0: as read.")
  int partitions;

  @Option(names = "--class-names", paramLabel = "NAME,...", split = ",",
      description = "Class names by index, for the report.")
  List<String> classNames;

  @Option(names = "--top", paramLabel = "K", defaultValue = "20",
      description = "Units in the report's bar chart (default: ${DEFAULT-VALUE}).")
  int top;

  /** Everything but the data's shape, checked before Spark starts. */
  ExplainOptions options() {
    Presets.Silos silo = null;
    if (silos != null) {
      silo = Presets.silos(silos);
      if (silo == null || silo.source().equals("paths") || silo.source().equals("synthetic")) {
        throw new ConfigException("--silos: expected partitions, column, iid, dirichlet(alpha), shards(k) or"
            + " quantity(alpha), found " + silos);
      }
      if (silo.source().equals("column") && siloColumn == null) {
        throw new ConfigException("--silos column: expected --silo-column, found none");
      }
      if (siloCount < 1) {
        throw new ConfigException("--silo-count: expected >= 1, found " + siloCount);
      }
      perPartition = true;
    }
    ExplainOptions.Builder b = ExplainOptions.builder().labelCol(label).steps(steps).repeats(repeats).seed(seed)
        .sampleRows(sampleRows).perPartition(perPartition);
    try {
      b.method(ExplainOptions.Method.parse(method));
      b.output(ExplainOptions.Output.parse(explained));
      b.rule(ExplainOptions.Rule.parse(rule));
    } catch (IllegalArgumentException e) {
      // "method: expected ..." names the setting; the option that sets it:
      String m = e.getMessage();
      throw new ConfigException("--" + (m.startsWith("output:") ? "explained" + m.substring("output".length()) : m));
    }
    if (!target.equalsIgnoreCase("predicted")) {
      b.target(integer("--class", target, "a class index >= 0 or predicted"));
    }
    switch (baseline.toLowerCase(Locale.ROOT)) {
      case "zeros":
        b.zerosBaseline();
        break;
      case "means":
        b.meansBaseline();
        break;
      default: {
        String[] parts = baseline.split(",");
        float[] row = new float[parts.length];
        for (int j = 0; j < row.length; j++) {
          try {
            row[j] = Float.parseFloat(parts[j].trim());
          } catch (NumberFormatException e) {
            throw new ConfigException("--baseline: expected zeros, means or comma-separated numbers, found '"
                + parts[j].trim() + "' at position " + j);
          }
        }
        b.baselineRow(row);
      }
    }
    for (Map.Entry<String, String> g : groups.entrySet()) {
      b.group(g.getKey(), indices("--group " + g.getKey(), g.getValue()));
    }
    if (patches < 0) {
      throw new ConfigException("--patches: expected K >= 1, found " + patches);
    }
    if (top < 1) {
      throw new ConfigException("--top: expected >= 1, found " + top);
    }
    if (perPartition && partitions > 0) {
      throw new ConfigException("--per-partition explains the partitions as they are: expected no --partitions,"
          + " found " + partitions);
    }
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException("explain: " + e.getMessage());
    }
  }

  private static int integer(String what, String s, String expected) {
    try {
      int v = Integer.parseInt(s.trim());
      if (v >= 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException(what + ": expected " + expected + ", found " + s);
  }

  /** "0-27,56" as indices. */
  static int[] indices(String what, String spec) {
    List<Integer> out = new ArrayList<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      int dash = p.indexOf('-', 1);
      if (dash > 0) {
        int from = integer(what, p.substring(0, dash), "indices such as 0-27,56");
        int to = integer(what, p.substring(dash + 1), "indices such as 0-27,56");
        if (to < from) {
          throw new ConfigException(what + ": expected a range from low to high, found " + p);
        }
        for (int i = from; i <= to; i++) out.add(i);
      } else {
        out.add(integer(what, p, "indices such as 0-27,56"));
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** K x K patches of a side x side image, row by row, named by their pixel rows and columns. */
  static void addPatches(ExplainOptions.Builder b, int d, int k) {
    int side = ExplainReport.side(d);
    if (side < 0) {
      throw new ConfigException("--patches: expected a square number of features (such as 784 = 28 x 28), found "
          + d);
    }
    if (k > side) {
      throw new ConfigException("--patches: expected K <= " + side + " (the image side), found " + k);
    }
    for (int r0 = 0; r0 < side; r0 += k) {
      for (int c0 = 0; c0 < side; c0 += k) {
        int r1 = Math.min(side, r0 + k);
        int c1 = Math.min(side, c0 + k);
        int[] f = new int[(r1 - r0) * (c1 - c0)];
        int n = 0;
        for (int r = r0; r < r1; r++) {
          for (int c = c0; c < c1; c++) f[n++] = r * side + c;
        }
        b.group("rows " + r0 + "-" + (r1 - 1) + " cols " + c0 + "-" + (c1 - 1), f);
      }
    }
  }

  @Override
  public Integer call() throws Exception {
    input.check();
    ExplainOptions o = options();
    if (patches > 0 && !groups.isEmpty()) {
      throw new ConfigException("--patches and --group: expected one of them, found both");
    }
    PrintStream out = Main.Streams.out();
    try (SparkSupport.Session session = SparkSupport.session("sparktrain explain", input.master, null)) {
      NeuralNetModel<?> model = input.load(session.spark);
      if (patches > 0) {
        ExplainOptions.Builder b = o.toBuilder();
        addPatches(b, model.numFeatures(), patches);
        o = b.build();
      }
      boolean classification = model instanceof NeuralNetClassificationModel;
      List<String> cols = input.featureCols(model);
      InputSpec spec = classification ? InputSpec.classification(cols.get(0), label)
          .withNumClasses(((NeuralNetClassificationModel) model).getNumClasses())
          : InputSpec.regression(cols.get(0), label);
      if (cols.size() > 1) {
        spec = spec.withFeatureColumns(ModelInput.array(cols));
      }
      spec = spec.withNumFeatures(model.numFeatures());
      Dataset<Row> df = input.read(session.spark);
      if (silos != null) {
        df = silos(df);
      }
      int have = df.rdd().getNumPartitions();
      int want = partitions > 0 ? partitions : partitions == 0 || perPartition ? have
          : Math.max(have, session.spark.sparkContext().defaultParallelism());
      if (want != have) {
        df = SparkSupport.repartition(df, want);
        out.println("explain: repartitioned the data from " + have + " to " + want + " partitions (rows moved)");
      }
      Explanation e = Explainer.explain(df, spec, model.network(), model.parameters(), model.inputScaling(), o);
      String dir = output != null ? output : defaultOutput(input.model, o.method());
      Map<String, Object> about = new LinkedHashMap<>();
      about.put("model", input.model);
      about.put("data", input.data);
      about.put("num_partitions", want);
      writeAll(e, about, dir, session);
      summary(out, e);
      out.println("explanation: " + SparkSupport.display(dir, session.hadoopConf()));
    }
    return Main.OK;
  }

  /** The rows as silos, one partition each ({@code --silos}). */
  private Dataset<Row> silos(Dataset<Row> df) {
    Presets.Silos p = Presets.silos(silos);
    double[] a = p.args();
    switch (p.source()) {
      case "partitions":
        return df;
      case "column":
        return Silos.byColumn(df, siloColumn);
      case "iid":
        return Silos.partition(df, label, Silos.Split.IID, siloCount, 0, seed);
      case "dirichlet":
        return Silos.partition(df, label, Silos.Split.DIRICHLET, siloCount, a.length == 1 ? a[0] : 0.5, seed);
      case "quantity":
        return Silos.partition(df, label, Silos.Split.QUANTITY, siloCount, a.length == 1 ? a[0] : 0.5, seed);
      case "shards":
        return Silos.partition(df, label, Silos.Split.SHARDS, siloCount, a.length == 1 ? a[0] : 2, seed);
      default:
        throw new AssertionError(p.source());
    }
  }

  static String defaultOutput(String model, ExplainOptions.Method m) {
    Path p = new Path(model);
    Path parent = p.getParent();
    return new Path(parent == null ? new Path(".") : parent, "explain-" + m.key()).toString();
  }

  private void writeAll(Explanation e, Map<String, Object> about, String dir, SparkSupport.Session session)
      throws IOException {
    Map<String, Object> json = new LinkedHashMap<>(about);
    json.putAll(e.toMap());
    if (classNames != null && !classNames.isEmpty()) {
      json.put("class_names", classNames);
    }
    MetricsHistory.writeAtomically(new Path(dir, "attributions.json").toString(),
        (Json.object(json) + "\n").getBytes(StandardCharsets.UTF_8), session.hadoopConf());
    MetricsHistory.writeAtomically(new Path(dir, "attributions.csv").toString(),
        e.toCsv().getBytes(StandardCharsets.UTF_8), session.hadoopConf());
    ExplainReport.write(e, about, classNames, top, new Path(dir, "explain.html").toString(), session.hadoopConf());
  }

  /** Two lines: what ran, and the top units with their scores. */
  static void summary(PrintStream out, Explanation e) {
    StringBuilder sb = new StringBuilder();
    sb.append(e.method().key()).append(String.format(Locale.ROOT, " over %,d rows x %d features in %.1f s", e.rows(),
        e.numFeatures(), e.seconds()));
    if (e.method() == ExplainOptions.Method.PERMUTATION) {
      sb.append(String.format(Locale.ROOT, "; %s %.4f as the rows are", e.metric(), e.baseMetric()));
    } else if (e.method() == ExplainOptions.Method.INTEGRATED_GRADIENTS) {
      sb.append(String.format(Locale.ROOT, "; completeness gap mean %.2g, max %.2g (mean F(x) - F(baseline) %.3g)",
          e.completenessGapMean(), e.completenessGapMax(), e.meanDelta()));
    }
    out.println(sb);
    int[] r = e.ranking();
    double[] s = e.scores();
    StringBuilder t = new StringBuilder("top:");
    for (int i = 0; i < Math.min(10, r.length); i++) {
      t.append(' ').append(e.unitName(r[i])).append(String.format(Locale.ROOT, " %.4g", s[r[i]]))
          .append(i + 1 < Math.min(10, r.length) ? "," : "");
    }
    out.println(t);
  }
}
