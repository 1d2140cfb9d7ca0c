package io.sparktrain.driver.config;

import io.sparktrain.driver.config.ConfigSchema.Kind;
import io.sparktrain.driver.config.ConfigSchema.Node;
import io.sparktrain.nn.Loss;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks a raw job config against {@link ConfigSchema}: unknown keys (with "did you mean"), types,
 * ranges and choices, defaults filled in, then the checks across keys. Every problem is collected
 * and reported at once in a {@link ConfigException} naming each key path.
 */
final class ConfigValidator {
  private ConfigValidator() {
  }

  /** The resolved tree (defaults filled in, values of their keys' types); all problems in one exception. */
  static Map<String, Object> validate(Map<String, Object> raw) {
    List<String> errors = new ArrayList<>();
    Map<String, Object> tree = resolveSection(ConfigSchema.root(), raw, errors);
    if (errors.isEmpty()) {
      crossChecks(tree, errors);
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(String.join("; ", errors));
    }
    return tree;
  }

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
      case STRINGS:
        return strings(n, v, errors);
      case FEATURES:
        return features(n, v, errors);
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

  /** A non-empty string or a non-empty list of them, as a list. */
  private static Object strings(Node n, Object v, List<String> errors) {
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

  /** The keys of one categorical column's map in data.features.categorical. */
  private static final List<String> CATEGORICAL_KEYS = List.of("column", "buckets", "dim", "combiner");

  /**
   * data.features: a column name or a list of them (kept as a list), or a map {numeric, categorical}
   * (kept as a map with numeric a list, maybe empty, and categorical a list of maps with every key
   * set: column, buckets, dim (default 16), combiner (default mean)).
   */
  private static Object features(Node n, Object v, List<String> errors) {
    if (!(v instanceof Map)) {
      return strings(n, v, errors);
    }
    Map<?, ?> m = (Map<?, ?>) v;
    Map<String, Object> out = new LinkedHashMap<>();
    int before = errors.size();
    for (Object key : m.keySet()) {
      if (!"numeric".equals(key) && !"categorical".equals(key)) {
        errors.add(n.path() + "." + key + ": not a key of data.features (expected numeric, categorical)");
      }
    }
    Object numeric = m.get("numeric");
    List<String> cols = new ArrayList<>();
    for (Object o : numeric == null ? List.of() : numeric instanceof List ? (List<?>) numeric : List.of(numeric)) {
      if (!(o instanceof String) || ((String) o).isEmpty()) {
        errors.add(n.path() + ".numeric: expected a column name or a list of column names, found " + describe(numeric));
        break;
      }
      cols.add((String) o);
    }
    out.put("numeric", cols);
    Object cat = m.get("categorical");
    List<Map<String, Object>> cats = new ArrayList<>();
    if (cat != null && !(cat instanceof List)) {
      errors.add(n.path() + ".categorical: expected a list of maps {column, buckets, dim, combiner}, found "
          + describe(cat));
    } else if (cat != null) {
      List<?> list = (List<?>) cat;
      for (int i = 0; i < list.size(); i++) {
        String at = n.path() + ".categorical[" + i + "]";
        if (!(list.get(i) instanceof Map)) {
          errors.add(at + ": expected a map {column, buckets, dim, combiner}, found " + describe(list.get(i)));
          continue;
        }
        Map<?, ?> c = (Map<?, ?>) list.get(i);
        for (Object key : c.keySet()) {
          if (!CATEGORICAL_KEYS.contains(String.valueOf(key))) {
            errors.add(at + "." + key + ": not a key of a categorical column (expected " + CATEGORICAL_KEYS + ")");
          }
        }
        Map<String, Object> col = new LinkedHashMap<>();
        Object name = c.get("column");
        if (!(name instanceof String) || ((String) name).isEmpty()) {
          errors.add(at + ".column: expected a column name, found " + describe(name));
        }
        col.put("column", name);
        Long buckets = asLong(c.get("buckets"));
        if (buckets == null || buckets < 2 || buckets > Integer.MAX_VALUE) {
          errors.add(at + ".buckets: expected an integer >= 2 (the values' rows plus the out-of-vocabulary row),"
              + " found " + describe(c.get("buckets")));
        }
        col.put("buckets", buckets == null ? null : buckets.intValue());
        Long dim = c.containsKey("dim") ? asLong(c.get("dim")) : Long.valueOf(16);
        if (dim == null || dim < 1 || dim > 65536) {
          errors.add(at + ".dim: expected an integer in [1, 65536], found " + describe(c.get("dim")));
        }
        col.put("dim", dim == null ? null : dim.intValue());
        Object combiner = c.containsKey("combiner") ? c.get("combiner") : "mean";
        if (!"mean".equals(combiner) && !"sum".equals(combiner)) {
          errors.add(at + ".combiner: expected one of mean, sum, found " + describe(combiner));
        }
        col.put("combiner", combiner);
        cats.add(col);
      }
    }
    out.put("categorical", cats);
    if (cols.isEmpty() && cats.isEmpty() && errors.size() == before) {
      errors.add(n.path() + ": expected numeric or categorical columns, found neither");
    }
    return errors.size() == before ? out : null;
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
  static Object at(Map<String, Object> tree, String path) {
    Object cur = tree;
    for (String p : path.split("\\.")) {
      if (!(cur instanceof Map)) {
        return null;
      }
      cur = ((Map<String, Object>) cur).get(p);
    }
    return cur;
  }

  /** training.pretrain against the rest: an encoder to pretrain, numeric features, the federated limits. */
  private static void pretrainChecks(Map<String, Object> t, List<String> errors) {
    if (((List<?>) at(t, "model.hidden")).isEmpty()) {
      errors.add("training.pretrain: expected model.hidden with at least one layer (the encoder to pretrain),"
          + " found []");
    }
    Object features = at(t, "data.features");
    if (features instanceof Map && !((List<?>) ((Map<?, ?>) features).get("categorical")).isEmpty()) {
      errors.add("training.pretrain: expected numeric data.features only (embedding tables are not pretrained),"
          + " found categorical columns " + describe(((Map<?, ?>) features).get("categorical")));
    }
    boolean federated = "federated".equals(at(t, "training.mode"));
    if (federated && at(t, "training.pretrain.data") != null) {
      errors.add("training.pretrain.data: expected null with training.mode federated (each silo pretrains on its own"
          + " rows), found " + describe(at(t, "training.pretrain.data")));
    }
    if (federated && at(t, "federated.dp") != null) {
      errors.add("training.pretrain: expected federated.dp null (the pretraining rounds' privacy cost would not be"
          + " part of the run's accounting), found " + describe(at(t, "federated.dp")));
    }
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
      for (String s : l) silos.add(Presets.silos(s).source());
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
    if (at(t, "training.distillation") != null && !classification) {
      errors.add("training.distillation: expected model.task classification (distillation matches class"
          + " distributions), found " + at(t, "model.task"));
    }
    if (at(t, "training.pretrain") != null) {
      pretrainChecks(t, errors);
    }
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
}
