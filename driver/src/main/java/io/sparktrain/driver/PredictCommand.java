package io.sparktrain.driver;

import static org.apache.spark.sql.functions.array_join;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.ml.NeuralNetModel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sparktrain predict --model DIR --data PATH --output DIR}: the data plus the prediction columns. */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = {"Apply a saved model to data and write the rows with the model's prediction columns",
        "(classification: rawPrediction, probability, prediction; regression: prediction) as Parquet or CSV.",
        "CSV has no vector type: vector and array columns are written as space-separated numbers."})
final class PredictCommand implements Callable<Integer> {
  private static final String ASSEMBLED = "__sparktrain_features";

  @Mixin
  ModelInput input;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The output directory.")
  String output;

  @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "parquet or csv (default: ${DEFAULT-VALUE}).")
  String outputFormat;

  @Override
  public Integer call() throws Exception {
    input.check();
    outputFormat = outputFormat.toLowerCase(Locale.ROOT);
    if (!outputFormat.equals("parquet") && !outputFormat.equals("csv")) {
      throw new ConfigException("--output-format: expected parquet or csv, found " + outputFormat);
    }
    PrintStream out = Main.Streams.out();
    try (SparkSupport.Session session = SparkSupport.session("sparktrain predict", input.master, null)) {
      NeuralNetModel<?> model = input.load(session.spark);
      Dataset<Row> df = input.read(session.spark);
      List<String> cols = input.featureCols(model);
      // Several numeric columns, or one (data.features: x), are assembled into the vector the model scores.
      boolean assemble = model.numFeatures() > 0 && (cols.size() > 1
          || df.schema().apply(cols.get(0)).dataType() instanceof NumericType);
      if (assemble) {
        df = new VectorAssembler().setInputCols(ModelInput.array(cols)).setOutputCol(ASSEMBLED).transform(df);
        model.setFeaturesCol(ASSEMBLED);
      } else {
        model.setFeaturesCol(cols.get(0));
      }
      Dataset<Row> scored = model.transform(df);
      if (assemble) {
        scored = scored.drop(ASSEMBLED);
      }
      if (outputFormat.equals("csv")) {
        scored = flatten(scored);
      }
      Path target = new Path(output);
      Path tmp = SparkSupport.tempSibling(target);
      scored.write().mode(SaveMode.ErrorIfExists).format(outputFormat).option("header", "true").save(tmp.toString());
      SparkSupport.replace(tmp, target, session.hadoopConf());
      long rows = session.spark.read().format(outputFormat).option("header", "true").load(output).count();
      out.println("wrote " + rows + " rows to " + SparkSupport.display(output, session.hadoopConf()));
    }
    return Main.OK;
  }

  /** Vectors wider than this are written as index:value pairs in CSV (their width is the model's, not the row's). */
  static final int PAIRS_ABOVE = 1024;

  /**
   * Vector and array columns as text (CSV has neither type): space-separated numbers, except vectors
   * wider than {@value #PAIRS_ABOVE} values (a hashed or LibSVM features column), which are written as
   * LibSVM writes them, the space-separated 1-based {@code index:value} pairs of their nonzeros: a row
   * of a 2^20-wide sparse column stays a few pairs instead of a million numbers. The rule depends on
   * the width, which is the same in every row of a column, so a column never mixes the two forms; the
   * width itself is not written (an all-zero row is empty).
   */
  static Dataset<Row> flatten(Dataset<Row> df) {
    List<Column> out = new ArrayList<>();
    UserDefinedFunction vectorText = udf((UDF1<Vector, String>) PredictCommand::vectorText, DataTypes.StringType);
    for (StructField f : df.schema().fields()) {
      Column c = col("`" + f.name() + "`");
      if (f.dataType() instanceof VectorUDT) {
        c = vectorText.apply(c).as(f.name());
      } else if (f.dataType() instanceof ArrayType) {
        c = array_join(c.cast(DataTypes.createArrayType(DataTypes.StringType)), " ").as(f.name());
      }
      out.add(c);
    }
    return df.select(out.toArray(new Column[0]));
  }

  /** A vector as CSV text: space-separated numbers, or above {@link #PAIRS_ABOVE} values 1-based index:value pairs. */
  static String vectorText(Vector v) {
    if (v == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder();
    if (v.size() > PAIRS_ABOVE) {
      SparseVector s = v.toSparse();
      int[] idx = s.indices();
      double[] val = s.values();
      for (int i = 0; i < idx.length; i++) {
        if (i > 0) {
          sb.append(' ');
        }
        sb.append(idx[i] + 1).append(':').append(val[i]);
      }
      return sb.toString();
    }
    double[] a = v.toArray();
    for (int i = 0; i < a.length; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(a[i]);
    }
    return sb.toString();
  }
}
