package io.sparktrain.nn;

import io.sparktrain.linalg.Blas;
import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSpace;
import io.sparktrain.util.Seeds;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A feed-forward network of dense layers: its architecture, and the stateless forward and backward
 * passes over a row-major mini-batch.
 *
 * <p><b>What it is.</b> An immutable spec: the input width, a list of {@link LayerSpec}s (units,
 * activation, dropout after the layer) and a {@link Loss}. Layer l computes
 * {@code a_l = f_l(a_{l-1} W_l + b_l)} with {@code W_l} of shape (in, out). A network holds no
 * parameters: they live in one flat {@code float[]} whose slices are named by {@link #layout()}
 * (kernel then bias, layer by layer). The same layout describes gradients, optimizer moments and
 * the updates that cross the network in Spark, which is what lets a round ship one array.
 *
 * <p><b>Life cycle.</b> Build once with {@link #builder(int)}; create initial parameters with
 * {@link #initParameters(long)}; give each thread its own {@link Workspace} (activation buffers,
 * reused across mini-batches); then call {@link #lossAndGradient} per mini-batch and hand the
 * gradient to an optimizer from {@code io.sparktrain.optim}. {@link #predict} runs inference.
 * A {@code Network} is serializable and safe to share between threads; a workspace is not.
 *
 * <p><b>Math.</b> Forward and backward are GEMM calls through {@link Blas} plus element-wise
 * loops: {@code Z = A W} (then + b), {@code dW += A^T dZ}, {@code dA = dZ W^T}. The input layer's
 * dA is never computed. Cross-entropy losses take the logits, so the output delta is {@code p - y}.
 * Dropout is inverted (kept units scaled by 1/keep) with a mask drawn from a seed, so a mini-batch
 * replayed with the same seed computes the identical gradient.
 *
 * <p><b>Embeddings.</b> A network may have embedding tables ({@link Embedding}), one per categorical
 * column. A mini-batch then carries a bag of bucket ids per row and table; each table's combined
 * rows are concatenated after the numeric features, so layer 0 sees {@code inputs + sum of dims}
 * values per row (wide and deep). Backward, the input gradient of those columns is scattered into
 * the rows of the tables the batch used. {@link #inputs()} counts the numeric features only (it may
 * be 0 when every input is categorical); {@link #sizes()}[0] is layer 0's full input width.
 *
 * <p><b>Rows.</b> Sparse features touch some rows of the first kernel, and categorical ids some rows
 * of the tables. The first kernel and the tables are laid out as one region ({@link #rowSpace()});
 * {@link #trackRows} lists the rows of it a mini-batch touches, so gradients, updates and lazy
 * optimizer steps can stay row-sparse.
 *
 * <p>Where to go next: {@code io.sparktrain.train.LocalWork} runs mini-batches over a partition's
 * rows; {@code io.sparktrain.optim.Optimizer} turns gradients into steps.
 */
public final class Network implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int inputs;
  private final Embedding[] embeddings;
  /** Where each table's output starts in the embedding part of a row (embeddings + 1 entries). */
  private final int[] embOffset;
  private final LayerSpec[] layers;
  private final Loss loss;
  private final int[] sizes;
  private final ParameterLayout layout;

  private Network(int inputs, List<Embedding> embeddings, List<LayerSpec> layers, Loss loss) {
    if (inputs < 0 || (inputs == 0 && embeddings.isEmpty())) {
      throw new IllegalArgumentException("network inputs: expected > 0 (or >= 0 with embeddings), found " + inputs);
    }
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("network: expected at least one layer, found none");
    }
    this.inputs = inputs;
    this.embeddings = embeddings.toArray(new Embedding[0]);
    this.embOffset = new int[this.embeddings.length + 1];
    for (int c = 0; c < this.embeddings.length; c++) {
      embOffset[c + 1] = Math.addExact(embOffset[c], this.embeddings[c].dim());
    }
    this.layers = layers.toArray(new LayerSpec[0]);
    this.loss = Objects.requireNonNull(loss, "loss");
    this.sizes = new int[this.layers.length + 1];
    sizes[0] = Math.addExact(inputs, embOffset[this.embeddings.length]);
    for (int l = 0; l < this.layers.length; l++) {
      LayerSpec s = this.layers[l];
      sizes[l + 1] = s.units();
      boolean last = l == this.layers.length - 1;
      if (!last && s.activation().kind() == Activation.Kind.SOFTMAX) {
        throw new IllegalArgumentException("layer " + l + " (" + s + "): softmax is allowed on the"
            + " output layer only (layer " + (this.layers.length - 1) + ")");
      }
      if (last && s.dropout() > 0f) {
        throw new IllegalArgumentException("layer " + l + " (" + s + "): dropout after the output"
            + " layer is not allowed");
      }
    }
    try {
      loss.checkOutput(outputLayer().activation(), outputs());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("output layer " + (this.layers.length - 1) + " ("
          + outputLayer() + "): " + e.getMessage(), e);
    }
    int[][] tables = new int[this.embeddings.length][];
    for (int c = 0; c < tables.length; c++) {
      tables[c] = new int[] {this.embeddings[c].buckets(), this.embeddings[c].dim()};
    }
    this.layout = ParameterLayout.of(sizes, tables);
    int[] rows = new int[tables.length + 1];
    int[] widths = new int[tables.length + 1];
    rows[0] = sizes[0];
    widths[0] = sizes[1];
    for (int c = 0; c < tables.length; c++) {
      rows[c + 1] = tables[c][0];
      widths[c + 1] = tables[c][1];
    }
    this.rowSpace = RowSpace.of(layout.kernel(0).offset(), rows, widths);
  }

  private final RowSpace rowSpace;

  /** Starts a network with {@code inputs} numeric features per row (0 when all inputs are categorical). */
  public static Builder builder(int inputs) {
    return new Builder(inputs);
  }

  /** Builds a network layer by layer. */
  public static final class Builder {
    private final int inputs;
    private final List<Embedding> embeddings = new ArrayList<>();
    private final List<LayerSpec> layers = new ArrayList<>();
    private Loss loss;

    private Builder(int inputs) {
      this.inputs = inputs;
    }

    /** Adds an embedding table for the next categorical column (in column order). */
    public Builder embedding(Embedding e) {
      embeddings.add(Objects.requireNonNull(e, "embedding"));
      return this;
    }

    /** Adds an embedding table of {@code buckets} x {@code dim}, bags averaged. */
    public Builder embedding(int buckets, int dim) {
      return embedding(new Embedding(buckets, dim, Embedding.Combiner.MEAN));
    }

    public Builder dense(int units, Activation activation) {
      return layer(new LayerSpec(units, activation, 0f));
    }

    /** A dense layer followed, in training, by dropout at {@code rate}. */
    public Builder dense(int units, Activation activation, float dropoutRate) {
      return layer(new LayerSpec(units, activation, dropoutRate));
    }

    public Builder layer(LayerSpec spec) {
      layers.add(spec);
      return this;
    }

    public Builder loss(Loss l) {
      this.loss = l;
      return this;
    }

    public Network build() {
      if (loss == null) {
        throw new IllegalArgumentException("network: no loss given");
      }
      return new Network(inputs, embeddings, layers, loss);
    }
  }

  /** Numeric features per row (the embedding outputs come on top: {@link #sizes()}[0] is layer 0's width). */
  public int inputs() { return inputs; }
  /** Categorical columns per row: one embedding table each. */
  public int categorical() { return embeddings.length; }
  public Embedding embedding(int c) { return embeddings[c]; }
  /**
   * The rows of the first kernel (segment 0: one per input of layer 0) and of each embedding table
   * (segment c + 1), numbered across them: the region sparse and categorical inputs touch row by row.
   */
  public RowSpace rowSpace() { return rowSpace; }
  public int outputs() { return sizes[sizes.length - 1]; }
  public int depth() { return layers.length; }
  public LayerSpec layer(int l) { return layers[l]; }
  public LayerSpec outputLayer() { return layers[layers.length - 1]; }
  public Loss loss() { return loss; }
  public ParameterLayout layout() { return layout; }
  /** Layer widths [inputs, units_0, ..., units_{L-1}]. */
  public int[] sizes() { return sizes.clone(); }
  /** Label floats per row expected by the loss. */
  public int labelWidth() { return loss.labelWidth(outputs()); }

  /** Fresh parameters from {@code seed} (He or Glorot; zero biases). */
  public float[] initParameters(long seed) {
    return Initializer.init(this, seed);
  }

  /** A workspace on this JVM's BLAS. */
  public Workspace newWorkspace() {
    return new Workspace(Blas.get());
  }

  /** A workspace on a given BLAS implementation (tests compare implementations). */
  public Workspace newWorkspace(Blas blas) {
    return new Workspace(blas);
  }

  /** Per-thread buffers for the activations and deltas of each layer. Not thread-safe. */
  public final class Workspace {
    private final Blas blas;
    private final float[][] z = new float[layers.length][];
    private final float[][] h = new float[layers.length][];
    private final float[][] a = new float[layers.length][];
    private final float[][] mask = new float[layers.length][];
    private final float[][] delta = new float[layers.length][];
    /** The embedding outputs (rows x sum of dims) and their gradient. */
    private float[] emb = new float[0];
    private float[] dEmb = new float[0];
    private int capacity = -1;

    private Workspace(Blas blas) {
      this.blas = blas;
    }

    public Blas blas() {
      return blas;
    }

    private void ensure(int rows) {
      if (rows <= capacity) {
        return;
      }
      int e = embOffset[embeddings.length];
      if (e > 0) {
        emb = new float[rows * e];
        dEmb = new float[rows * e];
      }
      for (int l = 0; l < layers.length; l++) {
        int n = rows * sizes[l + 1];
        z[l] = new float[n];
        h[l] = layers[l].activation().kind() == Activation.Kind.IDENTITY ? z[l] : new float[n];
        delta[l] = new float[n];
        if (layers[l].dropout() > 0f) {
          a[l] = new float[n];
          mask[l] = new float[n];
        } else {
          a[l] = h[l];
        }
      }
      capacity = rows;
    }
  }

  /** The output layer's activations for {@code rows} rows of {@code x}: a new rows x outputs array. */
  public float[] predict(float[] params, float[] x, int rows, Workspace ws) {
    float[] out = new float[rows * outputs()];
    predict(params, x, rows, ws, out, 0);
    return out;
  }

  /**
   * As {@link #predict(float[], float[], int, Workspace)}, into {@code out} from {@code outOff}: nothing
   * is allocated once {@code ws} has held {@code rows} rows.
   */
  public void predict(float[] params, float[] x, int rows, Workspace ws, float[] out, int outOff) {
    if (embeddings.length > 0) {
      throw new IllegalArgumentException("network with " + embeddings.length + " embedding tables: expected a"
          + " mini-batch with categorical ids (predict(params, MiniBatch, ws)), found dense rows only");
    }
    forward(params, x, null, rows, ws, false, 0L);
    System.arraycopy(ws.h[layers.length - 1], 0, out, outOff, rows * outputs());
  }

  /** The output layer's activations for the rows of {@code batch}, dense or sparse (CSR) features. */
  public float[] predict(float[] params, MiniBatch batch, Workspace ws) {
    checkBatch(params, batch);
    int rows = batch.rows();
    forward(params, batch.features(), batch, rows, ws, false, 0L);
    return lastOutputs(ws, rows);
  }

  /**
   * The output layer's pre-activations (logits) for the rows of {@code batch}, inference mode: {@code ws}'s
   * own buffer (at least rows x outputs values), valid until {@code ws} is used again. Allocates
   * nothing once {@code ws} has held the batch's rows.
   */
  public float[] logits(float[] params, MiniBatch batch, Workspace ws) {
    checkBatch(params, batch);
    forward(params, batch.features(), batch, batch.rows(), ws, false, 0L);
    return ws.z[layers.length - 1];
  }

  /**
   * The output layer's activations of the last forward pass in {@code ws} ({@link #predict} or
   * {@link #loss}): a new rows x outputs array. Lets a caller take the loss and the predictions
   * from one pass.
   */
  public float[] lastOutputs(Workspace ws, int rows) {
    return Arrays.copyOf(ws.h[layers.length - 1], rows * outputs());
  }

  /** The output layer's pre-activations (logits) of the last {@link #predict} call. */
  public float[] lastLogits(Workspace ws, int rows) {
    return Arrays.copyOf(ws.z[layers.length - 1], rows * outputs());
  }

  /**
   * The gradient with respect to the numeric inputs of the last dense forward pass in {@code ws}
   * ({@link #predict(float[], float[], int, Workspace, float[], int)} on {@code rows} rows, inference
   * mode): given {@code dz}, rows x outputs values of dF/dz for the output layer's pre-activations
   * z (the logits) of some scalar F of the outputs, writes dF/dx (rows x {@link #inputs()}) into
   * {@code dx} from {@code dxOff}. This is the backward pass of {@link #lossAndGradient} without the
   * parameter gradients, carried one layer further: the first layer's delta times W_0^T.
   *
   * <p>The inputs are the values layer 0 saw, so a model that standardizes in front of the network
   * gets the gradient for its scaled features; multiply by the scale for the raw ones. {@code dz} is
   * read only. Networks with embedding tables are refused (their inputs are not only these rows).
   */
  public void inputGradient(float[] params, float[] dz, int rows, Workspace ws, float[] dx, int dxOff) {
    if (embeddings.length > 0) {
      throw new IllegalArgumentException("input gradient: expected a network without embedding tables, found "
          + embeddings.length);
    }
    layout.check(params, "parameters");
    if (rows > ws.capacity || dz.length < rows * outputs() || dx.length - dxOff < rows * inputs) {
      throw new IllegalArgumentException("input gradient of " + rows + " rows: expected a workspace that has just"
          + " run them forward, " + rows * outputs() + " values of dz and room for " + rows * inputs + " in dx;"
          + " found a workspace of " + Math.max(ws.capacity, 0) + " rows, " + dz.length + " and "
          + (dx.length - dxOff));
    }
    int last = layers.length - 1;
    System.arraycopy(dz, 0, ws.delta[last], 0, rows * outputs());
    Blas blas = ws.blas;
    for (int l = last; l >= 0; l--) {
      int in = sizes[l];
      int out = sizes[l + 1];
      float[] d = ws.delta[l];
      int kOff = layout.kernel(l).offset();
      if (l == 0) {
        blas.gemm(false, true, rows, in, out, 1f, d, 0, params, kOff, 0f, dx, dxOff);
      } else {
        float[] dPrev = ws.delta[l - 1];
        blas.gemm(false, true, rows, in, out, 1f, d, 0, params, kOff, 0f, dPrev, 0);
        layers[l - 1].activation().backward(ws.z[l - 1], ws.h[l - 1], dPrev, dPrev, 0, rows, in);
      }
    }
  }

  /**
   * Layer 0's pre-activations {@code x W_0 + b_0} for {@code rows} dense rows of {@code x} (rows x
   * inputs) into {@code z0} (rows x {@code sizes()[1]}). With {@link #predictFromFirstLayer}, the
   * forward pass in two halves: a caller that changes one input column of many rows can update z0
   * by a rank-one term instead of running the first GEMM again (permutation importance does this).
   */
  public void firstLayerPreActivations(float[] params, float[] x, int rows, Workspace ws, float[] z0) {
    if (embeddings.length > 0) {
      throw new IllegalArgumentException("network with " + embeddings.length + " embedding tables: expected dense"
          + " rows only, found categorical inputs");
    }
    layout.check(params, "parameters");
    int out = sizes[1];
    ws.blas.gemm(false, false, rows, out, inputs, 1f, x, 0, params, layout.kernel(0).offset(), 0f, z0, 0);
    int bOff = layout.bias(0).offset();
    for (int r = 0; r < rows; r++) {
      int base = r * out;
      for (int j = 0; j < out; j++) z0[base + j] += params[bOff + j];
    }
  }

  /**
   * The output layer's activations (inference mode) for {@code rows} rows whose layer-0
   * pre-activations are {@code z0} ({@link #firstLayerPreActivations}), into {@code out} from
   * {@code outOff}; {@code z0} is not modified.
   */
  public void predictFromFirstLayer(float[] params, float[] z0, int rows, Workspace ws, float[] out, int outOff) {
    layout.check(params, "parameters");
    ws.ensure(rows);
    Blas blas = ws.blas;
    System.arraycopy(z0, 0, ws.z[0], 0, rows * sizes[1]);
    for (int l = 0; l < layers.length; l++) {
      int o = sizes[l + 1];
      float[] z = ws.z[l];
      if (l > 0) {
        blas.gemm(false, false, rows, o, sizes[l], 1f, ws.a[l - 1], 0, params, layout.kernel(l).offset(), 0f, z, 0);
        int bOff = layout.bias(l).offset();
        for (int r = 0; r < rows; r++) {
          int base = r * o;
          for (int j = 0; j < o; j++) z[base + j] += params[bOff + j];
        }
      }
      layers[l].activation().forward(z, ws.h[l], 0, rows, o);
      if (layers[l].dropout() > 0f) {
        System.arraycopy(ws.h[l], 0, ws.a[l], 0, rows * o);
      }
    }
    System.arraycopy(ws.h[layers.length - 1], 0, out, outOff, rows * outputs());
  }

  /** Weighted loss sum of a mini-batch, inference mode (no dropout). */
  public double loss(float[] params, MiniBatch batch, Workspace ws) {
    checkBatch(params, batch);
    int rows = batch.rows();
    forward(params, batch.features(), batch, rows, ws, false, 0L);
    int last = layers.length - 1;
    return loss.lossAndGradient(ws.z[last], ws.h[last], batch.labels(), batch.weights(), rows,
        outputs(), ws.delta[last]);
  }

  /**
   * Adds the gradient of the weighted loss sum of {@code batch} to {@code grad} (same layout as
   * {@code params}) and returns that loss sum. Training mode: dropout masks come from
   * {@code dropoutSeed}. Divide by {@link MiniBatch#weightSum()} for the mean.
   */
  public double lossAndGradient(float[] params, MiniBatch batch, float[] grad, Workspace ws, long dropoutSeed) {
    return lossAndGradient(params, batch, grad, ws, dropoutSeed, true);
  }

  /**
   * As {@link #lossAndGradient(float[], MiniBatch, float[], Workspace, long)}, but with
   * {@code accumulate == false} the gradient overwrites {@code grad} instead of adding to it,
   * which saves the caller a pass to zero it (local steps do this once per step).
   */
  public double lossAndGradient(float[] params, MiniBatch batch, float[] grad, Workspace ws, long dropoutSeed,
      boolean accumulate) {
    return lossAndGradient(params, batch, grad, ws, dropoutSeed, accumulate, null, null);
  }

  /**
   * As {@link #lossAndGradient(float[], MiniBatch, float[], Workspace, long, boolean)}, with the loss
   * {@code distillation} makes of this network's loss and {@code teacherLogits} (rows x outputs, a
   * teacher's logits of the batch's rows) when both are given ({@link DistillationLoss}).
   */
  public double lossAndGradient(float[] params, MiniBatch batch, float[] grad, Workspace ws, long dropoutSeed,
      boolean accumulate, float[] teacherLogits, DistillationLoss distillation) {
    checkBatch(params, batch);
    if (distillation != null && teacherLogits.length < batch.rows() * outputs()) {
      throw new IllegalArgumentException("teacher logits: expected " + batch.rows() * outputs() + " values ("
          + batch.rows() + " rows x " + outputs() + " outputs), found " + teacherLogits.length);
    }
    layout.check(grad, "gradient");
    int rows = batch.rows();
    if (rows == 0) {
      if (!accumulate) {
        Arrays.fill(grad, 0f);
      }
      return 0;
    }
    float[] x = batch.features();
    MiniBatch csr = batch.isSparse() ? batch : null;
    forward(params, x, batch, rows, ws, true, dropoutSeed);
    int last = layers.length - 1;
    double lossSum = distillation != null
        ? distillation.lossAndGradient(loss, ws.z[last], ws.h[last], teacherLogits, batch.labels(), batch.weights(),
            rows, outputs(), ws.delta[last])
        : loss.lossAndGradient(ws.z[last], ws.h[last], batch.labels(), batch.weights(), rows, outputs(),
            ws.delta[last]);
    if (!loss.fromLogits()) {
      layers[last].activation().backward(ws.z[last], ws.h[last], ws.delta[last], ws.delta[last], 0, rows, outputs());
    }
    Blas blas = ws.blas;
    for (int l = last; l >= 0; l--) {
      int in = sizes[l];
      int out = sizes[l + 1];
      float[] input = l == 0 ? x : ws.a[l - 1];
      float[] d = ws.delta[l];
      ParameterLayout.Entry k = layout.kernel(l);
      int bOff = layout.bias(l).offset();
      if (l == 0) {
        firstKernelGradient(params, batch, x, csr, rows, out, d, accumulate, grad, ws);
      } else {
        blas.gemm(true, false, in, out, rows, 1f, input, 0, d, 0, accumulate ? 1f : 0f, grad, k.offset());
      }
      if (!accumulate) {
        Arrays.fill(grad, bOff, bOff + out, 0f);
      }
      for (int r = 0; r < rows; r++) {
        int base = r * out;
        for (int j = 0; j < out; j++) grad[bOff + j] += d[base + j];
      }
      if (l > 0) {
        float[] dPrev = ws.delta[l - 1];
        blas.gemm(false, true, rows, in, out, 1f, d, 0, params, k.offset(), 0f, dPrev, 0);
        if (layers[l - 1].dropout() > 0f) {
          float[] m = ws.mask[l - 1];
          for (int i = 0; i < rows * in; i++) dPrev[i] *= m[i];
        }
        layers[l - 1].activation().backward(ws.z[l - 1], ws.h[l - 1], dPrev, dPrev, 0, rows, in);
      }
    }
    return lossSum;
  }

  /**
   * The first kernel's gradient, and the embedding tables' when there are any: the numeric rows of
   * dW from the dense or CSR features, the embedding rows of dW from the embedding outputs, then the
   * gradient of those outputs ({@code dZ W_e^T}) scattered into the tables' rows the batch used.
   */
  private void firstKernelGradient(float[] params, MiniBatch batch, float[] x, MiniBatch csr, int rows, int out,
      float[] d, boolean accumulate, float[] grad, Workspace ws) {
    int kOff = layout.kernel(0).offset();
    float beta = accumulate ? 1f : 0f;
    if (csr != null) {
      sparseKernelGradient(csr, rows, out, d, accumulate, grad, kOff, inputs);
    } else if (inputs > 0) {
      ws.blas.gemm(true, false, inputs, out, rows, 1f, x, 0, d, 0, beta, grad, kOff);
    }
    int e = embOffset[embeddings.length];
    if (e == 0) {
      return;
    }
    int eOff = kOff + inputs * out;
    ws.blas.gemm(true, false, e, out, rows, 1f, ws.emb, 0, d, 0, beta, grad, eOff);
    ws.blas.gemm(false, true, rows, e, out, 1f, d, 0, params, eOff, 0f, ws.dEmb, 0);
    if (!accumulate) {
      for (int c = 0; c < embeddings.length; c++) {
        ParameterLayout.Entry t = layout.table(c);
        Arrays.fill(grad, t.offset(), t.end(), 0f);
      }
    }
    int k = embeddings.length;
    int[] ptr = batch.catPtr();
    int[] ids = batch.catIds();
    float[] g = ws.dEmb;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < k; c++) {
        int from = ptr[r * k + c];
        int to = ptr[r * k + c + 1];
        if (from == to) {
          continue;
        }
        int dim = embeddings[c].dim();
        float f = embeddings[c].combiner() == Embedding.Combiner.MEAN ? 1f / (to - from) : 1f;
        int src = r * e + embOffset[c];
        int tOff = layout.table(c).offset();
        for (int i = from; i < to; i++) {
          int at = tOff + ids[i] * dim;
          for (int j = 0; j < dim; j++) grad[at + j] += f * g[src + j];
        }
      }
    }
  }

  /**
   * The embedding outputs of the batch's rows into {@code emb} (rows x sum of dims): per row and
   * table, the mean (or sum) of the rows of the bag's ids; zeros for an empty bag.
   */
  private void embed(float[] params, MiniBatch batch, int rows, float[] emb) {
    int k = embeddings.length;
    int e = embOffset[k];
    if (batch == null || batch.categorical() != k) {
      throw new IllegalArgumentException("mini-batch: expected " + k + " categorical columns (one per embedding"
          + " table), found " + (batch == null ? 0 : batch.categorical()));
    }
    int[] ptr = batch.catPtr();
    int[] ids = batch.catIds();
    Arrays.fill(emb, 0, rows * e, 0f);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < k; c++) {
        int from = ptr[r * k + c];
        int to = ptr[r * k + c + 1];
        int dim = embeddings[c].dim();
        int buckets = embeddings[c].buckets();
        int dst = r * e + embOffset[c];
        int tOff = layout.table(c).offset();
        for (int i = from; i < to; i++) {
          int id = ids[i];
          if (id < 0 || id >= buckets) {
            throw new IllegalArgumentException("mini-batch row " + r + ", categorical column " + c + ": expected a"
                + " bucket id in 0.." + (buckets - 1) + ", found " + id);
          }
          int at = tOff + id * dim;
          for (int j = 0; j < dim; j++) emb[dst + j] += params[at + j];
        }
        if (to - from > 1 && embeddings[c].combiner() == Embedding.Combiner.MEAN) {
          float f = 1f / (to - from);
          for (int j = 0; j < dim; j++) emb[dst + j] *= f;
        }
      }
    }
  }

  /**
   * Adds to {@code set} (over {@link #rowSpace()}) the rows {@code batch} touches: the first kernel's
   * rows of its CSR columns (all numeric rows when its features are dense), the kernel's rows of the
   * embedding outputs, and the table rows of its categorical ids.
   */
  public void trackRows(MiniBatch batch, RowSet set) {
    if (batch.isSparse()) {
      set.addAll(batch.cols(), 0, batch.rowPtr()[batch.rows()]);
    } else {
      for (int j = 0; j < inputs; j++) set.add(j);
    }
    for (int j = inputs; j < sizes[0]; j++) set.add(j);
    int k = embeddings.length;
    if (k == 0) {
      return;
    }
    int[] ptr = batch.catPtr();
    int[] ids = batch.catIds();
    for (int r = 0; r < batch.rows(); r++) {
      for (int c = 0; c < k; c++) {
        int first = rowSpace.firstRow(c + 1);
        for (int i = ptr[r * k + c]; i < ptr[r * k + c + 1]; i++) set.add(first + ids[i]);
      }
    }
  }

  /**
   * First layer on CSR features: z[r, :] = sum over row r's nonzeros (j, v) of v * W[j, :]. Only
   * the rows of W that the batch touches are read.
   */
  private static void sparseFirstLayer(MiniBatch csr, int rows, int out, float[] params, int kOff, float[] z) {
    int[] ptr = csr.rowPtr();
    int[] cols = csr.cols();
    float[] vals = csr.features();
    Arrays.fill(z, 0, rows * out, 0f);
    for (int r = 0; r < rows; r++) {
      int base = r * out;
      for (int k = ptr[r]; k < ptr[r + 1]; k++) {
        float v = vals[k];
        int w = kOff + cols[k] * out;
        for (int o = 0; o < out; o++) z[base + o] += v * params[w + o];
      }
    }
  }

  /**
   * The first kernel's gradient on CSR features: a scatter-add of v * delta[r, :] into row j of dW for
   * each nonzero (j, v) of row r, so only the touched rows of dW change. Without {@code accumulate}
   * the kernel's gradient is zeroed first (the caller asked to overwrite it).
   */
  private static void sparseKernelGradient(MiniBatch csr, int rows, int out, float[] d, boolean accumulate,
      float[] grad, int kOff, int in) {
    if (!accumulate) {
      Arrays.fill(grad, kOff, kOff + in * out, 0f);
    }
    int[] ptr = csr.rowPtr();
    int[] cols = csr.cols();
    float[] vals = csr.features();
    for (int r = 0; r < rows; r++) {
      int base = r * out;
      for (int k = ptr[r]; k < ptr[r + 1]; k++) {
        float v = vals[k];
        int g = kOff + cols[k] * out;
        for (int o = 0; o < out; o++) grad[g + o] += v * d[base + o];
      }
    }
  }

  private void forward(float[] params, float[] x, MiniBatch batch, int rows, Workspace ws, boolean training,
      long dropoutSeed) {
    layout.check(params, "parameters");
    ws.ensure(rows);
    Blas blas = ws.blas;
    MiniBatch csr = batch != null && batch.isSparse() ? batch : null;
    int e = embOffset[embeddings.length];
    if (e > 0) {
      embed(params, batch, rows, ws.emb);
    }
    float[] input = x;
    for (int l = 0; l < layers.length; l++) {
      int in = sizes[l];
      int out = sizes[l + 1];
      float[] z = ws.z[l];
      int bOff = layout.bias(l).offset();
      if (l == 0) {
        int kOff = layout.kernel(0).offset();
        if (csr != null) {
          sparseFirstLayer(csr, rows, out, params, kOff, z);
        } else if (inputs > 0) {
          blas.gemm(false, false, rows, out, inputs, 1f, input, 0, params, kOff, 0f, z, 0);
        }
        if (e > 0) {
          float beta = csr != null || inputs > 0 ? 1f : 0f;
          blas.gemm(false, false, rows, out, e, 1f, ws.emb, 0, params, kOff + inputs * out, beta, z, 0);
        }
      } else {
        blas.gemm(false, false, rows, out, in, 1f, input, 0, params, layout.kernel(l).offset(), 0f, z, 0);
      }
      for (int r = 0; r < rows; r++) {
        int base = r * out;
        for (int j = 0; j < out; j++) z[base + j] += params[bOff + j];
      }
      layers[l].activation().forward(z, ws.h[l], 0, rows, out);
      if (layers[l].dropout() > 0f) {
        float[] a = ws.a[l];
        float[] h = ws.h[l];
        if (training) {
          float[] m = ws.mask[l];
          dropoutMask(dropoutSeed, l, layers[l].dropout(), m, rows * out);
          for (int i = 0; i < rows * out; i++) a[i] = h[i] * m[i];
        } else {
          System.arraycopy(h, 0, a, 0, rows * out);
        }
      }
      input = ws.a[l];
    }
  }

  /**
   * Fills {@code mask[0, n)} with inverted-dropout factors for layer {@code layer}: 1/(1-rate) with
   * probability 1-rate, else 0, drawn from (seed, layer) only.
   */
  public static void dropoutMask(long seed, int layer, float rate, float[] mask, int n) {
    SplittableRandom rnd = new SplittableRandom(Seeds.dropoutLayer(seed, layer));
    float keep = 1f - rate;
    float scale = 1f / keep;
    for (int i = 0; i < n; i++) mask[i] = rnd.nextFloat() < keep ? scale : 0f;
  }

  private void checkBatch(float[] params, MiniBatch batch) {
    if (batch.inputs() != inputs) {
      throw new IllegalArgumentException("mini-batch: expected " + inputs + " features per row (the"
          + " numeric input width of layer 0), found " + batch.inputs());
    }
    if (batch.categorical() != embeddings.length) {
      throw new IllegalArgumentException("mini-batch: expected " + embeddings.length + " categorical columns per"
          + " row (one per embedding table), found " + batch.categorical());
    }
    if (batch.labelWidth() != labelWidth()) {
      throw new IllegalArgumentException("mini-batch: expected " + labelWidth() + " label values per"
          + " row for loss " + loss + " with " + outputs() + " outputs, found " + batch.labelWidth());
    }
  }

  /**
   * L2 weight decay on kernels (biases and embedding tables are not decayed, as in Keras's default):
   * adds {@code lambda * W} to {@code grad} and returns the penalty {@code lambda/2 * ||W||^2}.
   * Apply it to the mean gradient.
   */
  public double addL2(float[] params, float[] grad, float lambda) {
    if (lambda == 0f) {
      return 0;
    }
    double penalty = 0;
    for (int l = 0; l < layers.length; l++) {
      ParameterLayout.Entry k = layout.kernel(l);
      for (int i = k.offset(); i < k.end(); i++) {
        penalty += (double) params[i] * params[i];
        grad[i] += lambda * params[i];
      }
    }
    return 0.5 * lambda * penalty;
  }

  /**
   * {@link #addL2(float[], float[], float)} lazily on a row-sparse gradient: every kernel but the
   * first whole, and of the first kernel only the rows in {@code rows} (the rows a sparse mini-batch
   * touched, as lazy optimizers decay them). {@code rows == null} is the dense form.
   */
  public double addL2(float[] params, float[] grad, float lambda, RowSet rows) {
    if (rows == null) {
      return addL2(params, grad, lambda);
    }
    if (lambda == 0f) {
      return 0;
    }
    double penalty = 0;
    for (int l = 1; l < layers.length; l++) {
      ParameterLayout.Entry k = layout.kernel(l);
      for (int i = k.offset(); i < k.end(); i++) {
        penalty += (double) params[i] * params[i];
        grad[i] += lambda * params[i];
      }
    }
    int[] ids = rows.ids();
    int kernelRows = sizes[0]; // rows past the first kernel are embedding rows, which L2 leaves alone
    for (int r = 0; r < rows.size(); r++) {
      if (ids[r] >= kernelRows) {
        continue;
      }
      int at = rows.start(ids[r]);
      for (int i = at, e = at + rows.width(ids[r]); i < e; i++) {
        penalty += (double) params[i] * params[i];
        grad[i] += lambda * params[i];
      }
    }
    return 0.5 * lambda * penalty;
  }

  /**
   * What the parameters mean, for telling checkpoints of different networks apart: the input count,
   * each layer's units and activation, and the loss, such as
   * {@code 784-256 relu-128 relu-10 softmax, softmax_cross_entropy}. Dropout is not part of it.
   */
  public String architecture() {
    StringBuilder sb = new StringBuilder().append(inputs);
    for (Embedding m : embeddings) sb.append('+').append(m);
    for (LayerSpec s : layers) {
      sb.append('-').append(s.units()).append(' ').append(s.activation());
    }
    return sb.append(", ").append(loss).toString();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Network(inputs=").append(inputs);
    for (Embedding m : embeddings) sb.append(" + ").append(m);
    for (LayerSpec s : layers) sb.append(" -> ").append(s);
    return sb.append(", loss=").append(loss).append(", params=").append(layout.size()).append(')').toString();
  }
}
