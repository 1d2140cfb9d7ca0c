package io.sparktrain.train;

import io.sparktrain.data.Block;
import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.util.Seeds;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A partition's work in one round, alone: plain Java over a {@link Block}, no Spark. The round
 * loop runs it in executor tasks; everything it does is a function of its arguments (parameters,
 * rows, seed), so a retried or speculative task returns the identical {@link Update}.
 *
 * <ul>
 *   <li>{@link #gradient}: the summed gradient and loss of the rows {@code order[from, to)}, computed
 *       in micro-batches of at most {@code microBatch} rows (sync mode).
 *   <li>{@link #localSteps}: mini-batch steps of {@code batchSize} over {@code order[from, to)}
 *       with a fresh local optimizer, returning the weight delta times the example weight used
 *       (average and federated modes).
 * </ul>
 * <p><b>Sparse features and embeddings.</b> On CSR blocks the first layer's kernel gradient is
 * nonzero only in the rows of the inputs a mini-batch touched, and an embedding table's only in the
 * rows of the categories it saw ({@link Network#rowSpace()}). The work tracks them ({@link RowSet}): a step zeroes and
 * steps only those rows (with {@code lazy_adam}; dense optimizers still step every row), and the
 * returned {@link Update} lists the rows it may be nonzero in ({@link Update#touched()}), so it
 * travels row-sparse. A dense L2 term, a proximal term or a dense optimizer's weight decay makes
 * the update dense again, and it is then marked dense.
 *
 * <p><b>Reconstruction.</b> With a {@link Corruption} ({@link TrainConfig#reconstruction()}, pretraining)
 * the work never reads the blocks' labels: it gathers each mini-batch's features
 * ({@link Block#copyInputs}), copies them as the targets, corrupts the features in place with draws
 * from the mini-batch's seed (the seed dropout uses, mixed with {@link Seeds#CORRUPTION}) and takes the
 * network's (MSE) loss of its outputs against the clean rows. Dense numeric features only.
 *
 * Not thread-safe (it owns the workspace and batch buffers); one per task.
 */
public final class LocalWork {
  /** Rows per GEMM when summing a large slice's gradient. */
  public static final int DEFAULT_MICRO_BATCH = 256;

  private final Network network;
  private final float l2;
  private final Network.Workspace ws;
  private final MiniBatch batch;
  private final RowSet[] scratch = new RowSet[2];
  /** Distillation's teacher, or null; its parameters and workspace, fetched once. */
  private final Teacher teacher;
  private float[] teacherParams;
  private Network.Workspace teacherWs;
  /** Reconstruction's noise, or null (supervised). */
  private final Corruption reconstruction;

  public LocalWork(Network network, float l2) {
    this(network, l2, network.newWorkspace(), null, null);
  }

  /** Work whose loss is {@code teacher}'s distillation loss (null: the network's own loss). */
  public LocalWork(Network network, float l2, Teacher teacher) {
    this(network, l2, network.newWorkspace(), teacher, null);
  }

  /**
   * Work with {@code teacher}'s distillation loss (or null), or, with {@code reconstruction} (or null),
   * a reconstruction run that reads no labels (see the class comment); not both.
   */
  public LocalWork(Network network, float l2, Teacher teacher, Corruption reconstruction) {
    this(network, l2, network.newWorkspace(), teacher, reconstruction);
  }

  public LocalWork(Network network, float l2, Network.Workspace ws, Teacher teacher) {
    this(network, l2, ws, teacher, null);
  }

  public LocalWork(Network network, float l2, Network.Workspace ws, Teacher teacher, Corruption reconstruction) {
    this.network = network;
    this.l2 = l2;
    this.ws = ws;
    this.teacher = teacher;
    this.reconstruction = reconstruction;
    if (reconstruction != null) {
      if (teacher != null) {
        throw new IllegalArgumentException("reconstruction: expected no distillation teacher (pretraining reads no"
            + " labels), found " + teacher);
      }
      if (network.categorical() > 0 || network.outputs() != network.inputs()
          || network.labelWidth() != network.inputs()) {
        throw new IllegalArgumentException("reconstruction: expected a network of dense numeric inputs whose outputs"
            + " are its " + network.inputs() + " inputs (an autoencoder), found " + network);
      }
    }
    this.batch = new MiniBatch(network.inputs(), network.labelWidth(), network.categorical());
  }

  /**
   * The gathered batch's loss sum, its gradient added to (or, without {@code accumulate}, written
   * over) {@code grad}: the network's loss, or with a teacher the distillation loss on the teacher's
   * logits of the same rows, computed here (inference mode, in the teacher's own workspace).
   */
  private double batchLossAndGradient(float[] params, float[] grad, long seed, boolean accumulate) {
    if (reconstruction != null) {
      // The targets are the clean rows; the network sees them corrupted.
      int n = batch.rows() * network.inputs();
      System.arraycopy(batch.features(), 0, batch.labels(), 0, n);
      reconstruction.apply(batch.features(), n, Seeds.of(seed, Seeds.CORRUPTION));
    }
    if (teacher == null) {
      return network.lossAndGradient(params, batch, grad, ws, seed, accumulate);
    }
    if (teacherParams == null) {
      teacherParams = teacher.params();
      teacherWs = teacher.network().newWorkspace(ws.blas());
    }
    float[] soft = teacher.network().logits(teacherParams, batch, teacherWs);
    return network.lossAndGradient(params, batch, grad, ws, seed, accumulate, soft, teacher.loss());
  }

  /** A permutation of 0..n-1 drawn from {@code seed} (Fisher-Yates). */
  public static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * The summed gradient (sum over rows of w_i dl_i/dtheta) and loss of rows {@code order[from, to)}
   * of {@code block}; no L2 (the caller adds it to the mean once). Dropout masks come from
   * {@code seed} and the micro-batch index.
   */
  public Update gradient(float[] params, Block block, int[] order, int from, int to, int microBatch, long seed) {
    if (from >= to) {
      return new Update();
    }
    float[] grad = new float[params.length];
    double[] lw = new double[2];
    RowSet touched = rowSparse(block) ? scratch(0) : null;
    boolean rowSparse = addGradient(params, block, order, from, to, microBatch, seed, grad, lw, touched);
    Update u = new Update(grad, lw[1], lw[0], Math.max(0, to - from), 1);
    return rowSparse ? u.withRows(RowSlice.of(touched)) : u;
  }

  /**
   * This work's reusable row set {@code i} (0 or 1), emptied: a set holds an int per input (4 MB at
   * 2^20 inputs), too much to allocate per mini-batch round. Its rows are copied out
   * ({@link RowSlice#of}) before it is reused.
   */
  private RowSet scratch(int i) {
    if (scratch[i] == null) {
      scratch[i] = newRowSet();
    }
    scratch[i].clear();
    return scratch[i];
  }

  /** An empty set of the rows of the first kernel and the embedding tables ({@link Network#rowSpace()}). */
  public RowSet newRowSet() {
    return new RowSet(network.rowSpace());
  }

  /** Whether gradients on {@code block} are row-sparse: CSR features, or embedding tables. */
  private boolean rowSparse(Block block) {
    return block.isSparse() || network.categorical() > 0;
  }

  /** Whether the gathered batch's gradient is row-sparse: {@link #rowSparse(Block)} for its rows. */
  private boolean batchRowSparse() {
    return batch.isSparse() || network.categorical() > 0;
  }

  /**
   * Adds the summed gradient of rows {@code order[from, to)} to {@code grad}, and their loss sum
   * and example weight to {@code lossAndWeight[0]} and {@code [1]}: {@link #gradient} without
   * allocating (the collective engine calls it once per step into one buffer).
   */
  public void addGradient(float[] params, Block block, int[] order, int from, int to, int microBatch, long seed,
      float[] grad, double[] lossAndWeight) {
    addGradient(params, block, order, from, to, microBatch, seed, grad, lossAndWeight, null);
  }

  /**
   * As {@link #addGradient(float[], Block, int[], int, int, int, long, float[], double[])}, adding
   * the first kernel's rows the rows' sparse features touch to {@code touched} (when not null).
   * Returns whether the added gradient is row-sparse: false when the block is dense (its gradient
   * may touch every row of the first kernel).
   */
  public boolean addGradient(float[] params, Block block, int[] order, int from, int to, int microBatch, long seed,
      float[] grad, double[] lossAndWeight, RowSet touched) {
    if (from >= to) {
      return true;
    }
    checkBlock(block);
    int chunk = 0;
    for (int start = from; start < to; start += microBatch, chunk++) {
      int end = Math.min(to, start + microBatch);
      gather(block, order, start, end);
      track(touched);
      lossAndWeight[0] += batchLossAndGradient(params, grad, Seeds.of(seed, chunk), true);
      lossAndWeight[1] += batch.weightSum();
    }
    return rowSparse(block);
  }

  /** Adds the rows the gathered batch touches to {@code touched} (when not null and the batch is row-sparse). */
  private void track(RowSet touched) {
    if (touched != null && batchRowSparse()) {
      network.trackRows(batch, touched);
    }
  }

  /**
   * Runs mini-batch steps of {@code batchSize} rows over {@code order[from, to)} from
   * {@code params} (not modified) with a fresh optimizer from {@code local}; returns the delta
   * (new - old) times the example weight used, that weight, and the loss summed over the steps
   * (each step's loss before its update). Step s uses dropout seed (seed, s).
   */
  public Update localSteps(float[] params, Block block, int[] order, int from, int to, int batchSize,
      OptimizerSpec local, long seed) {
    if (from >= to) {
      return new Update();
    }
    checkBlock(block);
    checkBatch(batchSize);
    float[] w = params.clone();
    Steps s = new Steps(params.length, local, rowSparse(block));
    s.run(w, params, block, order, from, to, batchSize, 0f, seed);
    return s.delta(w, params, to - from, s.weight);
  }

  /**
   * A federated client's work (McMahan et al. 2017, FedAvg; Li et al. 2020, FedProx): {@code epochs}
   * passes over all rows of the block, each in its own permutation drawn from (seed, epoch), in
   * mini-batches of {@code batchSize} rows (0 = the whole block: one full-batch step per epoch),
   * with one optimizer from {@code local} for the whole run and, when {@code proxMu > 0}, the
   * proximal term mu/2 ||w - w_global||^2 added to every step's objective. Returns the delta times
   * the example weight, like {@link #localSteps}.
   */
  public Update localEpochs(float[] params, Block block, int epochs, int batchSize, OptimizerSpec local,
      float proxMu, long seed) {
    return localEpochs(params, block, epochs, batchSize, local, proxMu, seed, 0);
  }

  /**
   * {@link #localEpochs(float[], Block, int, int, OptimizerSpec, float, long)} stopped after
   * {@code maxSteps} mini-batch steps (0 = no limit): a straggler's partial work (Li et al. 2020),
   * exactly the first {@code maxSteps} steps of the full run. The returned weight is still the
   * client's example weight n_k; rows and steps count the work actually done, and the loss is
   * summed over those steps.
   */
  public Update localEpochs(float[] params, Block block, int epochs, int batchSize, OptimizerSpec local,
      float proxMu, long seed, int maxSteps) {
    if (block.rows() == 0 || epochs <= 0) {
      return new Update();
    }
    checkBlock(block);
    int b = batchSize == 0 ? block.rows() : batchSize;
    checkBatch(b);
    if (maxSteps < 0) {
      throw new IllegalArgumentException("local steps limit: expected >= 0 (0 = none), found " + maxSteps);
    }
    float[] w = params.clone();
    Steps s = new Steps(params.length, local, rowSparse(block));
    s.limit = maxSteps == 0 ? Integer.MAX_VALUE : maxSteps;
    int e = 0;
    for (; e < epochs && s.steps < s.limit; e++) {
      int[] order = permutation(block.rows(), Seeds.of(seed, e));
      s.run(w, params, block, order, 0, block.rows(), b, proxMu, Seeds.of(seed, e, 1));
    }
    if (s.rows == (long) block.rows() * epochs) {
      // The client's weight is its example weight n_k, not n_k times the epochs it ran.
      return s.delta(w, params, s.rows, s.weight / epochs);
    }
    return s.delta(w, params, s.rows, block.weighted() ? sum(block.weights(), block.rows()) : block.rows());
  }

  private static double sum(float[] v, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) t += v[i];
    return t;
  }

  private static void checkBatch(int batchSize) {
    if (batchSize <= 0) {
      throw new IllegalArgumentException("local batch size: expected > 0, found " + batchSize);
    }
  }

  /** Mini-batch steps with one optimizer, accumulating loss, weight and step counts. */
  private final class Steps {
    final float[] grad;
    final Optimizer opt;
    double lossSum;
    double weight;
    int steps;
    long rows;
    int limit = Integer.MAX_VALUE;
    /** The rows of the first kernel and the tables this step touched (row-sparse blocks), else null. */
    final RowSet step;
    /** The rows any step touched, while the delta stays row-sparse; null once it is dense. */
    RowSet union;
    /** Whether the gradient buffer may hold values outside the last step's touched rows. */
    boolean dirty;

    Steps(int size, OptimizerSpec local, boolean sparse) {
      grad = new float[size];
      opt = local.create(size);
      step = sparse ? scratch(0) : null;
      // A zero-gradient row of a fresh optimizer stays put unless weight decay moves it.
      union = sparse && (opt.lazy() || local.weightDecay() == 0) ? scratch(1) : null;
    }

    void run(float[] w, float[] anchor, Block block, int[] order, int from, int to, int batchSize, float proxMu,
        long seed) {
      for (int start = from; start < to && steps < limit; start += batchSize, steps++) {
        int end = Math.min(to, start + batchSize);
        rows += end - start;
        gather(block, order, start, end);
        double batchLoss;
        boolean rowSparse = step != null && batchRowSparse();
        if (rowSparse) {
          // Zero only what the last step wrote: the dense rest and its touched rows of the first kernel.
          Arrays.fill(grad, 0, step.offset(), 0f);
          Arrays.fill(grad, step.end(), grad.length, 0f);
          if (dirty) {
            Arrays.fill(grad, step.offset(), step.end(), 0f);
            dirty = false;
          } else {
            step.zeroRows(grad);
          }
          step.clear();
          track(step);
          batchLoss = batchLossAndGradient(w, grad, Seeds.of(seed, steps), true);
        } else {
          batchLoss = batchLossAndGradient(w, grad, Seeds.of(seed, steps), false);
        }
        double bw = batch.weightSum();
        lossSum += batchLoss;
        weight += bw;
        if (bw <= 0) {
          continue;
        }
        // The step takes the mean gradient sum / bw + l2 W as (sum + bw l2 W) scaled by 1 / bw.
        if (rowSparse && opt.lazy()) {
          network.addL2(w, grad, (float) (l2 * bw), step); // lazy: the touched rows' share only
        } else if (l2 != 0f) {
          network.addL2(w, grad, (float) (l2 * bw));
          rowSparse = false;
        }
        if (proxMu > 0f) {
          float c = (float) (proxMu * bw);
          for (int i = 0; i < grad.length; i++) grad[i] += c * (w[i] - anchor[i]);
          rowSparse = false;
        }
        if (!rowSparse) {
          dirty = true;
          union = null;
        } else if (union != null) {
          union.addAll(step);
        }
        opt.step(w, grad, (float) (1.0 / bw), rowSparse ? step : null);
      }
    }


    /** (w - params) times {@code clientWeight}, in w's array. */
    Update delta(float[] w, float[] params, long rows, double clientWeight) {
      float scale = (float) clientWeight;
      for (int i = 0; i < w.length; i++) w[i] = (w[i] - params[i]) * scale;
      Update u = new Update(w, clientWeight, lossSum, rows, steps);
      return union != null ? u.withRows(RowSlice.of(union)) : u;
    }
  }

  /** Copies rows {@code order[from, to)} of the block into the reusable mini-batch buffers. */
  private void gather(Block block, int[] order, int from, int to) {
    if (reconstruction != null) {
      block.copyInputs(order, from, to, batch); // never the labels
    } else {
      block.copyRows(order, from, to, batch);
    }
  }

  private void checkBlock(Block block) {
    if (reconstruction != null) {
      if (block.inputs() != network.inputs() || block.isSparse() || block.categorical() > 0) {
        throw new IllegalArgumentException("block: expected " + network.inputs() + " dense numeric features per row"
            + " to reconstruct (" + network + "), found " + block.inputs() + (block.isSparse() ? " sparse (CSR)" : "")
            + " features and " + block.categorical() + " categorical columns");
      }
      return; // the labels, if any, are not read
    }
    if (block.inputs() != network.inputs() || block.labelWidth() != network.labelWidth()
        || block.categorical() != network.categorical()) {
      throw new IllegalArgumentException("block: expected " + network.inputs() + " features, "
          + network.labelWidth() + " label values and " + network.categorical() + " categorical columns per row for "
          + network + ", found " + block.inputs() + ", " + block.labelWidth() + " and " + block.categorical());
    }
  }
}
