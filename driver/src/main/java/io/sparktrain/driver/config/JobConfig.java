package io.sparktrain.driver.config;

import io.sparktrain.driver.config.ConfigSchema.Kind;
import io.sparktrain.driver.config.ConfigSchema.Node;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.ServerOptimizer;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.optim.LearningRateSchedule;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.Mode;
import io.sparktrain.train.TrainConfig;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A validated job config: the YAML file plus {@code --set key.path=value} overrides, checked against
 * {@link ConfigSchema} with defaults filled in. Every value has the type of its key (integers as
 * Integer or Long, numbers as Double, lists as List, maps as Map of strings), so the typed getters
 * cannot fail on a config that was built. Errors are {@link ConfigException}s naming the key path.
 */
public final class JobConfig {
  private final Map<String, Object> tree;

  private JobConfig(Map<String, Object> tree) {
    this.tree = tree;
  }

  // ---------------------------------------------------------------- loading

  /** Reads {@code file} (a local path), applies the overrides and validates. */
  public static JobConfig load(Path file, List<String> overrides) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such config file");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read the config file: " + e.getMessage());
    }
    return parse(text, file.toString(), overrides);
  }

  /** Parses YAML {@code text} (named {@code source} in messages), applies the overrides and validates. */
  public static JobConfig parse(String text, String source, List<String> overrides) {
    Object doc;
    try {
      doc = yaml().load(text);
    } catch (MarkedYAMLException e) {
      Mark m = e.getProblemMark();
      throw new ConfigException(source + ": invalid YAML" + (m == null ? "" : " at line " + (m.getLine() + 1)
          + ", column " + (m.getColumn() + 1)) + ": " + oneLine(e.getProblem()));
    } catch (YAMLException e) {
      throw new ConfigException(source + ": invalid YAML: " + oneLine(e.getMessage()));
    }
    if (doc != null && !(doc instanceof Map)) {
      throw new ConfigException(source + ": expected a YAML map of sections (data, model, training, ...), found "
          + describe(doc));
    }
    Map<String, Object> raw = doc == null ? new LinkedHashMap<>() : stringKeys((Map<?, ?>) doc);
    for (String o : overrides == null ? List.<String>of() : overrides) applyOverride(raw, o);
    return fromMap(raw);
  }

  /** Validates an already-parsed config (nested maps, lists and scalars). */
  public static JobConfig fromMap(Map<String, Object> raw) {
    List<String> errors = new ArrayList<>();
    Map<String, Object> tree = resolveSection(ConfigSchema.root(), raw, errors);
    if (errors.isEmpty()) {
      crossChecks(tree, errors);
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(String.join("; ", errors));
    }
    JobConfig cfg = new JobConfig(Collections.unmodifiableMap(tree));
    cfg.trainConfig(); // what the library checks on top of the schema
    cfg.federatedConfig();
    if (cfg.isFederated()) {
      cfg.federatedTrainConfig();
    }
    return cfg;
  }

  private static Yaml yaml() {
    LoaderOptions o = new LoaderOptions();
    o.setAllowDuplicateKeys(false);
    return new Yaml(new SafeConstructor(o));
  }

  /** Parses one {@code --set key.path=value} value as YAML (a scalar, list or map). */
  static Object parseValue(String key, String value) {
    if (value.isEmpty()) {
      return null;
    }
    try {
      return yaml().load(value);
    } catch (YAMLException e) {
      throw new ConfigException("--set " + key + ": invalid YAML value '" + value + "'");
    }
  }

  private static void applyOverride(Map<String, Object> raw, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("--set " + override + ": expected key.path=value");
    }
    String key = override.substring(0, eq).trim();
    if (key.isEmpty() || key.startsWith(".") || key.endsWith(".") || key.contains("..")) {
      throw new ConfigException("--set " + override + ": expected key.path=value");
    }
    Object value = parseValue(key, override.substring(eq + 1).trim());
    if (value instanceof Map) {
      value = stringKeys((Map<?, ?>) value);
    }
    String[] parts = key.split("\\.");
    Map<String, Object> m = raw;
    for (int i = 0; i < parts.length - 1; i++) {
      Object next = m.get(parts[i]);
      if (!(next instanceof Map)) {
        next = new LinkedHashMap<String, Object>();
        m.put(parts[i], next);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> nm = (Map<String, Object>) next;
      m = nm;
    }
    m.put(parts[parts.length - 1], value);
  }

  private static Map<String, Object> stringKeys(Map<?, ?> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      Object v = e.getValue();
      out.put(String.valueOf(e.getKey()), v instanceof Map ? stringKeys((Map<?, ?>) v) : v);
    }
    return out;
  }

  // ---------------------------------------------------------------- validation

  /** Keys people try that live elsewhere: the hint replaces "did you mean". */
  private static final Map<String, String> MOVED_KEYS = Map.of(
      "training.rounds", "the rounds of training.mode federated are federated.rounds (sync and average:"
          + " training.epochs, training.max_rounds)");

  private static Map<String, Object> resolveSection(Node section, Map<String, Object> raw, List<String> errors) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (String key : raw.keySet()) {
      if (section.child(key) == null) {
        String path = section.path().isEmpty() ? key : section.path() + "." + key;
        String near = nearest(key, section.childNames());
        String prefix = section.path().isEmpty() ? "" : section.path() + ".";
        String hint = MOVED_KEYS.get(path);
        errors.add(path + ": unknown key; " + (hint != null ? hint
            : near != null ? "did you mean " + prefix + near + "?"
            : "expected one of " + String.join(", ", section.childNames())));
      }
    }
    for (Node c : section.children()) {
      if (raw.containsKey(c.name())) {
        out.put(c.name(), resolveValue(c, raw.get(c.name()), errors));
      } else if (c.required()) {
        errors.add(c.path() + ": missing; expected " + c.expected() + " (" + c.doc() + ")");
      } else if (c.kind() == Kind.SECTION && !c.nullable()) {
        out.put(c.name(), resolveSection(c, new LinkedHashMap<>(), errors));
      } else {
        out.put(c.name(), copyDefault(c.defaultValue()));
      }
    }
    return out;
  }

  private static Object copyDefault(Object def) {
    if (def instanceof Map) {
      return new LinkedHashMap<>((Map<?, ?>) def);
    }
    if (def instanceof List) {
      return new ArrayList<>((List<?>) def);
    }
    return def;
  }

  private static Object resolveValue(Node n, Object v, List<String> errors) {
    if (v == null) {
      if (n.kind() == Kind.SECTION && !n.nullable()) {
        return resolveSection(n, new LinkedHashMap<>(), errors);
      }
      if (n.nullable()) {
        return null;
      }
      return bad(n, v, errors);
    }
    switch (n.kind()) {
      case SECTION:
        if (!(v instanceof Map)) {
          return bad(n, v, errors);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        return resolveSection(n, m, errors);
      case STRING:
        if (!(v instanceof String) || (n.check != null && n.check.apply((String) v) != null)) {
          return bad(n, v, errors);
        }
        return v;
      case INT:
      case LONG: {
        Long l = asLong(v);
        if (l == null || (n.kind() == Kind.INT && (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE))
            || !inRange(n, l)) {
          return bad(n, v, errors);
        }
        return n.kind() == Kind.INT ? (Object) l.intValue() : (Object) l;
      }
      case DOUBLE: {
        Double d = asDouble(v);
        if (d == null || !Double.isFinite(d) || !inRange(n, d)) {
          return bad(n, v, errors);
        }
        return d;
      }
      case BOOL:
        if (!(v instanceof Boolean)) {
          return bad(n, v, errors);
        }
        return v;
      case ENUM: {
        if (v instanceof String) {
          String s = ((String) v).trim().toLowerCase(Locale.ROOT);
          if (n.allowed().contains(s)) {
            return s;
          }
          String near = nearest(s, n.allowed());
          errors.add(n.path() + ": expected " + n.expected() + ", found " + describe(v)
              + (near != null ? "; did you mean " + near + "?" : ""));
          return null;
        }
        return bad(n, v, errors);
      }
      case INT_LIST: {
        List<?> list = v instanceof List ? (List<?>) v : List.of(v);
        List<Integer> out = new ArrayList<>();
        for (Object o : list) {
          Long l = asLong(o);
          if (l == null || l > Integer.MAX_VALUE || !inRange(n, l)) {
            return bad(n, v, errors);
          }
          out.add(l.intValue());
        }
        return out;
      }
      case DOUBLE_LIST: {
        List<?> list = v instanceof List ? (List<?>) v : List.of(v);
        List<Double> out = new ArrayList<>();
        for (Object o : list) {
          Double d = asDouble(o);
          if (d == null || !Double.isFinite(d) || !inRange(n, d)) {
            return bad(n, v, errors);
          }
          out.add(d);
        }
        return out;
      }
      case STRINGS: {
        List<?> list = v instanceof List ? (List<?>) v : List.of(v);
        List<String> out = new ArrayList<>();
        for (Object o : list) {
          if (!(o instanceof String) || ((String) o).isEmpty()
              || (n.check != null && n.check.apply((String) o) != null)) {
            return bad(n, v, errors);
          }
          out.add((String) o);
        }
        if (out.isEmpty()) {
          return bad(n, v, errors);
        }
        return out;
      }
      case MAP: {
        if (!(v instanceof Map)) {
          return bad(n, v, errors);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          Object x = e.getValue();
          if (x instanceof Map || x instanceof List) {
            errors.add(n.path() + "." + e.getKey() + ": expected a string, number or boolean, found " + describe(x));
          } else {
            out.put(String.valueOf(e.getKey()), x == null ? null : String.valueOf(x));
          }
        }
        return out;
      }
      default:
        throw new AssertionError(n.kind());
    }
  }

  private static Object bad(Node n, Object v, List<String> errors) {
    errors.add(n.path() + ": expected " + n.expected() + (n.nullable() && !n.usuallyRequired ? " or null" : "")
        + ", found "
        + describe(v));
    return null;
  }

  private static boolean inRange(Node n, double d) {
    if (n.min != null && (n.minExclusive ? d <= n.min : d < n.min)) {
      return false;
    }
    return n.max == null || (n.maxExclusive ? d < n.max : d <= n.max);
  }

  private static Long asLong(Object v) {
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof BigInteger && ((BigInteger) v).bitLength() < 64) {
      return ((BigInteger) v).longValue();
    }
    return null;
  }

  private static Double asDouble(Object v) {
    if (v instanceof Number) {
      return ((Number) v).doubleValue();
    }
    // YAML 1.1 reads 1e-3 (no dot) as a string; accept numbers written that way.
    if (v instanceof String && ((String) v).trim().matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) {
      return Double.parseDouble(((String) v).trim());
    }
    return null;
  }

  /** A value as it appears in messages: strings quoted, lists and maps in YAML flow style. */
  static String describe(Object v) {
    if (v instanceof String) {
      return "\"" + v + "\"";
    }
    if (v instanceof List) {
      List<String> parts = new ArrayList<>();
      for (Object o : (List<?>) v) parts.add(describe(o));
      return "[" + String.join(", ", parts) + "]";
    }
    return ConfigSchema.yaml(v);
  }

  /** The candidate closest to {@code key} by edit distance, when close enough to be a typo; else null. */
  static String nearest(String key, List<String> candidates) {
    String best = null;
    int bestD = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d = editDistance(key.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    return best != null && bestD <= Math.max(2, Math.min(key.length(), best.length()) / 3) ? best : null;
  }

  /** Levenshtein distance, with an adjacent transposition counted as one edit. */
  static int editDistance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) d[i][0] = i;
    for (int j = 0; j <= b.length(); j++) d[0][j] = j;
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  @SuppressWarnings("unchecked")
  private static Object at(Map<String, Object> tree, String path) {
    Object cur = tree;
    for (String p : path.split("\\.")) {
      if (!(cur instanceof Map)) {
        return null;
      }
      cur = ((Map<String, Object>) cur).get(p);
    }
    return cur;
  }

  private static void crossChecks(Map<String, Object> t, List<String> errors) {
    if (at(t, "data.train") == null && !"synthetic".equals(at(t, "silos.source"))) {
      errors.add("data.train: missing; expected a string (" + ConfigSchema.find("data.train").doc() + ")");
    }
    if (Boolean.TRUE.equals(at(t, "federated.secure_aggregation")) && !"mean".equals(at(t, "federated.aggregation"))) {
      errors.add("federated.secure_aggregation: expected aggregation mean (the server sees only the masked sum),"
          + " found " + at(t, "federated.aggregation"));
    }
    List<String> silos = new ArrayList<>();
    if (at(t, "experiment.silos") != null) {
      @SuppressWarnings("unchecked")
      List<String> l = (List<String>) at(t, "experiment.silos");
      for (String s : l) silos.add((String) ConfigSchema.silosSpec(s)[0]);
    } else {
      silos.add((String) at(t, "silos.source"));
    }
    if (silos.contains("column") && at(t, "silos.column") == null) {
      errors.add("silos.column: expected a column name for silos column, found null");
    }
    if (silos.contains("paths") && at(t, "silos.paths") == null) {
      errors.add("silos.paths: expected a list of paths for silos paths, found null");
    }
    double vf = (Double) at(t, "data.validation_fraction");
    double tf = (Double) at(t, "data.test_fraction");
    if (vf > 0 && at(t, "data.validation") != null) {
      errors.add("data.validation_fraction: expected 0 when data.validation is set, found " + vf);
    }
    if (tf > 0 && at(t, "data.test") != null) {
      errors.add("data.test_fraction: expected 0 when data.test is set, found " + tf);
    }
    if (vf + tf >= 1) {
      errors.add("data.test_fraction: expected validation_fraction + test_fraction < 1, found " + vf + " + " + tf);
    }
    if (at(t, "training.early_stopping") != null && at(t, "data.validation") == null && vf == 0) {
      errors.add("training.early_stopping: needs validation data (data.validation or data.validation_fraction > 0),"
          + " found none");
    }
    boolean classification = "classification".equals(at(t, "model.task"));
    String loss = (String) at(t, "model.loss");
    if (!loss.trim().equalsIgnoreCase("auto")) {
      Loss.Kind k = Loss.parse(loss).kind();
      if (classification && k != Loss.Kind.SOFTMAX_CROSS_ENTROPY) {
        errors.add("model.loss: expected auto or softmax_cross_entropy for task classification, found "
            + describe(loss));
      } else if (!classification && (k == Loss.Kind.SOFTMAX_CROSS_ENTROPY || k == Loss.Kind.BINARY_CROSS_ENTROPY)) {
        errors.add("model.loss: expected auto, mse, mae or huber(d) for task regression, found " + describe(loss));
      }
    }
    if (Boolean.TRUE.equals(at(t, "checkpoint.resume")) && at(t, "checkpoint.dir") == null) {
      errors.add("checkpoint.resume: expected a checkpoint.dir to resume from, found none");
    }
    for (String opt : new String[] {"training.optimizer", "training.local_optimizer"}) {
      if (at(t, opt) == null) {
        continue;
      }
      String s = opt + ".schedule.";
      String kind = (String) at(t, s + "name");
      long every = (Long) at(t, s + "every");
      long warmup = (Long) at(t, s + "warmup");
      long total = (Long) at(t, s + "total");
      if (kind.equals("step") && every < 1) {
        errors.add(s + "every: expected an integer >= 1 for schedule step, found " + every);
      }
      if (kind.equals("cosine") && total <= warmup) {
        errors.add(s + "total: expected an integer > warmup (" + warmup + ") for schedule cosine, found " + total);
      }
      if (Boolean.TRUE.equals(at(t, opt + ".nesterov")) && (Double) at(t, opt + ".momentum") == 0) {
        errors.add(opt + ".nesterov: expected momentum > 0 with nesterov, found momentum 0.0");
      }
    }
  }

  // ---------------------------------------------------------------- access

  /** The whole resolved config as nested maps (unmodifiable at the top), e.g. for summary.json. */
  public Map<String, Object> asMap() {
    return tree;
  }

  /** The value at a dotted key path (null for null values); an exception for a path not in the schema. */
  public Object get(String path) {
    if (ConfigSchema.find(path) == null) {
      throw new IllegalArgumentException(path + ": not a config key");
    }
    return at(tree, path);
  }

  public boolean isNull(String path) {
    return get(path) == null;
  }

  public String string(String path) {
    return (String) get(path);
  }

  public int integer(String path) {
    return (Integer) get(path);
  }

  public long longValue(String path) {
    return (Long) get(path);
  }

  public double number(String path) {
    return (Double) get(path);
  }

  public boolean bool(String path) {
    return (Boolean) get(path);
  }

  @SuppressWarnings("unchecked")
  public List<Integer> intList(String path) {
    return (List<Integer>) get(path);
  }

  @SuppressWarnings("unchecked")
  public List<String> strings(String path) {
    return (List<String>) get(path);
  }

  @SuppressWarnings("unchecked")
  public Map<String, String> map(String path) {
    return (Map<String, String>) get(path);
  }

  public String name() {
    return string("name");
  }

  /** output.dir, or runs/&lt;name&gt; when null. */
  public String outputDir() {
    String d = string("output.dir");
    return d != null ? d : "runs/" + name();
  }

  /** training.mode federated: train with the federated and silos sections. */
  public boolean isFederated() {
    return "federated".equals(string("training.mode"));
  }

  public boolean isClassification() {
    return "classification".equals(string("model.task"));
  }

  public Activation activation() {
    return Activation.parse(string("model.activation"));
  }

  /** The loss of the output layer: model.loss, with auto resolved for the task. */
  public Loss loss() {
    String l = string("model.loss").trim();
    if (l.equalsIgnoreCase("auto")) {
      return isClassification() ? Loss.SOFTMAX_CROSS_ENTROPY : Loss.MSE;
    }
    return Loss.parse(l);
  }

  /** The optimizer at {@code path} (training.optimizer or training.local_optimizer). */
  public OptimizerSpec optimizer(String path) {
    try {
      OptimizerSpec.Builder b = OptimizerSpec.builder(string(path + ".name"))
          .learningRate(number(path + ".learning_rate"))
          .beta1(number(path + ".beta1"))
          .beta2(number(path + ".beta2"))
          .epsilon(number(path + ".epsilon"))
          .momentum(number(path + ".momentum"))
          .nesterov(bool(path + ".nesterov"))
          .clipNorm(number(path + ".clip_norm"));
      if (!isNull(path + ".weight_decay")) {
        b.weightDecay(number(path + ".weight_decay"));
      }
      String s = path + ".schedule.";
      switch (string(s + "name")) {
        case "step": b.schedule(LearningRateSchedule.step(longValue(s + "every"), number(s + "gamma"))); break;
        case "exponential": b.schedule(LearningRateSchedule.exponential(number(s + "gamma"))); break;
        case "cosine":
          b.schedule(LearningRateSchedule.cosine(longValue(s + "warmup"), longValue(s + "total"),
              number(s + "min_factor")));
          break;
        default: b.schedule(LearningRateSchedule.constant());
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(path + ": " + e.getMessage(), e);
    }
  }

  /** The trainer's configuration from the training and checkpoint sections. */
  public TrainConfig trainConfig() {
    TrainConfig.Builder b = TrainConfig.builder()
        .mode(isFederated() ? Mode.SYNC : Mode.valueOf(string("training.mode").toUpperCase(Locale.ROOT)))
        .syncEngine(TrainConfig.SyncEngine.valueOf(string("training.sync_engine").toUpperCase(Locale.ROOT)))
        .averageEngine(TrainConfig.SyncEngine.valueOf(string("training.average_engine").toUpperCase(Locale.ROOT)))
        .collectiveTimeoutMillis(Math.round(number("training.collective_timeout_s") * 1000))
        .spanRetries(integer("training.span_retries"))
        .epochs(integer("training.epochs"))
        .maxRounds(longValue("training.max_rounds"))
        .batchSize(integer("training.batch_size"))
        .localSteps(integer("training.local_steps"))
        .seed(longValue("training.seed"))
        .l2((float) number("training.l2"))
        .aggregationDepth(integer("training.aggregation_depth"))
        .logEveryRounds(integer("training.log_every_rounds"))
        .validateEveryRounds(integer("training.validate_every_rounds"))
        .serverUpdate(TrainConfig.ServerUpdate.valueOf(string("training.server_update").toUpperCase(Locale.ROOT)))
        .optimizer(optimizer("training.optimizer"))
        .checkpointDir(string("checkpoint.dir"))
        .checkpointEveryRounds(integer("checkpoint.every_rounds"))
        .checkpointEveryEpochs(integer("checkpoint.every_epochs"))
        .checkpointKeep(integer("checkpoint.keep"))
        .resume(bool("checkpoint.resume"));
    if (!isNull("training.local_optimizer")) {
      b.localOptimizer(optimizer("training.local_optimizer"));
    }
    earlyStopping((metric, patience, minDelta, restore) ->
        b.earlyStopping(metric, patience, minDelta).restoreBestWeights(restore));
    return validated(b::build);
  }

  /** A federated builder from the federated section and training.seed and training.l2. */
  public FederatedConfig.Builder federatedBuilder() {
    String f = "federated.";
    OptimizerSpec local = OptimizerSpec.builder(string(f + "local_optimizer.name"))
        .learningRate(number(f + "local_optimizer.learning_rate")).build();
    FederatedConfig.Builder b = FederatedConfig.builder()
        .rounds(integer(f + "rounds"))
        .clientFraction(number(f + "client_fraction"))
        .sampling(FederatedConfig.Sampling.valueOf(
            string(f + "sampling").toUpperCase(Locale.ROOT)))
        .localEpochs(integer(f + "local_epochs"))
        .localBatch(integer(f + "local_batch"))
        .proxMu((float) number(f + "prox_mu"))
        .stragglers(number(f + "stragglers"))
        .stragglerPolicy(FederatedConfig.StragglerPolicy.valueOf(
            string(f + "straggler_policy").toUpperCase(Locale.ROOT)))
        .localOptimizer(local)
        .server(ServerOptimizer.kind(string(f + "server")))
        .serverLr(number(f + "server_lr"))
        .serverMomentum(number(f + "server_momentum"))
        .beta1(number(f + "beta1"))
        .beta2(number(f + "beta2"))
        .tau(number(f + "tau"))
        .evalEveryRounds(integer(f + "eval_every_rounds"))
        .logEveryRounds(integer(f + "eval_every_rounds"))
        .aggregation(FederatedConfig.Aggregation.valueOf(
            string(f + "aggregation").toUpperCase(Locale.ROOT)))
        .secureAggregation(bool(f + "secure_aggregation"))
        .compression(!string(f + "compression").equals("none"), string(f + "compression").endsWith("feedback"))
        .seed(longValue("training.seed"))
        .l2((float) number("training.l2"))
        .aggregationDepth(integer(f + "aggregation_depth"));
    if (!isNull(f + "dp")) {
      b.differentialPrivacy(number(f + "dp.clip_norm"), number(f + "dp.noise_multiplier"), number(f + "dp.delta"));
    }
    return b;
  }

  /**
   * The federated configuration of a {@code train} run: {@link #federatedBuilder()} plus the
   * checkpoint section (checkpoint.every_rounds 0 = every federated.eval_every_rounds; every_epochs
   * does not apply) and training.early_stopping (checked at every evaluation round).
   */
  public FederatedConfig federatedTrainConfig() {
    FederatedConfig.Builder b = federatedBuilder();
    if (!isNull("checkpoint.dir")) {
      int every = integer("checkpoint.every_rounds");
      b.checkpoints(string("checkpoint.dir"), every > 0 ? every : integer("federated.eval_every_rounds"),
          integer("checkpoint.keep"));
    }
    b.resume(bool("checkpoint.resume"));
    earlyStopping((metric, patience, minDelta, restore) ->
        b.earlyStopping(metric, patience, minDelta).restoreBestWeights(restore));
    return validated(b::build);
  }

  /** The federated section as a validated FederatedConfig. */
  public FederatedConfig federatedConfig() {
    return validated(federatedBuilder()::build);
  }

  /** The value {@code build} returns; a builder's validation error becomes a ConfigException (exit 2). */
  private static <T> T validated(Supplier<T> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  /** Where training.early_stopping goes: normal and federated training take the same four values. */
  private interface EarlyStoppingTarget {
    void set(String metric, int patience, double minDelta, boolean restoreBestWeights);
  }

  /** Hands training.early_stopping to {@code target} when the section is set. */
  private void earlyStopping(EarlyStoppingTarget target) {
    if (!isNull("training.early_stopping")) {
      target.set(string("training.early_stopping.metric"), integer("training.early_stopping.patience"),
          number("training.early_stopping.min_delta"), bool("training.early_stopping.restore_best_weights"));
    }
  }

  @SuppressWarnings("unchecked")
  public List<Double> doubleList(String path) {
    return (List<Double>) get(path);
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*\\n\\s*", " ").trim();
  }

  @Override
  public String toString() {
    return "JobConfig" + tree;
  }
}
