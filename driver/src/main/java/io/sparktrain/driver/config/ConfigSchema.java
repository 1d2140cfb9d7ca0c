package io.sparktrain.driver.config;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The one definition of the job config (see /work/shared-notes/CONFIG-SCHEMA.md): every key with its
 * path, type, default, allowed values and meaning. {@link JobConfig} validates against it and
 * {@code sparktrain info --schema} prints it, so the documentation cannot drift from the validator.
 */
public final class ConfigSchema {
  /** The type of a key. */
  public enum Kind { SECTION, STRING, INT, LONG, DOUBLE, BOOL, ENUM, INT_LIST, STRINGS, MAP }

  /** One key: a section (with children) or a value. */
  public static final class Node {
    final String name;
    final String path;
    final Kind kind;
    final Object def;
    final boolean nullable;
    final boolean required;
    final String doc;
    final List<Node> children;
    final List<String> allowed;
    final Double min;
    final Double max;
    final boolean minExclusive;
    final boolean maxExclusive;
    /** STRING: extra check, returns null when fine, else what was expected. */
    final Function<String, String> check;
    final String expectedText;

    private Node(Builder b, String path) {
      this.name = b.name;
      this.path = path;
      this.kind = b.kind;
      this.def = b.def;
      this.nullable = b.nullable;
      this.required = b.required;
      this.doc = b.doc;
      this.allowed = b.allowed;
      this.min = b.min;
      this.max = b.max;
      this.minExclusive = b.minExclusive;
      this.maxExclusive = b.maxExclusive;
      this.check = b.check;
      this.expectedText = b.expectedText;
      List<Node> kids = new ArrayList<>();
      for (Builder c : b.children) kids.add(new Node(c, path.isEmpty() ? c.name : path + "." + c.name));
      this.children = Collections.unmodifiableList(kids);
    }

    public String name() { return name; }
    public String path() { return path; }
    public Kind kind() { return kind; }
    /** The default value (null when none, or when {@link #required()}). */
    public Object defaultValue() { return def; }
    public boolean nullable() { return nullable; }
    public boolean required() { return required; }
    public String doc() { return doc; }
    public List<Node> children() { return children; }
    public List<String> allowed() { return allowed; }

    /** The child named {@code name}, or null. */
    public Node child(String childName) {
      for (Node c : children) {
        if (c.name.equals(childName)) {
          return c;
        }
      }
      return null;
    }

    /** What a value of this key must be, for messages: "an integer >= 1", "one of sync, average". */
    public String expected() {
      if (expectedText != null) {
        return expectedText;
      }
      switch (kind) {
        case SECTION: return "a map with keys " + String.join(", ", childNames()) + (nullable ? " (or null)" : "");
        case STRING: return "a string";
        case INT: return "an integer" + range();
        case LONG: return "an integer" + range();
        case DOUBLE: return "a number" + range();
        case BOOL: return "true or false";
        case ENUM: return "one of " + String.join(", ", allowed);
        case INT_LIST: return "a list of integers" + range();
        case STRINGS: return "a column name or a list of column names";
        case MAP: return "a map of names to values";
        default: throw new AssertionError(kind);
      }
    }

    List<String> childNames() {
      List<String> out = new ArrayList<>();
      for (Node c : children) out.add(c.name);
      return out;
    }

    private String range() {
      if (min != null && max != null) {
        return " in " + (minExclusive ? "(" : "[") + num(min) + ", " + num(max) + (maxExclusive ? ")" : "]");
      }
      if (min != null) {
        return (minExclusive ? " > " : " >= ") + num(min);
      }
      if (max != null) {
        return (maxExclusive ? " < " : " <= ") + num(max);
      }
      return "";
    }

    private static String num(double d) {
      return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
  }

  private static final class Builder {
    final String name;
    final Kind kind;
    Object def;
    boolean nullable;
    boolean required;
    String doc = "";
    List<Builder> children = new ArrayList<>();
    List<String> allowed = List.of();
    Double min;
    Double max;
    boolean minExclusive;
    boolean maxExclusive;
    Function<String, String> check;
    String expectedText;

    Builder(String name, Kind kind) {
      this.name = name;
      this.kind = kind;
    }

    Builder def(Object v) { def = v; return this; }
    Builder nullable() { nullable = true; return this; }
    Builder required() { required = true; return this; }
    Builder doc(String v) { doc = v; return this; }
    Builder min(double v) { min = v; return this; }
    Builder minExclusive(double v) { min = v; minExclusive = true; return this; }
    Builder max(double v) { max = v; return this; }
    Builder maxExclusive(double v) { max = v; maxExclusive = true; return this; }
    Builder check(String expected, Function<String, String> f) { expectedText = expected; check = f; return this; }
    Builder children(Builder... kids) { children = new ArrayList<>(Arrays.asList(kids)); return this; }
  }

  private static Builder section(String name, String doc, Builder... kids) {
    return new Builder(name, Kind.SECTION).doc(doc).children(kids);
  }

  private static Builder str(String name, String def, String doc) {
    return new Builder(name, Kind.STRING).def(def).doc(doc);
  }

  private static Builder integer(String name, int def, String doc) {
    return new Builder(name, Kind.INT).def(def).doc(doc);
  }

  private static Builder longInt(String name, long def, String doc) {
    return new Builder(name, Kind.LONG).def(def).doc(doc);
  }

  private static Builder number(String name, double def, String doc) {
    return new Builder(name, Kind.DOUBLE).def(def).doc(doc);
  }

  private static Builder bool(String name, boolean def, String doc) {
    return new Builder(name, Kind.BOOL).def(def).doc(doc);
  }

  private static Builder oneOf(String name, String def, String doc, String... values) {
    Builder b = new Builder(name, Kind.ENUM).def(def).doc(doc);
    b.allowed = List.of(values);
    return b;
  }

  private static Builder map(String name, String doc) {
    return new Builder(name, Kind.MAP).def(new LinkedHashMap<String, Object>()).doc(doc);
  }

  private static Builder optimizer(String name, String doc) {
    return section(name, doc,
        oneOf("name", "adam", "optimizer", "sgd", "adam", "adamw"),
        number("learning_rate", 0.001, "base learning rate").minExclusive(0),
        number("beta1", 0.9, "adam/adamw: first-moment decay").min(0).maxExclusive(1),
        number("beta2", 0.999, "adam/adamw: second-moment decay").min(0).maxExclusive(1),
        number("epsilon", 1.0e-8, "adam/adamw: denominator epsilon").minExclusive(0),
        number("momentum", 0.0, "sgd: momentum (0 = plain SGD)").min(0).maxExclusive(1),
        bool("nesterov", false, "sgd: Nesterov momentum (needs momentum > 0)"),
        number("weight_decay", 0.0, "sgd/adam: L2 added to the gradient; adamw: decoupled decay;"
            + " null = the optimizer's default (adamw 0.01, else 0)").min(0).nullable().def(null),
        number("clip_norm", 0.0, "clip the gradient to this global L2 norm (0 = off)").min(0),
        section("schedule", "learning-rate schedule over optimizer steps",
            oneOf("name", "constant", "schedule", "constant", "step", "exponential", "cosine"),
            longInt("every", 0, "step: multiply by gamma every this many steps").min(0),
            number("gamma", 1.0, "step/exponential: the factor").minExclusive(0).max(1),
            longInt("warmup", 0, "cosine: linear warm-up steps").min(0),
            longInt("total", 0, "cosine: steps to reach min_factor (> warmup)").min(0),
            number("min_factor", 0.0, "cosine: the final factor").min(0).max(1)));
  }

  private static final Node ROOT = new Node(section("", "",
      str("name", "sparktrain", "run name (output.dir defaults to runs/<name>)")
          .check("a non-empty name without '/'", s -> s.isEmpty() || s.contains("/") ? "bad" : null),
      section("data", "where the data is and which columns to use",
          oneOf("format", "parquet", "reader format; table = a table name in the catalog",
              "parquet", "csv", "json", "libsvm", "orc", "table"),
          str("train", null, "training data: path (any Hadoop FS URI) or table name when format=table").required(),
          str("test", null, "test data (optional)").nullable(),
          str("validation", null, "validation data, evaluated after each epoch (optional)").nullable(),
          number("validation_fraction", 0.0, "split off train (randomSplit with training.seed) when no"
              + " validation path").min(0).maxExclusive(1),
          number("test_fraction", 0.0, "split off train when no test path").min(0).maxExclusive(1),
          new Builder("features", Kind.STRINGS).def(List.of("features"))
              .doc("one column (Vector or array) or a list of numeric columns"),
          str("label", "label", "label column: class index 0..K-1, a number, or an array/Vector of targets"),
          str("weight", null, "optional example-weight column").nullable(),
          map("options", "reader options, e.g. {header: \"true\", inferSchema: \"true\"} for csv"),
          integer("partitions", 0, "0 = as read; n > 0 = repartition(n) once before training").min(0)),
      section("model", "the network",
          oneOf("task", "classification", "classification: K softmax outputs; regression: identity outputs",
              "classification", "regression"),
          new Builder("hidden", Kind.INT_LIST).def(List.of(256, 128)).doc("hidden layer sizes").min(1),
          str("activation", "relu", "hidden activation")
              .check("one of identity, relu, leaky_relu(a), sigmoid, tanh, gelu", ConfigSchema::checkActivation),
          number("dropout", 0.0, "dropout rate of the hidden layers").min(0).maxExclusive(1),
          str("loss", "auto", "auto = softmax_cross_entropy (classification) / mse (regression); or mse, mae,"
              + " huber(d)").check("one of auto, softmax_cross_entropy, mse, mae, huber(d)", ConfigSchema::checkLoss),
          integer("num_classes", 0, "classification: 0 = inferred from the labels").min(0)),
      section("training", "the round loop",
          oneOf("mode", "sync", "sync: one global mini-batch gradient per round; average: local_steps local"
              + " steps per partition, then averaging", "sync", "average"),
          integer("epochs", 10, "passes over the training data").min(1),
          longInt("max_rounds", 0, "stop after this many rounds (0 = no limit)").min(0),
          integer("batch_size", 128, "rows per mini-batch (sync: global; average: per local step)").min(1),
          integer("local_steps", 1, "average mode: local steps per partition and round").min(1),
          longInt("seed", 42, "seed of initialisation, shuffling, dropout and the data splits"),
          number("l2", 0.0, "L2 penalty on the weights").min(0),
          integer("aggregation_depth", 2, "treeAggregate depth").min(1),
          integer("log_every_rounds", 0, "log a line every n rounds (0 = per epoch only)").min(0),
          integer("validate_every_rounds", 0, "also validate every n rounds (0 = after each epoch only)").min(0),
          oneOf("server_update", "plain", "average mode: plain = params += mean delta; optimizer = the mean"
              + " delta is a pseudo-gradient for training.optimizer", "plain", "optimizer"),
          optimizer("optimizer", "the optimizer (sync: the driver's; average: local steps and server)"),
          optimizer("local_optimizer", "average mode: the optimizer of the local steps; null = training.optimizer")
              .nullable(),
          section("early_stopping", "stop when a validation metric stops improving; null = off",
              str("metric", "val_loss", "a validation metric (val_loss, val_accuracy, ...)")
                  .check("a validation metric such as val_loss or val_accuracy",
                      s -> s.startsWith("val_") ? null : "bad"),
              integer("patience", 3, "epochs without improvement before stopping").min(1),
              number("min_delta", 0.0, "smallest change that counts as improvement").min(0),
              bool("restore_best_weights", true, "keep the best epoch's weights")).nullable()),
      section("checkpoint", "checkpoints of parameters and optimizer state",
          str("dir", null, "checkpoint directory (any Hadoop FS URI); null = no checkpoints").nullable(),
          integer("every_rounds", 0, "checkpoint every n rounds (0 = off)").min(0),
          integer("every_epochs", 1, "checkpoint every n epochs (0 = off)").min(0),
          integer("keep", 3, "checkpoints to keep").min(1),
          bool("resume", false, "resume from the newest checkpoint in dir")),
      section("output", "where a train run writes model/, metrics.jsonl, summary.json, test_metrics.json,"
              + " report.html",
          str("dir", null, "output directory; null = runs/<name>").nullable(),
          bool("overwrite", true, "replace the files of an earlier run in dir (false: fail when dir is not empty)")),
      section("spark", "the Spark application",
          str("master", null, "spark.master, only when not set already (e.g. by spark-submit); null = local[*]")
              .nullable(),
          map("conf", "extra Spark conf, e.g. {spark.sql.shuffle.partitions: \"8\"}"))), "");

  private ConfigSchema() {
  }

  /** The root section. */
  public static Node root() {
    return ROOT;
  }

  /** The node at a dotted path, or null. */
  public static Node find(String path) {
    Node n = ROOT;
    for (String part : path.split("\\.")) {
      n = n.child(part);
      if (n == null) {
        return null;
      }
    }
    return n;
  }

  private static String checkActivation(String s) {
    try {
      Activation a = Activation.parse(s);
      return a.kind() == Activation.Kind.SOFTMAX ? "bad" : null;
    } catch (IllegalArgumentException e) {
      return "bad";
    }
  }

  private static String checkLoss(String s) {
    if (s.trim().equalsIgnoreCase("auto")) {
      return null;
    }
    try {
      Loss.parse(s);
      return null;
    } catch (IllegalArgumentException e) {
      return "bad";
    }
  }

  /**
   * The schema as an annotated YAML document: every key with its default, type and meaning. This is
   * what {@code sparktrain info --schema} prints.
   */
  public static String describe() {
    StringBuilder sb = new StringBuilder();
    sb.append("# sparktrain job config: every key, its default, what it accepts and what it means.\n");
    sb.append("# Override any key on the command line: --set training.epochs=2 (the value is YAML).\n");
    for (Node c : ROOT.children) describe(c, 0, sb);
    return sb.toString();
  }

  private static void describe(Node n, int indent, StringBuilder sb) {
    describe(n, indent, "", sb);
  }

  /** Nullable sections are null by default: their keys are printed commented out, so the output is a valid config. */
  private static void describe(Node n, int indent, String comment, StringBuilder sb) {
    String pad = comment + " ".repeat(indent);
    if (n.kind == Kind.SECTION) {
      if (n.nullable && comment.isEmpty()) {
        String line = pad + n.name + ": null";
        sb.append(line).append(" ".repeat(Math.max(1, 40 - line.length()))).append("# ").append(n.doc)
            .append("; when set, a map:\n");
        for (Node c : n.children) describe(c, indent + 2, "# ", sb);
        return;
      }
      sb.append(pad).append(n.name).append(":   # ").append(n.doc).append('\n');
      for (Node c : n.children) describe(c, indent + 2, comment, sb);
      return;
    }
    String value = n.required ? "<required>" : n.kind == Kind.STRINGS && ((List<?>) n.def).size() == 1
        ? yaml(((List<?>) n.def).get(0)) : yaml(n.def);
    String line = pad + n.name + ": " + value;
    sb.append(line).append(" ".repeat(Math.max(1, 40 - line.length())));
    sb.append("# ").append(n.doc).append("; ").append(n.expected()).append(n.nullable ? " or null" : "")
        .append('\n');
  }

  /** A value in YAML flow syntax. */
  static String yaml(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String) {
      String s = (String) v;
      return s.isEmpty() || s.matches(".*[:#{}\\[\\],&*?|<>=!%@`'\"].*") || s.matches("[-+.0-9].*")
          || s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false") || s.equalsIgnoreCase("null")
          ? "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : s;
    }
    if (v instanceof Double) {
      double d = (Double) v;
      if (d != 0 && Math.abs(d) < 1e-4) {
        return String.format(Locale.ROOT, "%.1e", d).replace("e-0", "e-");
      }
      return Double.toString(d);
    }
    if (v instanceof List) {
      StringBuilder sb = new StringBuilder("[");
      for (Object o : (List<?>) v) sb.append(sb.length() > 1 ? ", " : "").append(yaml(o));
      return sb.append(']').toString();
    }
    if (v instanceof Map) {
      StringBuilder sb = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        sb.append(sb.length() > 1 ? ", " : "").append(yaml(String.valueOf(e.getKey()))).append(": ")
            .append(yaml(e.getValue()));
      }
      return sb.append('}').toString();
    }
    return String.valueOf(v);
  }
}
