package io.sparktrain.examples.bench;

import io.sparktrain.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The categorical table of issue 11, benchmark (b): the same Debian packages, labels and split as
 * {@link TextCorpus} (its parser and {@link TextCorpus#split}), with high-cardinality fields of the package
 * metadata as categorical columns instead of the description. Run by {@code scripts/bench.sh categorical}.
 *
 * <p>Options: {@code --input dumpavail.txt --out DIR --top 20 --test-fraction 0.2 --seed 11 --bits 18
 * --source true --master local[2]}.
 *
 * <p>Files {@code OUT/train.parquet} and {@code OUT/test.parquet} (one file each, the train rows in the
 * split's seeded shuffle), columns:
 * <ul>
 *   <li>{@code label} (double): the Section's index among the {@code --top} largest, as in TextCorpus.</li>
 *   <li>{@code maintainer} (string): the Maintainer field as written ({@code Name <address>}).</li>
 *   <li>{@code priority} (string): the Priority field.</li>
 *   <li>{@code source} (string, null when the record has no Source field; only with {@code --source true}):
 *       the source package without its version ({@code Source: foo (1.2-3)} is {@code foo}). A record
 *       without the field is built from the source of its own name, but the name is not given: null.</li>
 *   <li>{@code depends} (array&lt;string&gt;): the package names of Depends and Pre-Depends, alternatives
 *       ({@code a | b}) split, version constraints, architecture restrictions ({@code [amd64]}), build
 *       profiles ({@code <!nocheck>}) and architecture qualifiers ({@code python3:any}) removed, each name
 *       once, in the order of first appearance; empty when the package depends on nothing.</li>
 *   <li>{@code features} (SparseVector, 2^bits): the same fields one-hot: the tokens
 *       {@code maintainer=...}, {@code priority=...}, {@code source=...} (when not null) and one
 *       {@code depends=...} per name, hashed with Spark's {@code HashingTF}, binary.</li>
 * </ul>
 * Neither the package name nor the description is in any column. The one-hot features are also written as
 * LibSVM ({@code OUT/d<bits>/train.libsvm}, {@code test.libsvm}) for scikit-learn's
 * {@code load_svmlight_file}. {@code OUT/table.json} (also printed): the input's SHA-256, row counts, the
 * label table, each field's distinct values in train and the test rows whose value train never saw, the
 * one-hot nonzeros and distinct columns, and the accuracy of always guessing the largest Section.
 */
public final class PackageTable {
  private static final Logger LOG = LoggerFactory.getLogger(PackageTable.class);
  private static final Pattern VERSION = Pattern.compile("\\([^)]*\\)");
  private static final Pattern ARCHES = Pattern.compile("\\[[^]]*\\]");
  private static final Pattern PROFILES = Pattern.compile("<[^>]*>");

  private PackageTable() {
  }

  /** The categorical fields of one package. */
  record Fields(String maintainer, String priority, String source, List<String> depends) {
    /** The one-hot tokens: one per field value, one per dependency. */
    List<String> tokens() {
      List<String> t = new ArrayList<>();
      t.add("maintainer=" + maintainer);
      t.add("priority=" + priority);
      if (source != null) t.add("source=" + source);
      for (String d : depends) t.add("depends=" + d);
      return t;
    }
  }

  public static void main(String[] args) throws IOException {
    Map<String, String> opt = new LinkedHashMap<>();
    opt.put("input", "");
    opt.put("out", "");
    opt.put("top", "20");
    opt.put("test-fraction", "0.2");
    opt.put("seed", "11");
    opt.put("bits", "18");
    opt.put("source", "true");
    opt.put("master", "local[2]");
    TextCorpus.parseOptions("PackageTable", args, opt);
    Path input = Paths.get(opt.get("input"));
    Path out = Paths.get(opt.get("out"));
    byte[] raw = Files.readAllBytes(input);
    List<TextCorpus.Pkg> pkgs = TextCorpus.parse(new String(raw, StandardCharsets.UTF_8));
    long seed = Long.parseLong(opt.get("seed"));
    double fraction = Double.parseDouble(opt.get("test-fraction"));
    boolean withSource = Boolean.parseBoolean(opt.get("source"));
    int bits = Integer.parseInt(opt.get("bits"));
    TextCorpus.Split split = TextCorpus.split(pkgs, Integer.parseInt(opt.get("top")), seed, fraction);

    List<Row> train = new ArrayList<>();
    List<Row> test = new ArrayList<>();
    Map<String, Set<String>> seen = new LinkedHashMap<>();
    Map<String, Integer> unseen = new LinkedHashMap<>();
    for (String f : withSource ? List.of("maintainer", "priority", "source", "depends")
        : List.of("maintainer", "priority", "depends")) {
      seen.put(f, new HashSet<>());
      unseen.put(f, 0);
    }
    long trainDepends = 0;
    long emptyDepends = 0;
    long nullSource = 0;
    for (TextCorpus.Pkg p : split.train()) {
      Fields f = fields(p, withSource);
      train.add(row(p, split.label(p), f, withSource));
      seen.get("maintainer").add(f.maintainer());
      seen.get("priority").add(f.priority());
      if (withSource && f.source() != null) seen.get("source").add(f.source());
      seen.get("depends").addAll(f.depends());
      trainDepends += f.depends().size();
      if (f.depends().isEmpty()) emptyDepends++;
      if (withSource && f.source() == null) nullSource++;
    }
    for (TextCorpus.Pkg p : split.test()) {
      Fields f = fields(p, withSource);
      test.add(row(p, split.label(p), f, withSource));
      if (!seen.get("maintainer").contains(f.maintainer())) unseen.merge("maintainer", 1, Integer::sum);
      if (!seen.get("priority").contains(f.priority())) unseen.merge("priority", 1, Integer::sum);
      if (withSource && f.source() != null && !seen.get("source").contains(f.source())) {
        unseen.merge("source", 1, Integer::sum);
      }
      if (!f.depends().isEmpty() && !seen.get("depends").containsAll(f.depends())) {
        unseen.merge("depends", 1, Integer::sum);
      }
    }

    Map<String, Object> table = new LinkedHashMap<>();
    table.put("bench", "categorical");
    table.put("source", "apt-cache dumpavail");
    table.put("input_sha256", TextCorpus.sha256(raw));
    table.put("input_bytes", (long) raw.length);
    table.put("packages", pkgs.size());
    table.put("sections", split.sectionCounts().size());
    table.put("top", split.labels().size());
    table.put("train_rows", train.size());
    table.put("test_rows", test.size());
    table.put("test_fraction", fraction);
    table.put("seed", seed);
    table.put("columns", new ArrayList<>(seen.keySet()));
    Map<String, Object> card = new LinkedHashMap<>();
    for (Map.Entry<String, Set<String>> e : seen.entrySet()) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("distinct_train_values", e.getValue().size());
      c.put("test_rows_with_unseen_value", unseen.get(e.getKey()));
      card.put(e.getKey(), c);
    }
    table.put("cardinality", card);
    table.put("train_depends_per_row", trainDepends / (double) train.size());
    table.put("train_rows_without_depends", emptyDepends);
    if (withSource) table.put("train_rows_without_source", nullSource);
    // The largest Section is label 0 (TextCorpus numbers them by count).
    long majorityTest = split.test().stream().filter(p -> split.label(p) == 0).count();
    table.put("majority_section", split.labels().get(0));
    table.put("majority_test_accuracy", majorityTest / (double) test.size());
    table.put("labels", split.labelTable());

    SparkSession spark = SparkSession.builder().master(opt.get("master")).appName("sparktrain-package-table")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      StructType schema = new StructType().add("name", DataTypes.StringType).add("label", DataTypes.DoubleType)
          .add("maintainer", DataTypes.StringType).add("priority", DataTypes.StringType);
      if (withSource) schema = schema.add("source", DataTypes.StringType);
      schema = schema.add("depends", DataTypes.createArrayType(DataTypes.StringType, false))
          .add("tokens", DataTypes.createArrayType(DataTypes.StringType, false));
      HashingTF tf = new HashingTF().setInputCol("tokens").setOutputCol("features").setNumFeatures(1 << bits)
          .setBinary(true);
      Dataset<Row> trainDf = tf.transform(spark.createDataFrame(train, schema));
      Dataset<Row> testDf = tf.transform(spark.createDataFrame(test, schema));
      List<String> cols = new ArrayList<>(List.of("label", "maintainer", "priority"));
      if (withSource) cols.add("source");
      cols.addAll(List.of("depends", "features"));
      String[] rest = cols.subList(1, cols.size()).toArray(new String[0]);
      // One file each, in the rows' order (the local relation keeps it; coalesce(1) makes one task).
      trainDf.select(cols.get(0), rest).coalesce(1).write().mode("overwrite").parquet(out.resolve("train.parquet")
          .toString());
      testDf.select(cols.get(0), rest).coalesce(1).write().mode("overwrite").parquet(out.resolve("test.parquet")
          .toString());
      Path dir = out.resolve("d" + bits);
      Files.createDirectories(dir);
      long[] trainStats = TextCorpus.write(trainDf, train, dir.resolve("train.libsvm"));
      long[] testStats = TextCorpus.write(testDf, test, dir.resolve("test.libsvm"));
      Set<String> tokens = new HashSet<>();
      for (Row r : train) {
        @SuppressWarnings("unchecked")
        List<String> t = (List<String>) r.get(r.size() - 1);
        tokens.addAll(t);
      }
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("num_features", 1 << bits);
      d.put("hashing", "HashingTF binary over " + cols.subList(1, cols.size() - 1) + " tokens");
      d.put("train_nonzeros", trainStats[0]);
      d.put("test_nonzeros", testStats[0]);
      d.put("train_nonzeros_per_row", trainStats[0] / (double) train.size());
      d.put("distinct_train_tokens", tokens.size());
      d.put("distinct_train_columns", trainStats[1]);
      table.put("one_hot", d);
      LOG.info("package table: {} train / {} test rows; one-hot 2^{}: {} nonzeros, {} tokens in {} columns",
          train.size(), test.size(), bits, trainStats[0], tokens.size(), trainStats[1]);
    } finally {
      spark.stop();
    }
    String json = Json.object(table);
    Files.writeString(out.resolve("table.json"), json + "\n");
    System.out.println(json);
  }

  /** The categorical fields of a package record (see the class comment). */
  static Fields fields(TextCorpus.Pkg p, boolean withSource) {
    Map<String, String> f = p.fields();
    String source = null;
    if (withSource && f.containsKey("Source")) {
      source = VERSION.matcher(f.get("Source")).replaceAll("").trim();
      if (source.isEmpty()) source = null;
    }
    return new Fields(f.getOrDefault("Maintainer", "").trim(), f.getOrDefault("Priority", "").trim(), source,
        dependencyNames(f.get("Pre-Depends"), f.get("Depends")));
  }

  /** The package names of dependency fields (null fields skipped), each once, in order of appearance. */
  static List<String> dependencyNames(String... values) {
    Set<String> names = new LinkedHashSet<>();
    for (String v : values) {
      if (v == null) continue;
      String s = PROFILES.matcher(ARCHES.matcher(VERSION.matcher(v).replaceAll(" ")).replaceAll(" "))
          .replaceAll(" ");
      for (String alt : s.split("[,|]")) {
        String name = alt.trim();
        int colon = name.indexOf(':');
        if (colon >= 0) name = name.substring(0, colon);
        // A field split over lines, or a stray token after the name: the name is the first word.
        String[] words = name.trim().split("\\s+");
        if (words.length > 0 && !words[0].isEmpty()) names.add(words[0]);
      }
    }
    return List.copyOf(names);
  }

  private static Row row(TextCorpus.Pkg p, int label, Fields f, boolean withSource) {
    List<Object> v = new ArrayList<>(Arrays.asList(p.name(), (double) label, f.maintainer(), f.priority()));
    if (withSource) v.add(f.source());
    v.add(f.depends());
    v.add(f.tokens());
    return RowFactory.create(v.toArray());
  }
}
