package io.sparktrain.driver;

import io.sparktrain.data.InvalidInputException;
import io.sparktrain.util.AtomicFiles;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.Option;

/** Spark session, readers and file-system helpers shared by the commands. */
final class SparkSupport {
  private SparkSupport() {
  }

  /** A session and whether this process created it (then the command stops it at the end). */
  static final class Session implements AutoCloseable {
    final SparkSession spark;
    final boolean created;

    Session(SparkSession spark, boolean created) {
      this.spark = spark;
      this.created = created;
    }

    Configuration hadoopConf() {
      return spark.sparkContext().hadoopConfiguration();
    }

    @Override
    public void close() {
      if (created) {
        spark.stop();
      }
    }
  }

  /**
   * The active session, else a new one. spark.master comes from {@code master} only when not set
   * already (spark-submit sets it as a system property); null = local[*]. Local masters bind to
   * 127.0.0.1 unless the driver host is set.
   */
  static Session session(String appName, String master, Map<String, String> conf) {
    Option<SparkSession> active = SparkSession.getActiveSession();
    if (active.isEmpty()) {
      active = SparkSession.getDefaultSession();
    }
    if (active.isDefined()) {
      return new Session(active.get(), false);
    }
    SparkConf probe = new SparkConf();
    SparkSession.Builder b = SparkSession.builder().appName(appName);
    String m = probe.contains("spark.master") ? probe.get("spark.master") : (master != null ? master : "local[*]");
    if (!probe.contains("spark.master")) {
      b.master(m);
    }
    if (m.startsWith("local")) {
      if (!probe.contains("spark.driver.host")) {
        b.config("spark.driver.host", "127.0.0.1");
      }
      if (!probe.contains("spark.driver.bindAddress")) {
        b.config("spark.driver.bindAddress", "127.0.0.1");
      }
    }
    if (conf != null) {
      conf.forEach(b::config);
    }
    if (m.startsWith("local") && !Main.verbose()) {
      quietTaskFailures();
    }
    return new Session(b.getOrCreate(), true);
  }

  /**
   * In local mode the executors log into the CLI's own stderr: a task that fails on bad input would
   * print Spark's ERROR and WARN lines with full stack traces (the executor's, then the scheduler's),
   * before the CLI's one-line error says the same. Those loggers are silenced unless --verbose; on a
   * cluster the executors' logs are theirs and stay as they are.
   */
  static void quietTaskFailures() {
    for (String logger : new String[] {"org.apache.spark.executor.Executor",
        "org.apache.spark.scheduler.TaskSetManager", "org.apache.spark.storage.BlockManager",
        "org.apache.spark.scheduler.TaskSchedulerImpl"}) {
      Configurator.setLevel(logger, Level.OFF);
    }
  }

  /** Reads {@code path} (a table name when format is table). */
  /**
   * {@code repartition(n)} whose partitions hold the same rows in the same order when Spark
   * recomputes them (after a lost executor): a shuffle's reader takes the blocks in arrival order,
   * so the rows are put in the order of a 64-bit hash of all their columns. Without it a seeded run
   * that loses an executor would not end where an undisturbed run ends.
   */
  static Dataset<Row> repartition(Dataset<Row> df, int n) {
    Column[] all = Arrays.stream(df.columns())
        .map(c -> org.apache.spark.sql.functions.col("`" + c.replace("`", "``") + "`"))
        .toArray(Column[]::new);
    return df.repartition(n).sortWithinPartitions(org.apache.spark.sql.functions.xxhash64(all));
  }

  static Dataset<Row> read(SparkSession spark, String format, String path, Map<String, String> options) {
    return read(spark, format, path, options, "input");
  }

  /** As above; {@code what} ("training", "validation", "test") names the data in errors. */
  static Dataset<Row> read(SparkSession spark, String format, String path, Map<String, String> options,
      String what) {
    if (format.equals("table")) {
      return spark.table(path);
    }
    try {
      return spark.read().format(format).options(options).load(path);
    } catch (Exception e) { // AnalysisException is checked but thrown undeclared by Scala code
      // An empty directory (or one of only _SUCCESS and hidden files): Spark cannot infer a schema.
      if (e instanceof AnalysisException a && "UNABLE_TO_INFER_SCHEMA".equals(a.getCondition())) {
        throw new InvalidInputException(what + " data has no rows (path " + path + ": no " + format
            + " files to read)");
      }
      throw SparkSupport.<RuntimeException>rethrow(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static <E extends Exception> E rethrow(Exception e) throws E {
    throw (E) e;
  }

  /** The path fully qualified; local files without the file: scheme. */
  static String display(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    Path q = p.getFileSystem(conf).makeQualified(p);
    return "file".equals(q.toUri().getScheme()) ? q.toUri().getPath() : q.toString();
  }

  /** Replaces {@code target} (file or directory) by {@code tmp}: delete, then rename ({@link AtomicFiles}). */
  static void replace(Path tmp, Path target, Configuration conf) throws IOException {
    AtomicFiles.replace(target.getFileSystem(conf), tmp, target);
  }

  /** A temporary sibling of {@code target} ({@link AtomicFiles#temporaryFor}). */
  static Path tempSibling(Path target) {
    return AtomicFiles.temporaryFor(target);
  }

  private static final Pattern CLASS = Pattern.compile("\"class\"\\s*:\\s*\"([^\"]+)\"");

  /** The model class named in a saved model's metadata. */
  static String modelClass(SparkSession spark, String modelPath) {
    String md = spark.read().text(new Path(modelPath, "metadata").toString()).first().getString(0);
    Matcher m = CLASS.matcher(md);
    if (!m.find()) {
      throw new IllegalArgumentException(modelPath + ": expected a saved sparktrain model, found metadata without"
          + " a class");
    }
    return m.group(1);
  }
}
