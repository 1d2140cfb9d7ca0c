package io.sparktrain.ml;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.IntList;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.explain.ExplainOptions;
import io.sparktrain.explain.Explainer;
import io.sparktrain.explain.Explanation;
import io.sparktrain.export.OnnxExport;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import scala.Option;
import scala.collection.Seq;

/**
 * The shared part of the neural-network models: the network architecture, its trained
 * parameters, an optional training summary, batched scoring and persistence.
 *
 * <p><b>transform</b> broadcasts the parameters once, then each partition scores its rows in
 * chunks of at most {@value #CHUNK} rows with {@link Network#predict} (GEMM through BLAS) and
 * appends the output columns (see the subclasses). A null or wrong-sized features row fails the
 * job with a message naming the column.
 *
 * <p><b>Standardization</b>: a model trained with standardization (the default of the Estimators
 * and the CLI) carries its {@link InputScaling}; transform applies it to each chunk of rows before
 * the first layer: dense rows are shifted and scaled, SparseVectors only scaled when the scaling is
 * scale-only (trained on sparse data), else expanded to dense rows first.
 *
 * <p><b>Persistence</b>: {@code <path>/metadata} is Spark's DefaultParamsWriter metadata (class,
 * uid, params), {@code <path>/data/network.bin} holds the architecture and parameters (see
 * {@link ModelData}). Loading works through the subclass's static {@code read()}/{@code load()},
 * and hence inside {@code PipelineModel.load}.
 */
public abstract class NeuralNetModel<M extends NeuralNetModel<M>> extends Model<M>
    implements NeuralNetParams, MLWritable {
  private static final long serialVersionUID = 1L;

  /** Rows per predict call in transform. */
  public static final int CHUNK = 1024;

  private final String uid;
  private final NeuralNetParamSet paramSet;
  private final Network network;
  private final float[] parameters;
  /** Standardization in front of the first layer, or null (set once, right after construction). */
  private InputScaling inputScaling;
  private List<CategoricalColumn> categorical = List.of();
  private NeuralNetTrainingSummary summary;

  NeuralNetModel(String uid, NeuralNetParamSet.Task task, Network network, float[] parameters) {
    this.uid = uid;
    this.paramSet = new NeuralNetParamSet(this, task);
    this.network = network;
    network.layout().check(parameters, "model parameters");
    this.parameters = parameters.clone();
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public NeuralNetParamSet paramSet() {
    return paramSet;
  }

  @SuppressWarnings("unchecked")
  final M self() {
    return (M) this;
  }

  final M put(Param<?> p, Object v) {
    set(p.name(), v);
    return self();
  }

  public M setFeaturesCol(String v) { return put(featuresCol(), v); }
  /** "" = do not output the prediction column. */
  public M setPredictionCol(String v) { return put(predictionCol(), v); }

  /** The architecture (immutable, serializable). */
  public Network network() {
    return network;
  }

  /** The trained parameters, in the layout of {@link Network#layout()}; a copy. */
  public float[] parameters() {
    return parameters.clone();
  }

  /**
   * The standardization applied to the features before the first layer ({@code (x - shift) * scale}),
   * or null when the model takes raw features.
   */
  public InputScaling inputScaling() {
    return inputScaling;
  }

  /**
   * Writes this model as an ONNX file (opset {@value OnnxExport#OPSET}; the graph, its outputs and
   * what it refuses are in {@link OnnxExport}) to the local file {@code path}, whole or not at all
   * (a temporary file, then a rename). The metadata also carries this model's params
   * ({@code sparktrain.params}, JSON) and {@code extra} (e.g. the training config); null for none.
   */
  public void exportOnnx(Path path, Map<String, String> extra) throws IOException {
    exportOnnx(path, extra, OnnxExport.Weights.FLOAT32);
  }

  /**
   * As {@link #exportOnnx(Path, Map)}, with the kernels stored as {@code weights}
   * ({@link OnnxExport.Weights#INT8}: post-training int8, per output channel).
   */
  public void exportOnnx(Path path, Map<String, String> extra, OnnxExport.Weights weights) throws IOException {
    Map<String, String> meta = new LinkedHashMap<>();
    Map<String, Object> ps = new LinkedHashMap<>();
    for (Param<?> p : params()) {
      if (isDefined(p)) {
        ps.put(p.name(), $(p));
      }
    }
    meta.put("sparktrain.params", new ObjectMapper().writeValueAsString(ps));
    if (extra != null) {
      meta.putAll(extra);
    }
    boolean classifier = this instanceof NeuralNetClassificationModel;
    OnnxExport.write(OnnxExport.model(network, parameters, inputScaling, classifier, weights, meta), path);
  }

  /**
   * Feature attributions of this model over {@code dataset} ({@link Explainer}): permutation importance,
   * integrated gradients or gradient x input, per {@code options}. The features are read from
   * {@code featuresCol} and explained as raw values (the model's standardization is applied inside);
   * the label column ({@code options.labelCol()}) is needed for permutation only. Runs per partition
   * on the decoded, cached rows and merges with a tree aggregation; the cache is released afterwards.
   */
  public Explanation explain(Dataset<?> dataset, ExplainOptions options) {
    if (!categorical.isEmpty()) {
      throw new InvalidInputException("explain: expected a model of numeric features only, found categorical"
          + " columns " + categorical.stream().map(CategoricalColumn::column).toList());
    }
    boolean classifier = this instanceof NeuralNetClassificationModel;
    InputSpec spec = classifier
        ? InputSpec.classification(getFeaturesCol(), options.labelCol())
            .withNumClasses(((NeuralNetClassificationModel) this).getNumClasses())
        : InputSpec.regression(getFeaturesCol(), options.labelCol());
    return Explainer.explain(dataset.toDF(), spec.withNumFeatures(numFeatures()), network, parameters, inputScaling,
        options);
  }

  /** As {@link #exportOnnx(Path, Map)} with no extra metadata. */
  public void exportOnnx(String path) throws IOException {
    exportOnnx(Path.of(path), null);
  }

  /** Sets the input scaling (a model just built or loaded); returns this. */
  final M withInputScaling(InputScaling s) {
    if (s != null && s.size() != network.inputs()) {
      throw new IllegalArgumentException("input scaling: expected " + network.inputs() + " features (the model's"
          + " numFeatures), found " + s.size());
    }
    this.inputScaling = s;
    return self();
  }

  /**
   * Sets the columns that feed the network's embedding tables, in table order (a model just built or
   * loaded; each column's buckets and dim must be its table's); returns this.
   */
  public final M withCategoricalColumns(List<CategoricalColumn> cols) {
    if (cols.size() != network.categorical()) {
      throw new IllegalArgumentException("categorical columns: expected " + network.categorical() + " (one per"
          + " embedding table of " + network + "), found " + cols.size());
    }
    for (int c = 0; c < cols.size(); c++) {
      if (!cols.get(c).embedding().equals(network.embedding(c))) {
        throw new IllegalArgumentException("categorical column " + c + " '" + cols.get(c).column() + "': expected"
            + " the table " + network.embedding(c) + ", found " + cols.get(c).embedding());
      }
    }
    this.categorical = List.copyOf(cols);
    return self();
  }

  /** The columns that feed the embedding tables, in order (empty when the network has none). */
  public List<CategoricalColumn> categoricalColumns() {
    return categorical;
  }

  public int numFeatures() {
    return network.inputs();
  }

  /** Output units: classes for a classifier, targets for a regressor. */
  public int numOutputs() {
    return network.outputs();
  }

  /** True for a model fresh from {@code fit} (loaded models have no summary). */
  public boolean hasSummary() {
    return summary != null;
  }

  /** The training summary of the fit that made this model. */
  public NeuralNetTrainingSummary summary() {
    if (summary == null) {
      throw new IllegalStateException(getClass().getSimpleName() + " " + uid + ": no training summary; it is"
          + " only available on a model returned by fit (summaries are not saved)");
    }
    return summary;
  }

  void setSummary(NeuralNetTrainingSummary s) {
    this.summary = s;
  }

  /** A new model of the concrete type with {@code uid}, the same network and parameters. */
  abstract M newInstance(String uid, Network net, float[] params);

  /** The output columns appended to {@code schema} (skipping empty column names). */
  abstract StructType addOutputs(StructType schema);

  /** The function that scores a partition's rows; {@code featIdx} is the features column's index. */
  abstract Scorer scorer(int featIdx, Broadcast<float[]> params);

  @Override
  public StructType transformSchema(StructType schema) {
    String who = getClass().getSimpleName();
    if (network.inputs() > 0) {
      Schemas.checkFeatures(schema, getFeaturesCol(), who);
    }
    Schemas.checkCategorical(schema, categorical, who, "categorical column");
    return addOutputs(schema);
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType out = transformSchema(dataset.schema());
    Dataset<Row> df = dataset.toDF();
    if (out.size() == df.schema().size()) {
      logWarning(() -> uid + ": transform() does nothing: all output column params are empty");
      return df;
    }
    int featIdx = network.inputs() > 0 ? df.schema().fieldIndex(getFeaturesCol()) : -1;
    Broadcast<float[]> bc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext()).broadcast(parameters);
    Scorer scorer = scorer(featIdx, bc);
    scorer.scaling = inputScaling;
    scorer.categorical = categorical;
    scorer.catIdx = categorical.stream().mapToInt(c -> df.schema().fieldIndex(c.column())).toArray();
    return df.mapPartitions(scorer, Encoders.row(out));
  }

  @Override
  public M copy(ParamMap extra) {
    M m = copyValues(newInstance(uid, network, parameters), extra);
    m.withInputScaling(inputScaling);
    m.withCategoricalColumns(categorical);
    m.setSummary(summary);
    return m.setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + ": uid=" + uid + ", " + network;
  }

  /** Scores one partition: chunks of at most {@link #CHUNK} rows through {@link Network#predict}. */
  abstract static class Scorer implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    final Network net;
    final Broadcast<float[]> params;
    final int featIdx;
    final String featCol;
    final int extras;
    /** The model's input scaling, or null. */
    InputScaling scaling;
    /** The categorical columns and their field indices in the input rows. */
    List<CategoricalColumn> categorical = List.of();
    int[] catIdx = new int[0];

    Scorer(Network net, Broadcast<float[]> params, int featIdx, String featCol, int extras) {
      this.net = net;
      this.params = params;
      this.featIdx = featIdx;
      this.featCol = featCol;
      this.extras = extras;
    }

    /**
     * Writes the output columns of row {@code r} of the chunk into {@code values} from {@code at}.
     * {@code out} is the output layer's activations, {@code logits} its pre-activations.
     */
    abstract void outputs(float[] out, float[] logits, int r, Object[] values, int at);

    /** Whether {@link #outputs} needs the logits. */
    boolean needsLogits() {
      return false;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
      return new Iterator<Row>() {
        private final Row[] buf = new Row[CHUNK];
        private final int inputs = net.inputs();
        private final int k = net.outputs();
        private Network.Workspace ws;
        private float[] p;
        private float[] x;
        private MiniBatch csr;
        private IntList ptr;
        private IntList ids;
        private float[] out;
        private float[] logits;
        private int n;
        private int pos;
        private long seen;

        @Override
        public boolean hasNext() {
          if (pos < n) {
            return true;
          }
          fill();
          return n > 0;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          Row row = buf[pos];
          int width = row.length();
          Object[] values = new Object[width + extras];
          for (int i = 0; i < width; i++) values[i] = row.get(i);
          outputs(out, logits, pos, values, width);
          buf[pos++] = null;
          return RowFactory.create(values);
        }

        private void fill() {
          n = 0;
          pos = 0;
          while (n < CHUNK && input.hasNext()) {
            buf[n++] = input.next();
          }
          if (n == 0) {
            return;
          }
          if (ws == null) {
            ws = net.newWorkspace();
            p = params.value();
          }
          // A centring scaling would fill the zeros: SparseVectors then go through dense rows.
          boolean sparse = (scaling == null || scaling.scaleOnly()) && inputs > 0;
          for (int r = 0; r < n && sparse; r++) sparse = buf[r].get(featIdx) instanceof SparseVector;
          if (!categorical.isEmpty()) {
            out = net.predict(p, categoricalChunk(sparse), ws);
          } else if (sparse) {
            // SparseVectors score through the CSR first layer: no dense row of the model's width is built.
            MiniBatch mb = sparseChunk();
            if (scaling != null) {
              scaling.applySparse(mb.cols(), mb.features(), mb.rowPtr()[n]);
            }
            out = net.predict(p, mb, ws);
          } else {
            if (x == null) {
              x = new float[CHUNK * inputs];
            }
            for (int r = 0; r < n; r++) {
              features(buf[r].get(featIdx), x, r * inputs, seen + r);
            }
            if (scaling != null) {
              scaling.applyDense(x, 0, n);
            }
            out = net.predict(p, x, n, ws);
          }
          logits = needsLogits() ? net.lastLogits(ws, n) : null;
          seen += n;
        }

        /**
         * The chunk as one mini-batch with its categorical ids: numeric features in CSR form
         * ({@code sparse}) or dense, scaled as the model was trained.
         */
        private MiniBatch categoricalChunk(boolean sparse) {
          MiniBatch mb;
          if (sparse) {
            mb = sparseChunk();
            if (scaling != null) {
              scaling.applySparse(mb.cols(), mb.features(), mb.rowPtr()[n]);
            }
          } else {
            if (csr == null) {
              csr = new MiniBatch(inputs, net.labelWidth(), categorical.size());
            }
            mb = csr;
            mb.resize(n, false);
            for (int r = 0; r < n && inputs > 0; r++) {
              features(buf[r].get(featIdx), mb.features(), r * inputs, seen + r);
            }
            if (scaling != null && inputs > 0) {
              scaling.applyDense(mb.features(), 0, n);
            }
          }
          if (ptr == null) {
            ptr = new IntList();
            ids = new IntList();
          }
          ptr.clear();
          ids.clear();
          ptr.add(0);
          for (int r = 0; r < n; r++) {
            CategoricalColumn.appendRow(buf[r], catIdx, categorical, ptr, ids, " in row " + (seen + r)
                + " of the partition");
          }
          mb.resizeCategorical(ids.size());
          System.arraycopy(ptr.array(), 0, mb.catPtr(), 0, ptr.size());
          System.arraycopy(ids.array(), 0, mb.catIds(), 0, ids.size());
          return mb;
        }

        /** The chunk's SparseVectors as one CSR mini-batch. */
        private MiniBatch sparseChunk() {
          int nnz = 0;
          for (int r = 0; r < n; r++) {
            SparseVector sv = (SparseVector) buf[r].get(featIdx);
            if (sv.size() != inputs) {
              throw new InvalidInputException("featuresCol '" + featCol + "': expected " + inputs + " values per"
                  + " row (the model's numFeatures), found " + sv.size() + " in row " + (seen + r)
                  + " of the partition");
            }
            nnz += sv.indices().length;
          }
          if (csr == null) {
            csr = new MiniBatch(inputs, net.labelWidth(), categorical.size());
          }
          csr.resizeSparse(n, nnz, false);
          int[] ptr = csr.rowPtr();
          int[] cols = csr.cols();
          float[] vals = csr.features();
          int at = 0;
          for (int r = 0; r < n; r++) {
            ptr[r] = at;
            SparseVector sv = (SparseVector) buf[r].get(featIdx);
            int[] idx = sv.indices();
            double[] v = sv.values();
            for (int k = 0; k < idx.length; k++) {
              cols[at] = idx[k];
              vals[at++] = (float) v[k];
            }
          }
          ptr[n] = at;
          return csr;
        }

        private void features(Object o, float[] dst, int off, long row) {
          int got;
          if (o instanceof DenseVector) {
            double[] v = ((DenseVector) o).values();
            got = v.length;
            if (got == inputs) {
              for (int j = 0; j < inputs; j++) dst[off + j] = (float) v[j];
            }
          } else if (o instanceof SparseVector) {
            SparseVector sv = (SparseVector) o;
            got = sv.size();
            if (got == inputs) {
              Arrays.fill(dst, off, off + inputs, 0f);
              int[] idx = sv.indices();
              double[] vals = sv.values();
              for (int i = 0; i < idx.length; i++) dst[off + idx[i]] = (float) vals[i];
            }
          } else if (o instanceof Vector) {
            double[] v = ((Vector) o).toArray();
            got = v.length;
            if (got == inputs) {
              for (int j = 0; j < inputs; j++) dst[off + j] = (float) v[j];
            }
          } else if (o instanceof Seq) {
            Seq<?> s = (Seq<?>) o;
            got = s.length();
            if (got == inputs) {
              var it = s.iterator();
              for (int j = 0; j < inputs; j++) {
                Object e = it.next();
                if (e == null) {
                  throw new InvalidInputException("featuresCol '" + featCol + "': expected numbers, found a null"
                      + " element at index " + j + " in row " + row + " of the partition");
                }
                dst[off + j] = ((Number) e).floatValue();
              }
            }
          } else if (o == null) {
            throw new InvalidInputException("featuresCol '" + featCol + "': expected a vector of " + inputs
                + " values, found null in row " + row + " of the partition");
          } else {
            throw new InvalidInputException("featuresCol '" + featCol + "': expected a Vector or array, found "
                + o.getClass().getName() + " in row " + row + " of the partition");
          }
          if (got != inputs) {
            throw new InvalidInputException("featuresCol '" + featCol + "': expected " + inputs + " values per row"
                + " (the model's numFeatures), found " + got + " in row " + row + " of the partition");
          }
        }
      };
    }
  }

  /** Saves metadata (DefaultParamsWriter) and the network data file. */
  static final class Writer extends MLWriter {
    private final NeuralNetModel<?> model;

    Writer(NeuralNetModel<?> model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sparkSession());
      try {
        ModelData.write(path, model.network, model.parameters, model.inputScaling, model.categorical,
            sparkSession().sparkContext().hadoopConfiguration());
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": cannot write the model data", e);
      }
    }
  }

  /** Loads a model of class {@code cls} saved by {@link Writer}. */
  static final class Reader<T extends NeuralNetModel<T>> extends MLReader<T> {
    private final Class<T> cls;

    Reader(Class<T> cls) {
      this.cls = cls;
    }

    @Override
    public T load(String path) {
      DefaultParamsReader.Metadata md = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(),
          cls.getName());
      ModelData data;
      try {
        data = ModelData.read(path, sparkSession().sparkContext().hadoopConfiguration());
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": cannot read the model data", e);
      }
      T model;
      try {
        model = cls.getDeclaredConstructor(String.class, Network.class, float[].class)
            .newInstance(md.uid(), data.network, data.params);
      } catch (NoSuchMethodException | InstantiationException | IllegalAccessException
          | InvocationTargetException e) {
        throw new IllegalStateException(cls.getName() + ": cannot instantiate with uid " + md.uid(), e);
      }
      model.withInputScaling(data.scaling);
      model.withCategoricalColumns(data.categorical);
      md.getAndSetParams(model, Option.empty());
      return model;
    }
  }
}
