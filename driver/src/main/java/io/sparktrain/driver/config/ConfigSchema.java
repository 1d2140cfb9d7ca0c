package io.sparktrain.driver.config;

import io.sparktrain.federated.Compression;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Loss;
import io.sparktrain.train.CheckpointSettings;
import io.sparktrain.train.Defaults;
import io.sparktrain.train.EarlyStoppingSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The one definition of the job config: every key with its path, type, default, allowed values and
 * meaning. {@link JobConfig} validates against it and {@code sparktrain info --schema} prints it (the
 * README's "Configuration reference" is that output, checked by a test), so the documentation cannot
 * drift from the validator.
 */
public final class ConfigSchema {
  /** The type of a key. */
  public enum Kind { SECTION, STRING, INT, LONG, DOUBLE, BOOL, ENUM, INT_LIST, DOUBLE_LIST, STRINGS, MAP, FEATURES }

  /** One key: a section (with children) or a value. */
  public static final class Node {
    final String name;
    final String path;
    final Kind kind;
    final Object def;
    final boolean nullable;
    final boolean required;
    /** Required in the common case (shown as {@code <required>}), but null is allowed; checked elsewhere. */
    final boolean usuallyRequired;
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
      this.usuallyRequired = b.usuallyRequired;
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
        case DOUBLE_LIST: return "a list of numbers" + range();
        case STRINGS: return "a column name or a list of column names";
        case MAP: return "a map of names to values";
        case FEATURES: return "a column name, a list of column names, or a map {numeric: <columns>, categorical:"
            + " [{column, buckets, dim: 16, combiner: mean}, ...]}";
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
    boolean usuallyRequired;
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
    Builder usuallyRequired() { usuallyRequired = true; nullable = true; return this; }
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
        oneOf("name", "adam", "optimizer (lazy_adam: Adam on the touched rows of a sparse first layer only)",
            "sgd", "adam", "adamw", "lazy_adam"),
        number("learning_rate", 0.001, "base learning rate").minExclusive(0),
        number("beta1", 0.9, "adam/adamw/lazy_adam: first-moment decay").min(0).maxExclusive(1),
        number("beta2", 0.999, "adam/adamw/lazy_adam: second-moment decay").min(0).maxExclusive(1),
        number("epsilon", 1.0e-8, "adam/adamw/lazy_adam: denominator epsilon").minExclusive(0),
        number("momentum", 0.0, "sgd: momentum (0 = plain SGD)").min(0).maxExclusive(1),
        bool("nesterov", false, "sgd: Nesterov momentum (needs momentum > 0)"),
        number("weight_decay", 0.0, "sgd/adam/lazy_adam: L2 added to the gradient; adamw: decoupled decay;"
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
          str("train", null, "training data: path (any Hadoop FS URI) or table name when format=table; required"
              + " unless silos.source is synthetic").usuallyRequired(),
          str("test", null, "test data (optional)").nullable(),
          str("validation", null, "validation data, evaluated after each epoch (optional)").nullable(),
          number("validation_fraction", 0.0, "split off train (randomSplit with training.seed) when no"
              + " validation path").min(0).maxExclusive(1),
          number("test_fraction", 0.0, "split off train when no test path").min(0).maxExclusive(1),
          new Builder("features", Kind.FEATURES).def(List.of("features"))
              .doc("one column (Vector or array) or a list of numeric columns; or, with categorical columns into"
              + " embedding tables (integer ids, strings, booleans or arrays of them; the last bucket takes nulls and"
              + " out-of-range ids), a map of numeric (optional) and categorical"),
          str("label", "label", "label column: class index 0..K-1, a number, or an array/Vector of targets"),
          str("weight", null, "optional example-weight column").nullable(),
          bool("standardize", true, "standardize the features inside the model: means and variances of the"
              + " training data (one pass), applied to training, validation and test data, stored in the model"
              + " and applied by transform, predict and evaluate; sparse vectors are scaled, not centred; not"
              + " used by federated runs (scale inside the silos)"),
          map("options", "reader options, e.g. {header: \"true\", inferSchema: \"true\"} for csv"),
          integer("partitions", 0, "0 = as read; n > 0 = repartition(n) once before training, rows ordered by a hash"
              + " of their values (so a partition Spark recomputes after a lost executor holds the same rows in the"
              + " same order)").min(0)),
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
              + " steps per partition, then averaging; federated: the federated and silos sections (each silo"
              + " one partition; the rounds are federated.rounds; the epochs, batch and optimizer keys here do not"
              + " apply; early_stopping and the checkpoint section do)",
              "sync", "average", "federated"),
          oneOf("sync_engine", "auto", "sync mode: auto = local up to 16 MB of decoded training data and 4M"
              + " parameters, else"
              + " collective; local = the blocks are collected to the driver once and every step runs there (no"
              + " Spark job per step; small tables); collective = one Spark barrier stage per span of steps (to"
              + " the next epoch end, validation or checkpoint), the tasks all-reduce the gradients over a TCP ring"
              + " and step their own replicas (needs as many task slots as partitions, else the partitions are"
              + " grouped into the slots once; no dynamic allocation); driver = one Spark job per step, the driver"
              + " sums and steps (slower; for clusters without barrier mode)", "auto", "collective", "driver", "local"),
          oneOf("average_engine", "collective", "average mode: collective = spans of rounds in barrier stages,"
              + " the deltas all-reduced among the tasks (same slot rules as sync_engine; measured 1.16x the driver"
              + " engine in local[2]); driver = one Spark job per round (broadcast, tree aggregation, the driver"
              + " applies the mean delta); the same result", "collective", "driver"),
          number("collective_timeout_s", Defaults.COLLECTIVE_TIMEOUT_S,
              "collective engine: a span fails when a peer makes no progress"
              + " for this long (a hung or lost task); the span then reruns").min(0.1),
          integer("span_retries", Defaults.SPAN_RETRIES,
              "collective engine: reruns of a failed span from its start (identical"
              + " result) before the run fails").min(0),
          integer("epochs", 0, "passes over the training data; 0 = auto: enough for " + Defaults.AUTO_MIN_STEPS
              + " optimizer steps, " + Defaults.EPOCHS + " to " + Defaults.AUTO_MAX_EPOCHS + " epochs, stopping"
              + " early on a training-loss plateau (plateau_tol, plateau_patience)").min(0),
          number("plateau_tol", Defaults.PLATEAU_TOL, "epochs auto: an epoch's mean training loss must beat"
              + " the best by this much to count as progress (scikit-learn's MLP tol)").min(0),
          integer("plateau_patience", Defaults.PLATEAU_PATIENCE, "epochs auto: stop after this many epochs"
              + " without progress (scikit-learn's n_iter_no_change)").min(1),
          longInt("max_rounds", 0, "stop after this many rounds (0 = no limit)").min(0),
          integer("batch_size", 0, "rows per mini-batch (sync: global; average: per local step); 0 = auto:"
              + " training rows / 16, clamped to 16.." + Defaults.BATCH_SIZE).min(0),
          integer("local_steps", Defaults.LOCAL_STEPS, "average mode: local steps per partition and round").min(1),
          longInt("seed", Defaults.SEED, "seed of initialisation, shuffling, dropout and the data splits"),
          number("l2", 0.0, "L2 penalty on the weights").min(0),
          integer("aggregation_depth", Defaults.AGGREGATION_DEPTH, "treeAggregate depth").min(1),
          integer("log_every_rounds", 0, "log a line every n rounds (0 = per epoch only)").min(0),
          integer("validate_every_rounds", 0, "also validate every n rounds (0 = after each epoch only)").min(0),
          oneOf("server_update", "plain", "average mode: plain = params += mean delta; optimizer = the mean"
              + " delta is a pseudo-gradient for training.optimizer", "plain", "optimizer"),
          optimizer("optimizer", "the optimizer (sync: the driver's; average: local steps and server)"),
          optimizer("local_optimizer", "average mode: the optimizer of the local steps; null = training.optimizer")
              .nullable(),
          section("early_stopping", "stop when a validation metric stops improving (checked after each epoch;"
              + " federated: at each evaluation round); null = off",
              str("metric", "val_loss", "a validation metric (val_loss, val_accuracy, ...)")
                  .check("a validation metric such as val_loss or val_accuracy",
                      s -> s.startsWith("val_") ? null : "bad"),
              integer("patience", EarlyStoppingSettings.DEFAULT_PATIENCE,
                  "evaluations without improvement before stopping (epochs; federated:"
                  + " evaluation rounds)").min(1),
              number("min_delta", 0.0, "smallest change that counts as improvement").min(0),
              bool("restore_best_weights", true, "end with the weights of the best evaluation")).nullable(),
          section("distillation", "knowledge distillation (Hinton et al. 2015; classification, any mode): the loss"
              + " becomes alpha T^2 KL(teacher_T || student_T) + (1 - alpha) CE(label); the teacher's parameters are"
              + " broadcast once and its soft targets computed per mini-batch where the rows are; null = off",
              str("teacher", null, "the teacher: a saved classification model directory (a train run's"
                  + " output.dir/model) with the same features and classes").required(),
              number("temperature", 1.0, "T: the softmax temperature of teacher and student (1 = the teacher's"
                  + " own probabilities; Hinton et al. go up to 20, which made a small Fashion-MNIST student worse:"
                  + " docs/BENCHMARKS.md)").minExclusive(0),
              number("alpha", 0.5, "the soft loss's weight (0 = the labels alone, 1 = the teacher alone)").min(0)
                  .max(1)).nullable(),
          section("pretrain", "self-supervised pretraining of the hidden layers (any mode): first the hidden layers and"
              + " a mirrored decoder learn to reconstruct the rows' features from corrupted copies (MSE; labels are not"
              + " read), in the same round loop; the supervised run then starts from them with a fresh output layer;"
              + " with data.standardize the means and variances come from the pretraining rows; dense numeric"
              + " features only; null = off",
              oneOf("method", "denoising_autoencoder", "denoising_autoencoder: encoder = model.hidden, decoder ="
                  + " its mirror, identity outputs", "denoising_autoencoder"),
              integer("epochs", 5, "passes over the pretraining rows (federated: rounds)").min(1),
              integer("batch_size", 0, "pretraining's mini-batch (sync: global; average: per local step); 0 ="
                  + " training.batch_size; federated runs use federated.local_batch").min(0),
              str("noise", "masking(0.2)", "the corruption: masking(p) sets each value to 0 with probability p,"
                  + " gaussian(s) adds N(0, s^2); on the standardized features when standardizing")
                  .check(Corruption.FORMS, ConfigSchema::checkNoise),
              str("data", null, "the rows to pretrain on, read like data.train (format, options, partitions; only the"
                  + " data.features columns, no label needed); null = the training rows; not with training.mode"
                  + " federated, whose silos pretrain on their own rows").nullable()).nullable()),
      section("federated", "federated training (sparktrain experiment): each silo's rows stay in its partition",
          integer("rounds", Defaults.FEDERATED_ROUNDS, "communication rounds").min(1),
          number("client_fraction", Defaults.CLIENT_FRACTION,
              "C: fraction of silos sampled per round (at least one)").minExclusive(0)
              .max(1),
          oneOf("sampling", "uniform", "uniform: max(1, round(C n)) silos; poisson: each silo with probability C",
              "uniform", "poisson"),
          integer("local_epochs", Defaults.LOCAL_EPOCHS, "E: local epochs per round").min(1),
          integer("local_batch", Defaults.LOCAL_BATCH, "B: local mini-batch (0 = the whole silo, full batch)").min(0),
          number("prox_mu", 0.0, "FedProx proximal term mu (0 = FedAvg)").min(0),
          number("stragglers", 0.0, "simulated stragglers (Li et al. 2020): each round round(p m) of the m sampled"
              + " silos, drawn from (seed, round), run e epochs, e uniform in 1..E-1 from (seed, round, silo) (E = 1:"
              + " fewer steps of the one epoch); 0 = none").min(0).maxExclusive(1),
          oneOf("straggler_policy", "auto", "drop: the round averages only the silos that finished E epochs"
              + " (FedAvg in Li et al. 2020; when all straggle the model stays that round); partial: the stragglers'"
              + " partial work is averaged in (FedProx, also with mu 0); auto = drop when prox_mu is 0, else partial",
              "auto", "drop", "partial"),
          section("local_optimizer", "the silos' optimizer",
              oneOf("name", "sgd", "optimizer", "sgd", "adam", "adamw", "lazy_adam"),
              number("learning_rate", 0.05, "client learning rate").minExclusive(0)),
          oneOf("server", "fedavg", "the server rule (Reddi et al. 2021 for the adaptive ones)",
              "fedavg", "fedavgm", "fedadagrad", "fedadam", "fedyogi"),
          number("server_lr", 1.0, "server learning rate (fedavg 1 = plain averaging)").minExclusive(0),
          number("server_momentum", 0.9, "fedavgm: server momentum").min(0).maxExclusive(1),
          number("beta1", 0.9, "fedadam/fedyogi: first-moment decay").min(0).maxExclusive(1),
          number("beta2", 0.99, "fedadam/fedyogi: second-moment decay").min(0).maxExclusive(1),
          number("tau", 1.0e-3, "adaptive servers: adaptivity (denominator) constant").minExclusive(0),
          integer("eval_every_rounds", Defaults.EVAL_EVERY_ROUNDS,
              "evaluate on the test data every n rounds (and after the last)").min(1),
          bool("eval_train_loss", false, "at every evaluation also the global model's loss and accuracy on all"
              + " silos' training rows, scored where they are (global_train_loss, global_train_accuracy: the"
              + " training-loss curve of Li et al. 2020); one more forward pass over the training rows per evaluation"),
          integer("aggregation_depth", Defaults.FEDERATED_AGGREGATION_DEPTH,
              "treeAggregate depth of the silos' updates: 1 = straight to the driver;"
              + " > 1 combines partial sums in a shuffle stage, which the locality audit counts as records moved"
              + " (of updates, not rows) once there are more than about 6 silos").min(1),
          section("dp", "DP-FedAvg: clip each silo's delta, Gaussian noise on the sum; null = off",
              number("clip_norm", 1.0, "S: clip each silo's delta to this L2 norm").minExclusive(0),
              number("noise_multiplier", 1.0, "z: noise N(0, (z S)^2) on the sum").min(0),
              number("delta", 1.0e-5, "delta of the reported (epsilon, delta)").minExclusive(0).maxExclusive(1))
              .nullable(),
          oneOf("aggregation", "mean", "how the server combines updates", "mean", "median", "trimmed_mean",
              "multi_krum"),
          bool("secure_aggregation", false, "pairwise-masked sums (needs aggregation mean)"),
          str("compression", "none", "uploads: none (float32), int8/int4/int2 (stochastic quantization), sign"
              + " (signs and the mean |x| per 4096 values), topk(k) (the fraction k of values largest in magnitude);"
              + " _error_feedback: each silo keeps what compression lost, on its executor, and adds it next time;"
              + " not with secure_aggregation")
              .check(Compression.FORMS, ConfigSchema::checkCompression)),
      section("silos", "where the silos come from (sparktrain experiment)",
          oneOf("source", "iid", "partitions: the input's partitions as they are; paths: one silo per path;"
              + " column: one per value; iid/dirichlet/shards/quantity: simulated from data.train (moves rows once);"
              + " synthetic: FedProx's Synthetic(alpha, beta), generated in place",
              "partitions", "paths", "column", "iid", "dirichlet", "shards", "quantity", "synthetic"),
          integer("count", 10, "iid/dirichlet/shards/quantity: number of silos").min(1),
          number("test_fraction", 0.0, "sparktrain experiment: the fraction of each silo's rows held out as its own"
              + " test rows, after the silos are built (no row leaves its silo); the test data is then the silos'"
              + " held-out rows, evaluated per silo (silos.csv), as federated evaluation on clients' local test sets;"
              + " 0 = data.test or data.test_fraction (synthetic and paths silos hold out data.test_fraction per"
              + " silo)").min(0).maxExclusive(1),
          number("alpha", 0.5, "dirichlet: label-skew concentration; quantity: size-skew concentration")
              .minExclusive(0),
          integer("shards_per_silo", 2, "shards: label-sorted shards per silo (McMahan et al. 2017)").min(1),
          str("column", null, "column: the silo column").nullable(),
          new Builder("paths", Kind.STRINGS).def(null).nullable().check("a path or a list of paths", x -> null)
              .doc("paths: one path per silo (data.format)"),
          section("synthetic", "synthetic: the generator's parameters",
              number("alpha", 1.0, "model heterogeneity").min(0),
              number("beta", 1.0, "data heterogeneity").min(0),
              integer("devices", 30, "devices (silos)").min(1),
              integer("rows", 0, "rows per device; 0 = lognormal(4, 2) + 50 sizes, as in the paper").min(0))),
      section("experiment", "the grid of sparktrain experiment: every combination of the lists is one setting;"
              + " an empty list means the federated/silos value",
          new Builder("algorithms", Kind.STRINGS).def(List.of("federated"))
              .check("a list of fedsgd, fedavg, fedprox(mu), fedavgm(lr), fedadagrad(lr), fedadam(lr), fedyogi(lr),"
                  + " federated", ConfigSchema::checkAlgorithm)
              .doc("presets: fedsgd = E 1, B 0; fedavg/fedprox = the federated section with mu 0 / mu"
                  + " (default federated.prox_mu, else 0.01); server rules take an optional server lr;"
                  + " federated = the section as it is"),
          new Builder("silos", Kind.STRINGS).def(null).nullable()
              .check("a list of iid, dirichlet(alpha), shards(k), quantity(alpha), synthetic(alpha,beta),"
                  + " partitions, paths, column", ConfigSchema::checkSilos)
              .doc("silo settings (null = the silos section)"),
          new Builder("client_fraction", Kind.DOUBLE_LIST).def(List.of()).minExclusive(0).max(1)
              .doc("C values"),
          new Builder("local_epochs", Kind.INT_LIST).def(List.of()).min(1).doc("E values"),
          new Builder("local_batch", Kind.INT_LIST).def(List.of()).min(0).doc("B values (0 = full batch)"),
          new Builder("compression", Kind.STRINGS).def(null).nullable()
              .check("a list of " + Compression.FORMS, ConfigSchema::checkCompression)
              .doc("federated.compression values (null = federated.compression)"),
          new Builder("seeds", Kind.INT_LIST).def(List.of()).min(0).doc("seeds (empty = training.seed)"),
          new Builder("stragglers", Kind.DOUBLE_LIST).def(List.of()).min(0).maxExclusive(1)
              .doc("straggler fractions (empty = federated.stragglers)"),
          new Builder("straggler_policy", Kind.STRINGS).def(null).nullable()
              .check("a list of drop, partial", s -> s.equals("drop") || s.equals("partial") ? null : "bad")
              .doc("straggler policies (null = per algorithm: fedavg drop, fedprox(mu) partial, the others"
                  + " federated.straggler_policy)"),
          new Builder("target_accuracy", Kind.DOUBLE_LIST).def(List.of()).minExclusive(0).max(1)
              .doc("test accuracies for the rounds-to-target table")),
      section("checkpoint", "checkpoints of parameters and optimizer state",
          str("dir", null, "checkpoint directory (any Hadoop FS URI); null = no checkpoints").nullable(),
          integer("every_rounds", 0, "checkpoint every n rounds (0 = off; federated: 0 = every"
              + " federated.eval_every_rounds, and always after the last round and an early stop)").min(0),
          integer("every_epochs", CheckpointSettings.none().everyEpochs(),
              "checkpoint every n epochs (0 = off; not used by federated runs)").min(0),
          integer("keep", CheckpointSettings.DEFAULT_KEEP, "checkpoints to keep").min(1),
          bool("resume", false, "resume from the newest checkpoint in dir (none there: a fresh start)")),
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

  private static String checkAlgorithm(String s) {
    return Presets.algorithm(s) == null ? "bad" : null;
  }

  private static String checkCompression(String s) {
    try {
      Compression.parse(s);
      return null;
    } catch (IllegalArgumentException e) {
      return "bad";
    }
  }

  private static String checkSilos(String s) {
    return Presets.silos(s) == null ? "bad" : null;
  }

  private static String checkActivation(String s) {
    try {
      Activation a = Activation.parse(s);
      return a.kind() == Activation.Kind.SOFTMAX ? "bad" : null;
    } catch (IllegalArgumentException e) {
      return "bad";
    }
  }

  private static String checkNoise(String s) {
    try {
      Corruption.parse(s);
      return null;
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
    String value = n.required || n.usuallyRequired ? "<required>"
        : (n.kind == Kind.STRINGS || n.kind == Kind.FEATURES) && n.def != null && ((List<?>) n.def).size() == 1
        ? yaml(((List<?>) n.def).get(0)) : yaml(n.def);
    String line = pad + n.name + ": " + value;
    sb.append(line).append(" ".repeat(Math.max(1, 40 - line.length())));
    sb.append("# ").append(n.doc).append("; ").append(n.expected())
        .append(n.nullable && !n.usuallyRequired ? " or null" : "")
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
