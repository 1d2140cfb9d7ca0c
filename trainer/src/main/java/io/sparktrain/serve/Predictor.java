package io.sparktrain.serve;

import io.sparktrain.data.InputScaling;
import io.sparktrain.eval.Predictions;
import io.sparktrain.export.OnnxExport;
import io.sparktrain.model.NetworkFile;
import io.sparktrain.nn.Network;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Scores rows with a saved model outside Spark: no SparkContext, and no Spark, Scala or Hadoop class
 * on the classpath. It needs this library's classes, netlib's {@code blas} jar and {@code slf4j-api};
 * for ONNX files also {@code protobuf-java} and {@code tribuo-util-onnx} (the ONNX protobuf classes).
 *
 * <p><b>What it loads.</b> {@link #load(Path)} takes either of:
 * <ul>
 *   <li>a model directory as {@code NeuralNetClassificationModel.save} or
 *       {@code NeuralNetRegressionModel.save} (and {@code sparktrain train}, as {@code <output>/model})
 *       write it: {@code data/network.bin} ({@link NetworkFile}: the network, its parameters and the
 *       input scaling) and {@code metadata/part-*} (Spark ML's metadata, read for the model's class
 *       only; the column params play no part outside a DataFrame). It fails before any work when a
 *       file is missing, naming it, and refuses a model with categorical columns (embedding tables),
 *       naming them: those take column values, not a feature row, and are scored with
 *       {@code transform}.
 *   <li>an ONNX file written by sparktrain's export ({@link OnnxExport}: {@code exportOnnx},
 *       {@code sparktrain export}), float32 or int8. The network comes from the metadata's
 *       architecture and task, the parameters and the scaling from the graph's initializers by name
 *       (int8 kernels dequantized as ONNX Runtime's {@code DequantizeLinear} does: {@code q * scale}
 *       in float), and the graph must be the one the export writes for that network, node for node.
 *       A file that is not ONNX (or is truncated), an ONNX model another tool wrote, and a sparktrain
 *       file that lacks a part or whose graph was changed are refused, the error naming the file,
 *       what was expected and what was found. The Predictor then computes what ONNX Runtime computes
 *       on the file, to within float rounding.
 * </ul>
 *
 * <p><b>int8.</b> {@link #load(Path, OnnxExport.Weights)} with {@link OnnxExport.Weights#INT8} serves a
 * directory or a float32 ONNX file with the kernels {@code sparktrain export --quantize int8} would
 * write: each quantized to int8 per output channel and dequantized back to float
 * ({@link OnnxExport#int8Dequantized}), so it gives the same numbers as the int8 ONNX file (bit for
 * bit as the Predictor loaded from that file). This is for accuracy parity, to see what int8 costs
 * before shipping the int8 file: the compute stays float32 and the memory the same, so it is no
 * faster and no smaller than the float32 model.
 *
 * <p><b>What it computes</b> is what the model's {@code transform} computes for a dense features row:
 * the same input scaling {@code (x - shift) * scale} in float, the same forward pass through
 * {@link Network#predict} (GEMM through the same BLAS: native when {@code libblas.so.3} loads), the
 * same output. {@link #predict(float[])} returns the model's outputs:
 * <ul>
 *   <li>a classifier: its {@code probability} column, K class probabilities; for a binary model of
 *       one output unit (a sigmoid, or a logit trained with binary cross-entropy) one value,
 *       p = P(class 1), and {@link #predictClass} is 1 when p > 0.5;
 *   <li>a regressor: its {@code prediction}, the T targets.
 * </ul>
 * Outputs agree with {@code transform} to within float rounding (a GEMM over one row and over a
 * chunk of rows may sum in different orders), not bit for bit. Rows are dense (a model trained on
 * sparse vectors takes them expanded); like {@code transform}, values are not checked for NaN.
 *
 * <p><b>Threads.</b> A Predictor is immutable and may be shared by any number of threads. Each
 * calling thread gets its own buffers (activations for up to {@value #BATCH} rows, in a ThreadLocal
 * that lets them go with the predictor). {@link #predict(float[], float[])} and
 * {@link #predictClass} allocate nothing once a thread has made its first call;
 * {@link #predict(float[])} allocates only the array it returns.
 *
 * <p><b>Batches.</b> {@link #predict(float[], int)} takes {@code n} rows packed row-major in one
 * array ({@code n * numFeatures()} values) and returns {@code n * numOutputs()} values, row-major, in
 * forward passes of at most {@value #BATCH} rows: one GEMM per layer and pass instead of one per row.
 */
public final class Predictor {
  /** What a saved model predicts. */
  public enum Task { CLASSIFICATION, REGRESSION }

  /** Rows per forward pass of the batch call. */
  public static final int BATCH = 256;

  /** The Spark model classes, by name: loading them would load Spark. */
  private static final String CLASSIFIER = "io.sparktrain.ml.NeuralNetClassificationModel";
  private static final String REGRESSOR = "io.sparktrain.ml.NeuralNetRegressionModel";

  private final Task task;
  private final Network network;
  private final float[] params;
  /** The input scaling, or null. */
  private final InputScaling scaling;
  /** How the kernels are stored (int8: {@link #params} holds them dequantized). */
  private final OnnxExport.Weights weights;
  private final int numFeatures;
  private final int numOutputs;
  /** Per-thread buffers; they hold the network, not this, so a dropped predictor's buffers can go. */
  private final ThreadLocal<Buffers> buffers;

  private Predictor(Task task, Network network, float[] params, InputScaling scaling, OnnxExport.Weights weights) {
    this.task = task;
    this.network = network;
    this.params = params;
    this.scaling = scaling;
    this.weights = weights;
    this.numFeatures = network.inputs();
    this.numOutputs = network.outputs();
    int d = numFeatures;
    int k = numOutputs;
    this.buffers = ThreadLocal.withInitial(() -> new Buffers(network, d, k));
  }

  /**
   * Loads the model saved in {@code model}: a saved model directory, or an ONNX file that sparktrain's
   * export wrote (float32 or int8 kernels, served as stored); see the class comment.
   *
   * @throws IOException when {@code model} does not exist, is a directory that is not a saved model
   *     (the error names the missing file), is a file that is not an ONNX model (truncated, say) or a
   *     sparktrain ONNX file that lacks something or was changed (the error names what), or cannot be
   *     read or parsed
   * @throws IllegalArgumentException for a model the Predictor does not serve: one with categorical
   *     columns (named), a directory whose class is not a sparktrain model, an ONNX model that
   *     sparktrain did not write
   * @throws IllegalStateException for an ONNX file when protobuf-java or tribuo-util-onnx is not on
   *     the classpath
   */
  public static Predictor load(Path model) throws IOException {
    if (Files.isDirectory(model)) {
      return loadDir(model);
    }
    if (!Files.exists(model)) {
      throw new IOException(model + ": no such file or directory (expected a saved model directory or an ONNX"
          + " file)");
    }
    OnnxFile.Contents c;
    try {
      c = OnnxFile.read(model);
    } catch (NoClassDefFoundError e) {
      throw new IllegalStateException(model + ": reading an ONNX file needs protobuf-java and tribuo-util-onnx on"
          + " the classpath; found no " + e.getMessage(), e);
    }
    return new Predictor(c.task(), c.network(), c.params(), c.scaling(), c.weights());
  }

  /**
   * Loads {@code model} as {@link #load(Path)} does, to compute with its kernels stored as
   * {@code weights}: {@link OnnxExport.Weights#INT8} quantizes a float32 model's kernels as the int8
   * export does and serves them dequantized (the outputs of the int8 ONNX file; for accuracy parity,
   * not speed: the compute stays float32), and takes an int8 ONNX file as it is;
   * {@link OnnxExport.Weights#FLOAT32} serves a float32 model as it is.
   *
   * @throws IllegalArgumentException for {@code FLOAT32} and an int8 ONNX file, which holds no float32
   *     kernels; and as {@link #load(Path)}
   * @throws IOException as {@link #load(Path)}
   */
  public static Predictor load(Path model, OnnxExport.Weights weights) throws IOException {
    Objects.requireNonNull(weights, "weights");
    Predictor p = load(model);
    if (p.weights == weights) {
      return p;
    }
    if (weights == OnnxExport.Weights.INT8) {
      return new Predictor(p.task, p.network, OnnxExport.int8Dequantized(p.network, p.params), p.scaling, weights);
    }
    throw new IllegalArgumentException(model + ": expected float32 kernels, found int8 ones (an int8 ONNX file"
        + " holds no float32 kernels): serve it as stored, with load(Path) or Weights.INT8");
  }

  private static Predictor loadDir(Path modelDir) throws IOException {
    String cls = ModelDir.modelClass(modelDir);
    Task task;
    if (cls.equals(CLASSIFIER)) {
      task = Task.CLASSIFICATION;
    } else if (cls.equals(REGRESSOR)) {
      task = Task.REGRESSION;
    } else {
      throw new IllegalArgumentException(modelDir + ": expected a " + CLASSIFIER + " or a " + REGRESSOR
          + ", found a " + cls);
    }
    NetworkFile file = NetworkFile.parse(ModelDir.networkBytes(modelDir), modelDir.resolve(NetworkFile.PATH)
        .toString());
    if (!file.tables().isEmpty()) {
      List<String> cols = new ArrayList<>();
      for (NetworkFile.Table t : file.tables()) cols.add(t.column());
      throw new IllegalArgumentException(modelDir + ": the model has categorical columns " + cols + " (embedding"
          + " tables); the Predictor takes numeric feature rows only: score this model with its transform");
    }
    Network net = file.network();
    if (task == Task.CLASSIFICATION && !Predictions.isClassifier(net)) {
      throw new IOException(modelDir + ": a classification model whose network is not a classifier: " + net);
    }
    return new Predictor(task, net, file.params(), file.scaling(), OnnxExport.Weights.FLOAT32);
  }

  /** Whether the model classifies or regresses. */
  public Task task() {
    return task;
  }

  /** Values per input row: the features the model was trained on. */
  public int numFeatures() {
    return numFeatures;
  }

  /** Values per output row: K class probabilities (1, P(class 1), for a binary model), or T targets. */
  public int numOutputs() {
    return numOutputs;
  }

  /** The number of classes of a classifier (2 for a binary model of one output). */
  public int numClasses() {
    requireClassifier("numClasses");
    return Predictions.numClasses(network);
  }

  /** How the kernels are stored: float32, or int8 (computed with dequantized, in float32). */
  public OnnxExport.Weights weights() {
    return weights;
  }

  /** The architecture (for information; the parameters stay inside). */
  public Network network() {
    return network;
  }

  /** The model's outputs for one row of {@link #numFeatures()} values: a new array of {@link #numOutputs()}. */
  public float[] predict(float[] row) {
    float[] out = new float[numOutputs];
    predict(row, out);
    return out;
  }

  /** As {@link #predict(float[])}, into {@code out} ({@link #numOutputs()} values): allocates nothing. */
  public void predict(float[] row, float[] out) {
    checkLength("row", row, numFeatures, "numFeatures()");
    checkLength("out", out, numOutputs, "numOutputs()");
    forward(row, 0, 1, buffers.get(), out, 0);
  }

  /**
   * The predicted class of one row, as the classifier's {@code prediction} column: the most probable
   * class (lowest index on ties); for a binary model, 1 when P(class 1) > 0.5. Allocates nothing.
   */
  public int predictClass(float[] row) {
    requireClassifier("predictClass");
    checkLength("row", row, numFeatures, "numFeatures()");
    Buffers b = buffers.get();
    forward(row, 0, 1, b, b.out, 0);
    return Predictions.predictedClass(b.out, 0, numOutputs);
  }

  /**
   * The outputs of {@code n} rows packed row-major in {@code rows} ({@code n * numFeatures()} values):
   * a new array of {@code n * numOutputs()} values, row-major.
   */
  public float[] predict(float[] rows, int n) {
    if (n < 0) {
      throw new IllegalArgumentException("n: expected a row count >= 0, found " + n);
    }
    checkLength("rows", rows, (long) n * numFeatures, n + " x numFeatures() = " + n + " x " + numFeatures);
    float[] out = new float[Math.multiplyExact(n, numOutputs)];
    Buffers b = buffers.get();
    for (int from = 0; from < n; from += BATCH) {
      int m = Math.min(BATCH, n - from);
      forward(rows, from, m, b, out, from * numOutputs);
    }
    return out;
  }

  /** Rows {@code [from, from + m)} of {@code rows}: scaled into the buffers, then forward into {@code out}. */
  private void forward(float[] rows, int from, int m, Buffers b, float[] out, int outOff) {
    float[] x = b.input(m);
    System.arraycopy(rows, from * numFeatures, x, 0, m * numFeatures);
    if (scaling != null) {
      scaling.applyDense(x, 0, m);
    }
    network.predict(params, x, m, b.ws, out, outOff);
    if (task == Task.CLASSIFICATION) {
      Predictions.toProbabilities(network, out, outOff, m);
    }
  }

  private void requireClassifier(String what) {
    if (task != Task.CLASSIFICATION) {
      throw new UnsupportedOperationException(what + ": expected a classification model, found a regression"
          + " model (" + network + ")");
    }
  }

  private static void checkLength(String what, float[] a, long expected, String meaning) {
    if (a == null) {
      throw new IllegalArgumentException(what + ": expected " + expected + " values (" + meaning + "), found null");
    }
    if (a.length != expected) {
      throw new IllegalArgumentException(what + ": expected " + expected + " values (" + meaning + "), found "
          + a.length);
    }
  }

  @Override
  public String toString() {
    return "Predictor(" + task.name().toLowerCase(Locale.ROOT) + ", " + network + (scaling != null
        ? ", scaled inputs" : "") + (weights == OnnxExport.Weights.INT8 ? ", int8 kernels" : "") + ")";
  }

  /** One thread's buffers: the scaled input rows, the network's activations, one output row. */
  private static final class Buffers {
    private final Network.Workspace ws;
    private final float[] out;
    private final int numFeatures;
    private float[] x;

    Buffers(Network network, int numFeatures, int numOutputs) {
      this.ws = network.newWorkspace();
      this.out = new float[numOutputs];
      this.numFeatures = numFeatures;
      this.x = new float[numFeatures];
    }

    /** Room for {@code m} input rows (grown once to {@link #BATCH} rows by the batch call). */
    float[] input(int m) {
      if (x.length < m * numFeatures) {
        x = new float[BATCH * numFeatures];
      }
      return x;
    }
  }
}
