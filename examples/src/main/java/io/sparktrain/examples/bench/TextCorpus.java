package io.sparktrain.examples.bench;

import io.sparktrain.util.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.RegexTokenizer;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sparse text corpus of issue 11, benchmark (a): Debian package descriptions labelled by their
 * Section, from the output of {@code apt-cache dumpavail}, hashed with Spark's {@code RegexTokenizer}
 * and {@code HashingTF} and written as LibSVM files that {@code sparktrain train}, Spark's libsvm
 * reader and scikit-learn's {@code load_svmlight_file} all read. Run by {@code scripts/bench.sh text}.
 *
 * <p>Options: {@code --input dumpavail.txt --out DIR --top 20 --test-fraction 0.2 --seed 11
 * --bits 16,18,20 --names true --master local[2]}.
 *
 * <ul>
 *   <li>One document per package (the first record of a name wins, in the input's order): the
 *       package name with {@code - . +} as spaces (so {@code python3-numpy} gives {@code python3 numpy}),
 *       unless {@code --names false}, then the Description field with its continuation lines (the long
 *       description, when the input has it; Debian's Packages files carry only the short one unless apt
 *       fetches Translation files).</li>
 *   <li>Label: the Section without its archive area ({@code contrib/net} is {@code net}); the
 *       {@code --top} sections by package count are kept, numbered 0.. by count (ties by name), the
 *       other packages are dropped.</li>
 *   <li>Split: per section, the packages sorted by name and shuffled with {@code Random(seed)}; the first
 *       {@code round(fraction n)} are test (stratified, and independent of Spark's partitioning). The
 *       train file's rows are in one more seeded shuffle.</li>
 *   <li>Features: {@code RegexTokenizer} (lower case, split on {@code [^a-z0-9+#]+}) then
 *       {@code HashingTF} (term counts) at 2^bits for each of {@code --bits}; files
 *       {@code OUT/d<bits>/train.libsvm} and {@code test.libsvm} (1-based indices, as LibSVM).</li>
 *   <li>{@code OUT/corpus.json}: the input's SHA-256 and size, the package and section counts, the
 *       label set with its train/test counts, and per dimension the nonzeros (hash collisions merge terms
 *       at small dimensions). The same input gives byte-identical files.</li>
 * </ul>
 */
public final class TextCorpus {
  private static final Logger LOG = LoggerFactory.getLogger(TextCorpus.class);
  static final String TOKEN_PATTERN = "[^a-z0-9+#]+";

  private TextCorpus() {
  }

  /**
   * One package of the input: name, section (archive area removed), description text, and every field of its
   * record (name to value, continuation lines joined with a newline; {@link PackageTable} reads the others).
   */
  record Pkg(String name, String section, String description, Map<String, String> fields) {
  }

  /**
   * The labelled split: the kept sections (label k = {@code labels.get(k)}), the package count of every
   * section, the train packages (in their seeded shuffle) and the test packages (by label, then the split's
   * order), and the label table (label, section, packages, train, test).
   */
  record Split(List<String> labels, Map<String, Integer> sectionCounts, List<Pkg> train, List<Pkg> test,
      List<Map<String, Object>> labelTable) {
    int label(Pkg p) {
      return labels.indexOf(p.section());
    }
  }

  /**
   * Reads {@code --name value} pairs of {@code args} into {@code opt} (its keys are the options, its
   * values the defaults); exits with status 2 and a usage line on an unknown option or without
   * {@code --input} and {@code --out}.
   */
  static void parseOptions(String tool, String[] args, Map<String, String> opt) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--") || !opt.containsKey(a.substring(2)) || i + 1 >= args.length) {
        System.err.println("usage: " + tool + " --input dumpavail.txt --out DIR [options]; options: " + opt.keySet());
        System.exit(2);
      }
      opt.put(a.substring(2), args[++i]);
    }
    if (opt.get("input").isEmpty() || opt.get("out").isEmpty()) {
      System.err.println(tool + ": --input and --out are required");
      System.exit(2);
    }
  }

  public static void main(String[] args) throws IOException {
    Map<String, String> opt = new LinkedHashMap<>();
    opt.put("input", "");
    opt.put("out", "");
    opt.put("top", "20");
    opt.put("test-fraction", "0.2");
    opt.put("seed", "11");
    opt.put("bits", "16,18,20");
    opt.put("names", "true");
    opt.put("master", "local[2]");
    parseOptions("TextCorpus", args, opt);
    Path input = Paths.get(opt.get("input"));
    Path out = Paths.get(opt.get("out"));
    byte[] raw = Files.readAllBytes(input);
    List<Pkg> pkgs = parse(new String(raw, StandardCharsets.UTF_8));
    long seed = Long.parseLong(opt.get("seed"));
    double fraction = Double.parseDouble(opt.get("test-fraction"));
    boolean names = Boolean.parseBoolean(opt.get("names"));
    Split split = split(pkgs, Integer.parseInt(opt.get("top")), seed, fraction);
    List<Row> train = new ArrayList<>();
    List<Row> test = new ArrayList<>();
    for (Pkg p : split.train()) train.add(RowFactory.create(p.name(), (double) split.label(p), text(p, names)));
    for (Pkg p : split.test()) test.add(RowFactory.create(p.name(), (double) split.label(p), text(p, names)));
    Map<String, Integer> sectionCounts = split.sectionCounts();
    List<String> labels = split.labels();
    int top = labels.size();
    List<Map<String, Object>> labelTable = split.labelTable();

    Map<String, Object> corpus = new LinkedHashMap<>();
    corpus.put("source", "apt-cache dumpavail");
    corpus.put("input_sha256", sha256(raw));
    corpus.put("input_bytes", (long) raw.length);
    corpus.put("packages", pkgs.size());
    corpus.put("sections", sectionCounts.size());
    corpus.put("top", top);
    corpus.put("kept_packages", train.size() + test.size());
    corpus.put("dropped_packages", pkgs.size() - train.size() - test.size());
    corpus.put("smallest_kept_section", labels.isEmpty() ? null : sectionCounts.get(labels.get(labels.size() - 1)));
    corpus.put("train_rows", train.size());
    corpus.put("test_rows", test.size());
    corpus.put("test_fraction", fraction);
    corpus.put("seed", seed);
    corpus.put("text", names ? "package name tokens + Description" : "Description");
    corpus.put("long_descriptions", pkgs.stream().filter(p -> p.description().contains("\n")).count());
    corpus.put("tokenizer", "RegexTokenizer(lowercase, pattern " + TOKEN_PATTERN + ")");
    corpus.put("features", "HashingTF term counts");
    corpus.put("labels", labelTable);

    SparkSession spark = SparkSession.builder().master(opt.get("master")).appName("sparktrain-text-corpus")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      StructType schema = new StructType().add("name", DataTypes.StringType).add("label", DataTypes.DoubleType)
          .add("text", DataTypes.StringType);
      RegexTokenizer tok = new RegexTokenizer().setInputCol("text").setOutputCol("words")
          .setPattern(TOKEN_PATTERN).setToLowercase(true).setMinTokenLength(1);
      Dataset<Row> trainWords = tok.transform(spark.createDataFrame(train, schema));
      Dataset<Row> testWords = tok.transform(spark.createDataFrame(test, schema));
      Map<String, Object> dims = new LinkedHashMap<>();
      for (String b : opt.get("bits").split(",")) {
        int bits = Integer.parseInt(b.trim());
        HashingTF tf = new HashingTF().setInputCol("words").setOutputCol("features").setNumFeatures(1 << bits);
        Path dir = out.resolve("d" + bits);
        Files.createDirectories(dir);
        long[] trainStats = write(tf.transform(trainWords), train, dir.resolve("train.libsvm"));
        long[] testStats = write(tf.transform(testWords), test, dir.resolve("test.libsvm"));
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("num_features", 1 << bits);
        d.put("train_nonzeros", trainStats[0]);
        d.put("test_nonzeros", testStats[0]);
        d.put("train_nonzeros_per_row", trainStats[0] / (double) train.size());
        d.put("distinct_train_columns", trainStats[1]);
        d.put("train_file_bytes", Files.size(dir.resolve("train.libsvm")));
        dims.put(Integer.toString(bits), d);
        LOG.info("text corpus: 2^{} features: {} train rows, {} nonzeros, {} distinct columns", bits,
            train.size(), trainStats[0], trainStats[1]);
      }
      corpus.put("dimensions", dims);
    } finally {
      spark.stop();
    }
    String json = Json.object(corpus);
    Files.writeString(out.resolve("corpus.json"), json + "\n");
    System.out.println(json);
  }

  /**
   * The {@code top} largest sections (by package count, ties by name) numbered 0.. in that order; per
   * section, the packages sorted by name and shuffled with {@code Random(seed * 1000003 + label)}, the first
   * {@code round(fraction n)} to test; the train packages then in one more shuffle with {@code Random(seed)}.
   */
  static Split split(List<Pkg> pkgs, int topWanted, long seed, double fraction) {
    Map<String, Integer> sectionCounts = new TreeMap<>();
    for (Pkg p : pkgs) sectionCounts.merge(p.section(), 1, Integer::sum);
    List<String> sections = new ArrayList<>(sectionCounts.keySet());
    sections.sort((x, y) -> sectionCounts.get(y).equals(sectionCounts.get(x)) ? x.compareTo(y)
        : Integer.compare(sectionCounts.get(y), sectionCounts.get(x)));
    int top = Math.min(topWanted, sections.size());
    List<String> labels = List.copyOf(sections.subList(0, top));
    Map<String, Integer> labelOf = new HashMap<>();
    for (int k = 0; k < labels.size(); k++) labelOf.put(labels.get(k), k);
    List<Pkg> train = new ArrayList<>();
    List<Pkg> test = new ArrayList<>();
    List<Map<String, Object>> labelTable = new ArrayList<>();
    for (String s : labels) {
      List<Pkg> in = new ArrayList<>();
      for (Pkg p : pkgs) {
        if (p.section().equals(s)) in.add(p);
      }
      in.sort((x, y) -> x.name().compareTo(y.name()));
      Collections.shuffle(in, new Random(seed * 1_000_003L + labelOf.get(s)));
      int nTest = (int) Math.round(fraction * in.size());
      for (int i = 0; i < in.size(); i++) (i < nTest ? test : train).add(in.get(i));
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("label", labelOf.get(s));
      l.put("section", s);
      l.put("packages", in.size());
      l.put("train", in.size() - nTest);
      l.put("test", nTest);
      labelTable.add(l);
    }
    Collections.shuffle(train, new Random(seed));
    return new Split(labels, sectionCounts, train, test, labelTable);
  }

  /** Package records of dumpavail text: blank-line separated, fields "Name: value" with continuation lines. */
  static List<Pkg> parse(String text) {
    List<Pkg> pkgs = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    Map<String, StringBuilder> fields = new HashMap<>();
    String last = null;
    for (String line : (text + "\n\n").split("\n", -1)) {
      if (line.isBlank()) {
        if (!fields.isEmpty()) {
          String name = value(fields, "Package");
          String section = value(fields, "Section");
          String desc = value(fields, "Description");
          if (!name.isEmpty() && !section.isEmpty() && seen.add(name)) {
            int slash = section.lastIndexOf('/');
            Map<String, String> all = new HashMap<>();
            fields.forEach((k, v) -> all.put(k, v.toString()));
            pkgs.add(new Pkg(name, slash >= 0 ? section.substring(slash + 1) : section, desc, Map.copyOf(all)));
          }
          fields.clear();
          last = null;
        }
      } else if ((line.startsWith(" ") || line.startsWith("\t")) && last != null) {
        String cont = line.trim();
        if (!cont.equals(".")) fields.get(last).append('\n').append(cont);
      } else {
        int colon = line.indexOf(':');
        if (colon > 0) {
          last = line.substring(0, colon);
          fields.put(last, new StringBuilder(line.substring(colon + 1).trim()));
        }
      }
    }
    return pkgs;
  }

  private static String value(Map<String, StringBuilder> fields, String key) {
    StringBuilder sb = fields.get(key);
    return sb == null ? "" : sb.toString();
  }

  static String text(Pkg p, boolean names) {
    return names ? p.name().replaceAll("[-.+]", " ") + " " + p.description() : p.description();
  }

  /** Writes the rows' features in the rows' order; returns {nonzeros, distinct columns}. */
  static long[] write(Dataset<Row> features, List<Row> order, Path file) throws IOException {
    Map<String, Vector> byName = new HashMap<>();
    for (Row r : features.select("name", "features").collectAsList()) byName.put(r.getString(0), r.getAs(1));
    long nnz = 0;
    Set<Integer> columns = new HashSet<>();
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      StringBuilder sb = new StringBuilder();
      for (Row r : order) {
        SparseVector v = byName.get(r.getString(0)).toSparse();
        sb.setLength(0);
        sb.append((long) r.getDouble(1));
        int[] idx = v.indices();
        double[] val = v.values();
        for (int j = 0; j < idx.length; j++) {
          sb.append(' ').append(idx[j] + 1).append(':');
          double x = val[j];
          sb.append(x == Math.rint(x) ? Long.toString((long) x) : String.format(Locale.ROOT, "%s", x));
          columns.add(idx[j]);
        }
        nnz += idx.length;
        w.write(sb.append('\n').toString());
      }
    }
    return new long[] {nnz, columns.size()};
  }

  static String sha256(byte[] raw) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
