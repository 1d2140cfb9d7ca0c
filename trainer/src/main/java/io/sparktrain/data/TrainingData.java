package io.sparktrain.data;

import io.sparktrain.train.OrderedAggregate;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.Seq;

/**
 * A DataFrame decoded for training: one packed {@link Block} per partition, cached
 * MEMORY_AND_DISK, plus what was learned while decoding (feature count, classes, rows per
 * partition). Decoding validates the schema on the driver, then every row in the decoding job
 * itself, before round 1; each failure is an {@link InvalidInputException} naming the column, the
 * expected and the found value, and the partition and row.
 *
 * <p>Rows are numbered globally in partition order (partition 0's rows first), which is what lets
 * the sync mode draw the same global mini-batches whatever the partitioning.
 */
public final class TrainingData {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingData.class);

  private final JavaRDD<Block> blocks;
  private final InputSpec spec;
  private final int numFeatures;
  private final int labelWidth;
  private final int numClasses;
  private final long[] partitionRows;
  private final long rows;
  private final double weightSum;
  private final long bytes;

  private TrainingData(JavaRDD<Block> blocks, InputSpec spec, int numFeatures, int labelWidth, int numClasses,
      long[] partitionRows, double weightSum, long bytes) {
    this.blocks = blocks;
    this.spec = spec;
    this.numFeatures = numFeatures;
    this.labelWidth = labelWidth;
    this.numClasses = numClasses;
    this.partitionRows = partitionRows;
    this.rows = Arrays.stream(partitionRows).sum();
    this.weightSum = weightSum;
    this.bytes = bytes;
  }

  /** Statistics of one decoded partition. */
  private static final class Stats implements Serializable {
    private static final long serialVersionUID = 1L;
    int partition;
    int rows;
    int inputs;
    int labelWidth;
    int firstRowLabelWidth;
    double maxLabel = Double.NEGATIVE_INFINITY;
    double weightSum;
    long bytes;
    /** The largest |x| of any feature value, and the feature index where it is. */
    float maxAbs;
    int maxAbsFeature = -1;
    boolean sparse;
    long nonzeros;
  }

  /** Feature values above this in magnitude get a warning before training: unscaled inputs train badly. */
  public static final float LARGE_FEATURE = 1e6f;

  /**
   * Validates and decodes {@code df}; runs one Spark job (which also fills the cache).
   *
   * @throws InvalidInputException for any bad column, type or value, before training starts
   */
  public static TrainingData decode(Dataset<Row> df, InputSpec spec) {
    return decode(df, spec, "training");
  }

  /**
   * As {@link #decode(Dataset, InputSpec)}; {@code what} ("training", "validation", "test") names
   * the data in errors and warnings.
   */
  public static TrainingData decode(Dataset<Row> df, InputSpec spec, String what) {
    StructType schema = df.schema();
    // No rows: say so, before a type check that schema inference on nothing (a CSV with only its
    // header reads as strings) would fail with a misleading message.
    boolean typesOk = true;
    for (String c : spec.featureCols()) {
      typesOk &= schema.getFieldIndex(c).isEmpty() || field(schema, c, "features").dataType() instanceof NumericType
          || isVectorOrNumericArray(field(schema, c, "features").dataType());
    }
    if (!typesOk && df.isEmpty()) {
      throw noRows(df, what);
    }
    List<String> cols = new ArrayList<>(spec.featureCols());
    List<CategoricalColumn> kinds = new ArrayList<>();
    for (CategoricalColumn c : spec.categorical()) {
      DataType t = field(schema, c.column(), "categorical").dataType();
      String problem = c.problem(t);
      if (problem != null) {
        throw new InvalidInputException("categorical column '" + c.column() + "': " + problem);
      }
      cols.add(c.column());
      kinds.add(c.withKind(CategoricalColumn.kindOf(t)));
    }
    spec = spec.withCategorical(kinds); // the kinds go into the model
    boolean labeled = spec.labeled();
    if (labeled) {
      cols.add(spec.labelCol());
    }
    if (spec.weightCol() != null) {
      cols.add(spec.weightCol());
    }
    for (String c : spec.featureCols()) {
      DataType t = field(schema, c, "features").dataType();
      if (spec.vectorFeatures()) {
        if (!isVectorOrNumericArray(t) && !(t instanceof NumericType)) {
          throw new InvalidInputException("features column '" + c + "': expected a Vector or array<float|double>"
              + " (or several numeric columns), found " + t.simpleString());
        }
      } else if (!(t instanceof NumericType)) {
        throw new InvalidInputException("features column '" + c + "': expected a numeric type, found "
            + t.simpleString());
      }
    }
    DataType lt = labeled ? field(schema, spec.labelCol(), "label").dataType() : null;
    boolean labelIsNumber = lt instanceof NumericType;
    if (labeled && spec.task() == InputSpec.Task.CLASSIFICATION && !labelIsNumber) {
      throw new InvalidInputException("label column '" + spec.labelCol() + "': expected a numeric class index"
          + " 0..K-1, found " + lt.simpleString());
    }
    if (labeled && spec.task() == InputSpec.Task.REGRESSION && !labelIsNumber && !isVectorOrNumericArray(lt)) {
      throw new InvalidInputException("label column '" + spec.labelCol() + "': expected a numeric target or an"
          + " array/Vector of targets, found " + lt.simpleString());
    }
    if (spec.weightCol() != null) {
      DataType wt = field(schema, spec.weightCol(), "weight").dataType();
      if (!(wt instanceof NumericType)) {
        throw new InvalidInputException("weight column '" + spec.weightCol() + "': expected a numeric type,"
            + " found " + wt.simpleString());
      }
    }
    boolean singleNumericFeature = spec.vectorFeatures() && field(schema, spec.featureCols().get(0), "features")
        .dataType() instanceof NumericType;

    Dataset<Row> selected = df.selectExpr(cols.stream().map(c -> "`" + c.replace("`", "``") + "`")
        .toArray(String[]::new));
    InputSpec s = spec;
    boolean scalarFeatures = !spec.vectorFeatures() || singleNumericFeature;
    JavaRDD<Block> blocks = selected.javaRDD()
        .mapPartitionsWithIndex((p, it) -> List.of(decodePartition(p, it, s, scalarFeatures, labelIsNumber))
            .iterator(), true)
        .persist(StorageLevel.MEMORY_AND_DISK());
    List<Stats> stats;
    try {
      stats = blocks.mapPartitionsWithIndex((p, it) -> {
        Block b = Block.only(it);
        Stats st = new Stats();
        st.partition = p;
        st.rows = b.rows();
        st.inputs = b.inputs();
        st.labelWidth = b.labelWidth();
        st.bytes = b.sizeInBytes();
        float[] y = b.labels();
        for (float v : y) st.maxLabel = Math.max(st.maxLabel, v);
        float[] x = b.features();
        int in = Math.max(1, b.inputs());
        for (int i = 0; i < x.length; i++) {
          float a = Math.abs(x[i]);
          if (a > st.maxAbs) {
            st.maxAbs = a;
            st.maxAbsFeature = b.isSparse() ? b.cols()[i] : i % in;
          }
        }
        st.sparse = b.isSparse();
        st.nonzeros = b.isSparse() ? x.length : 0;
        float[] w = b.weights();
        if (w == null) {
          st.weightSum = b.rows();
        } else {
          for (float v : w) st.weightSum += v;
        }
        return List.of(st).iterator();
      }, true).collect();
    } catch (Exception e) { // SparkException is checked but thrown undeclared by Scala code
      blocks.unpersist(false);
      InvalidInputException bad = InvalidInputException.find(e);
      if (bad != null) {
        throw new InvalidInputException(bad.getMessage());
      }
      if (e instanceof RuntimeException) {
        throw (RuntimeException) e;
      }
      throw new IllegalStateException("decoding the training data failed: " + e.getMessage(), e);
    }

    long[] partRows = new long[stats.size()];
    Stats first = null;
    double weightSum = 0;
    long bytes = 0;
    double maxLabel = Double.NEGATIVE_INFINITY;
    for (Stats st : stats) {
      partRows[st.partition] = st.rows;
      weightSum += st.weightSum;
      bytes += st.bytes;
      if (st.rows == 0) {
        continue;
      }
      maxLabel = Math.max(maxLabel, st.maxLabel);
      if (first == null) {
        first = st;
      } else if (st.inputs != first.inputs) {
        blocks.unpersist(false);
        throw new InvalidInputException("features column '" + String.join(",", spec.featureCols())
            + "': vectors of different sizes: partition " + first.partition + " has " + first.inputs
            + ", partition " + st.partition + " has " + st.inputs);
      } else if (st.labelWidth != first.labelWidth) {
        blocks.unpersist(false);
        throw new InvalidInputException("label column '" + spec.labelCol() + "': arrays of different sizes:"
            + " partition " + first.partition + " has " + first.labelWidth + ", partition " + st.partition
            + " has " + st.labelWidth);
      }
    }
    if (first == null) {
      blocks.unpersist(false);
      throw noRows(df, what);
    }
    Stats largest = null;
    for (Stats st : stats) {
      if (st.rows > 0 && (largest == null || st.maxAbs > largest.maxAbs)) {
        largest = st;
      }
    }
    if (largest != null && largest.maxAbs > LARGE_FEATURE) {
      LOG.warn("sparktrain: {} data: {} holds values up to {} in magnitude (partition {}); features this large"
          + " saturate activations and make the gradients explode unless scaled: keep standardization on (the"
          + " default of the CLI's data.standardize and the Estimators' standardization) or scale them first, e.g."
          + " StandardScaler or MinMaxScaler in a Pipeline before the estimator",
          what, featureName(spec, largest.maxAbsFeature),
          String.format(Locale.ROOT, "%.3g", largest.maxAbs), largest.partition);
    }
    if (weightSum <= 0) {
      blocks.unpersist(false);
      throw new InvalidInputException("weight column '" + spec.weightCol() + "': expected a positive total"
          + " weight, found " + weightSum);
    }
    int numClasses = 0;
    if (labeled && spec.task() == InputSpec.Task.CLASSIFICATION) {
      numClasses = spec.numClasses() > 0 ? spec.numClasses() : Math.max(2, (int) maxLabel + 1);
    }
    TrainingData td = new TrainingData(blocks, spec, first.inputs, first.labelWidth, numClasses, partRows,
        weightSum, bytes);
    long nonzeros = 0;
    int sparseParts = 0;
    for (Stats st : stats) {
      nonzeros += st.nonzeros;
      sparseParts += st.sparse ? 1 : 0;
    }
    td.sparsePartitions = sparseParts;
    td.nonzeros = nonzeros;
    LOG.info("sparktrain: decoded {} rows x {} features into {} partitions, {} MB cached (MEMORY_AND_DISK){}{}",
        td.rows, td.numFeatures, partRows.length, String.format(Locale.ROOT, "%.1f", bytes / 1e6),
        numClasses > 0 ? ", " + numClasses + " classes" : "", sparseParts == 0 ? ""
        : String.format(Locale.ROOT, "; sparse features in CSR form in %d partitions: %d nonzeros (%.4f%% dense)",
            sparseParts, nonzeros, 100.0 * nonzeros / Math.max(1.0, (double) td.rows * td.numFeatures)));
    return td;
  }

  /** "features column 'x3'" for one numeric column per feature, else "features column 'v' element 17". */
  static String featureName(InputSpec spec, int feature) {
    List<String> cols = spec.featureCols();
    if (cols.size() > 1 && feature >= 0 && feature < cols.size()) {
      return "features column '" + cols.get(feature) + "'";
    }
    return "features column '" + cols.get(0) + "'" + (feature >= 0 ? " element " + feature : "");
  }

  /** "training data has no rows (path ...)", naming the files it was read from when there are any. */
  static InvalidInputException noRows(Dataset<Row> df, String what) {
    String[] files;
    try {
      files = df.inputFiles();
    } catch (RuntimeException e) {
      files = new String[0];
    }
    String from = files.length == 0 ? df.javaRDD().getNumPartitions() + " partitions, columns "
        + Arrays.toString(df.columns())
        : "path " + (files.length == 1 ? files[0] : files[0] + " and " + (files.length - 1) + " more files");
    return new InvalidInputException(what + " data has no rows (" + from + ")");
  }

  private static boolean isVectorOrNumericArray(DataType t) {
    if (t instanceof VectorUDT) {
      return true;
    }
    if (t instanceof ArrayType) {
      DataType e = ((ArrayType) t).elementType();
      return e.equals(DataTypes.FloatType) || e.equals(DataTypes.DoubleType) || e instanceof NumericType;
    }
    return false;
  }

  private static StructField field(StructType schema, String name, String role) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    throw new InvalidInputException(role + " column '" + name + "': not found; the DataFrame has columns "
        + Arrays.toString(schema.fieldNames()));
  }

  /** Growable float storage. */
  private static final class Floats {
    float[] a = new float[1024];
    int n;

    void add(float v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, Math.max(16, (int) Math.min(Integer.MAX_VALUE - 8, a.length * 2L)));
      }
      a[n++] = v;
    }

    float[] toArray() {
      return Arrays.copyOf(a, n);
    }
  }

  /** Growable int storage (CSR column indices and row pointers). */
  /**
   * Appends a feature vector's nonzeros (index, value) to {@code cols} and {@code vals}; returns its
   * size (the dimension). A SparseVector keeps its structure; a dense vector contributes its nonzeros.
   */
  private static int appendSparse(Object o, IntList cols, Floats vals, String col, String where) {
    if (o instanceof SparseVector) {
      SparseVector sv = (SparseVector) o;
      int[] idx = sv.indices();
      double[] v = sv.values();
      for (int k = 0; k < idx.length; k++) {
        cols.add(idx[k]);
        vals.add(finite(v[k], col, where));
      }
      return sv.size();
    }
    Floats dense = new Floats();
    appendVector(o, dense, col, where);
    for (int j = 0; j < dense.n; j++) {
      if (dense.a[j] != 0f) {
        cols.add(j);
        vals.add(dense.a[j]);
      }
    }
    return dense.n;
  }

  private static Block decodePartition(int partition, Iterator<Row> it, InputSpec spec, boolean scalarFeatures,
      boolean labelIsNumber) {
    Floats x = new Floats();
    // Sparse features (the first row's vector is a SparseVector) decode into CSR: values in x.
    IntList cols = null;
    IntList ptr = null;
    Floats y = new Floats();
    Floats w = spec.weightCol() != null ? new Floats() : null;
    int nf = spec.featureCols().size();
    List<CategoricalColumn> cats = spec.categorical();
    int labelIdx = nf + cats.size();
    IntList catPtr = cats.isEmpty() ? null : new IntList();
    IntList catIds = cats.isEmpty() ? null : new IntList();
    if (catPtr != null) {
      catPtr.add(0);
    }
    int[] catFields = new int[cats.size()];
    for (int c = 0; c < catFields.length; c++) catFields[c] = nf + c;
    int width = spec.numFeatures();
    int lw = -1;
    int rows = 0;
    String featName = String.join(",", spec.featureCols());
    while (it.hasNext()) {
      Row row = it.next();
      String where = " at partition " + partition + " row " + rows;
      int before = x.n;
      if (rows == 0 && !scalarFeatures && row.get(0) instanceof SparseVector) {
        cols = new IntList();
        ptr = new IntList();
        ptr.add(0);
      }
      int n;
      if (scalarFeatures) {
        for (int j = 0; j < nf; j++) {
          x.add(finite(number(row, j, spec.featureCols().get(j), where), "features column '"
              + spec.featureCols().get(j) + "'", where));
        }
        n = x.n - before;
      } else if (cols != null) {
        if (row.get(0) == null) {
          throw new InvalidInputException("features column '" + featName + "': expected a vector, found null"
              + where);
        }
        n = appendSparse(row.get(0), cols, x, "features column '" + featName + "'", where);
        ptr.add(x.n);
      } else {
        appendVector(row.get(0), x, "features column '" + featName + "'", where);
        n = x.n - before;
      }
      if (catPtr != null) {
        CategoricalColumn.appendRow(row, catFields, cats, catPtr, catIds, where);
      }
      if (width < 0 || (width == 0 && nf > 0)) {
        width = n;
      } else if (n != width) {
        throw new InvalidInputException("features column '" + featName + "': expected " + width
            + " values" + (spec.numFeatures() > 0 ? " (numFeatures)" : " (the size of the first row of"
            + " this partition)") + ", found " + n + where);
      }
      if (!spec.labeled()) {
        lw = 0; // unlabeled rows: no label column was selected
      } else if (labelIsNumber) {
        double v = number(row, labelIdx, spec.labelCol(), where);
        String col = "label column '" + spec.labelCol() + "'";
        finite(v, col, where);
        if (spec.task() == InputSpec.Task.CLASSIFICATION) {
          if (v != Math.rint(v) || v < 0) {
            throw new InvalidInputException(col + ": expected an integral class index >= 0, found " + v + where);
          }
          if (spec.numClasses() > 0 && v >= spec.numClasses()) {
            throw new InvalidInputException(col + ": expected a class index in 0.." + (spec.numClasses() - 1)
                + ", found " + (long) v + where);
          }
        }
        y.add((float) v);
        lw = 1;
      } else {
        int b = y.n;
        appendVector(row.get(labelIdx), y, "label column '" + spec.labelCol() + "'", where);
        int got = y.n - b;
        if (lw < 0) {
          lw = got;
        } else if (got != lw) {
          throw new InvalidInputException("label column '" + spec.labelCol() + "': expected " + lw
              + " targets (the size of the first row of this partition), found " + got + where);
        }
      }
      if (w != null) {
        int weightIdx = spec.labeled() ? labelIdx + 1 : labelIdx;
        double v = number(row, weightIdx, spec.weightCol(), where);
        String col = "weight column '" + spec.weightCol() + "'";
        finite(v, col, where);
        if (v < 0) {
          throw new InvalidInputException(col + ": expected a weight >= 0, found " + v + where);
        }
        w.add((float) v);
      }
      rows++;
    }
    Block b;
    if (rows == 0) {
      b = Block.empty(nf == 0 ? 0 : Math.max(1, width), spec.labeled() ? 1 : 0, w != null);
    } else if (cols != null) {
      b = Block.sparse(rows, width, lw, ptr.toArray(), cols.toArray(), x.toArray(), y.toArray(),
          w == null ? null : w.toArray());
    } else {
      b = new Block(rows, width, lw, x.toArray(), y.toArray(), w == null ? null : w.toArray());
    }
    return catPtr == null ? b : b.withCategorical(cats.size(), catPtr.toArray(), catIds.toArray());
  }

  private static double number(Row row, int i, String col, String where) {
    Object o = row.get(i);
    if (o == null) {
      throw new InvalidInputException("column '" + col + "': expected a number, found null" + where);
    }
    return ((Number) o).doubleValue();
  }

  private static float finite(double v, String col, String where) {
    if (!Double.isFinite(v)) {
      throw new InvalidInputException(col + ": expected finite values, found " + v + where);
    }
    return (float) v;
  }

  private static void appendVector(Object o, Floats out, String col, String where) {
    if (o == null) {
      throw new InvalidInputException(col + ": expected a vector, found null" + where);
    }
    if (o instanceof DenseVector) {
      for (double v : ((DenseVector) o).values()) out.add(finite(v, col, where));
    } else if (o instanceof SparseVector) {
      SparseVector sv = (SparseVector) o;
      int start = out.n;
      for (int i = 0; i < sv.size(); i++) out.add(0f);
      int[] idx = sv.indices();
      double[] vals = sv.values();
      for (int k = 0; k < idx.length; k++) out.a[start + idx[k]] = finite(vals[k], col, where);
    } else if (o instanceof Vector) {
      for (double v : ((Vector) o).toArray()) out.add(finite(v, col, where));
    } else if (o instanceof Seq) {
      var it = ((Seq<?>) o).iterator();
      while (it.hasNext()) {
        Object e = it.next();
        if (e == null) {
          throw new InvalidInputException(col + ": expected numbers, found a null element" + where);
        }
        out.add(finite(((Number) e).doubleValue(), col, where));
      }
    } else if (o instanceof List) {
      for (Object e : (List<?>) o) {
        if (e == null) {
          throw new InvalidInputException(col + ": expected numbers, found a null element" + where);
        }
        out.add(finite(((Number) e).doubleValue(), col, where));
      }
    } else {
      throw new InvalidInputException(col + ": expected a Vector or array, found " + o.getClass().getName() + where);
    }
  }

  /** Partitions decoded in CSR form (sparse features), and their nonzeros; 0 when dense. */
  private int sparsePartitions;
  private long nonzeros;

  /** How many partitions hold their features in CSR form (their vectors were SparseVectors). */
  public int sparsePartitions() { return sparsePartitions; }

  /** Nonzero feature values of the CSR partitions. */
  public long nonzeros() { return nonzeros; }

  /** The cached blocks, one per partition. */
  public JavaRDD<Block> blocks() { return blocks; }
  public InputSpec spec() { return spec; }
  public int numFeatures() { return numFeatures; }
  /** Label floats per row: 1 for classes and single targets, the target count otherwise; 0 when unlabeled. */
  public int labelWidth() { return labelWidth; }
  /** Whether the rows have labels: false when decoded with {@link InputSpec#unlabeled()}. */
  public boolean labeled() { return spec.labeled(); }
  /** Classes (classification), else 0. */
  public int numClasses() { return numClasses; }
  public long rows() { return rows; }
  public long[] partitionRows() { return partitionRows.clone(); }
  public int numPartitions() { return partitionRows.length; }
  public double weightSum() { return weightSum; }
  public long cachedBytes() { return bytes; }

  /**
   * The standardization of these rows' features ({@link InputScaling#of} of {@link #featureMoments}):
   * one distributed pass over the cached blocks, with a tree of {@code depth} levels.
   */
  public InputScaling fitScaling(int depth) {
    InputScaling.Moments m = featureMoments(depth);
    if (m.count() == 0) {
      throw new InvalidInputException("data.standardize: expected training rows to compute the feature means and"
          + " variances from, found none");
    }
    return InputScaling.of(m);
  }

  /**
   * The per-feature moments of all rows: one tree aggregation over the cached blocks, merged in
   * partition order ({@link OrderedAggregate}), so the result does not depend on task timing and a
   * resumed run computes the same scaling.
   */
  public InputScaling.Moments featureMoments(int depth) {
    return OrderedAggregate.aggregate(blocks.map(InputScaling.Moments::of), InputScaling.Moments::new,
        InputScaling.Moments::merge, depth);
  }

  /**
   * This data with its features scaled by {@code scaling} ({@link InputScaling#apply}): a new cached
   * copy of the blocks (MEMORY_AND_DISK, filled by the first job that reads it), with the same
   * counts. This data stays cached as it was; the caller unpersists both.
   */
  public TrainingData scaled(InputScaling scaling) {
    if (scaling.size() != numFeatures) {
      throw new InvalidInputException("features: expected " + scaling.size() + " values per row (the model's input"
          + " scaling), found " + numFeatures);
    }
    JavaRDD<Block> out = blocks.map(scaling::apply).persist(StorageLevel.MEMORY_AND_DISK());
    TrainingData td = new TrainingData(out, spec, numFeatures, labelWidth, numClasses, partitionRows, weightSum,
        bytes);
    td.sparsePartitions = sparsePartitions;
    td.nonzeros = nonzeros;
    return td;
  }

  /** Releases the cache. */
  public void unpersist() {
    blocks.unpersist(false);
  }
}
