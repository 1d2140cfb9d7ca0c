package io.sparktrain.driver;

import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetModel;
import io.sparktrain.ml.NeuralNetRegressionModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The options evaluate and predict share: a saved model and the data to apply it to. */
final class ModelInput {
  static final List<String> FORMATS = List.of("parquet", "csv", "json", "libsvm", "orc", "table");

  @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR",
      description = "A model directory written by train (output.dir/model).")
  String model;

  @Option(names = {"-d", "--data"}, required = true, paramLabel = "PATH",
      description = "The data: a path (any Hadoop FS URI), or a table name with --format table.")
  String data;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "parquet, csv, json, libsvm, orc or table (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--features", paramLabel = "COL[,COL...]", split = ",",
      description = "The features column (Vector or array), or several numeric columns (default: the model's"
          + " features column).")
  List<String> features;

  @Option(names = "--option", paramLabel = "KEY=VALUE",
      description = "A reader option, e.g. --option header=true --option inferSchema=true for csv. Repeatable.")
  Map<String, String> options = new LinkedHashMap<>();

  @Option(names = "--master", paramLabel = "URL",
      description = "spark.master when not set already (e.g. by spark-submit); default local[*].")
  String master;

  /** Checks what can be checked before Spark starts; a ConfigException (exit 2) otherwise. */
  void check() {
    format = format.toLowerCase(Locale.ROOT);
    if (!FORMATS.contains(format)) {
      throw new ConfigException("--format: expected one of " + String.join(", ", FORMATS) + ", found " + format);
    }
  }

  /** The model at --model (classification or regression, from its metadata). */
  NeuralNetModel<?> load(SparkSession spark) {
    return load(spark, model);
  }

  /** The model saved at {@code model} (classification or regression, from its metadata). */
  static NeuralNetModel<?> load(SparkSession spark, String model) {
    String cls = SparkSupport.modelClass(spark, model);
    if (cls.equals(NeuralNetClassificationModel.class.getName())) {
      return NeuralNetClassificationModel.load(model);
    }
    if (cls.equals(NeuralNetRegressionModel.class.getName())) {
      return NeuralNetRegressionModel.load(model);
    }
    throw new IllegalArgumentException(model + ": expected a sparktrain model, found a saved " + cls);
  }

  Dataset<Row> read(SparkSession spark) {
    return SparkSupport.read(spark, format, data, options);
  }

  /** The features columns: --features, else the model's featuresCol. */
  List<String> featureCols(NeuralNetModel<?> m) {
    return features == null || features.isEmpty() ? List.of(m.getFeaturesCol()) : new ArrayList<>(features);
  }

  static String[] array(List<String> cols) {
    return cols.toArray(new String[0]);
  }

  @Override
  public String toString() {
    return "ModelInput" + Arrays.asList(model, data, format);
  }
}
