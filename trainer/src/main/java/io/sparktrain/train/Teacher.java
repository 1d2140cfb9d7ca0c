package io.sparktrain.train;

import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.DistillationLoss;
import io.sparktrain.nn.Network;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The teacher of a distilled run (Hinton et al. 2015): a trained network whose logits, computed on
 * each mini-batch where its rows are, become the student's soft targets ({@link DistillationLoss}).
 *
 * <p>The teacher's parameters are broadcast once per fit ({@link #broadcast}); the Teacher itself,
 * which tasks receive in their closures through {@link TrainConfig#teacher()} or the federated
 * configuration's, then carries only the network's shape and the broadcast's handle. Federated silos
 * read the teacher from the same broadcast and score their own rows: nothing but the teacher moves.
 *
 * <p><b>Inputs.</b> The blocks a student trains on hold its features after its own input scaling (or
 * raw), while the teacher was trained on features after its scaling. {@link #onInputs} folds the map
 * from one to the other into the teacher's first layer, exactly: with student features
 * {@code s = (x - m_s) k_s} and teacher features {@code t = (x - m_t) k_t}, {@code t = s a + c} with
 * {@code a = k_t / k_s} and {@code c = (m_s - m_t) k_t}, so the kernel's row j is scaled by a_j and
 * the bias gains {@code sum_j c_j W_j}. Sparse (CSR) rows need nothing more: their implicit zeros map
 * to c through the bias.
 */
public final class Teacher implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Network network;
  /**
   * The parameters on the driver. A broadcast teacher travels without them ({@link #writeReplace}); one
   * that was never broadcast (a caller that skips {@link #broadcast}) carries them in its closure.
   */
  private final float[] params;
  private final InputScaling scaling;
  private final DistillationLoss loss;
  private final String source;
  private final Broadcast<float[]> shared;

  private Teacher(Network network, float[] params, InputScaling scaling, DistillationLoss loss, String source,
      Broadcast<float[]> shared) {
    this.network = network;
    this.params = params;
    this.scaling = scaling;
    this.loss = loss;
    this.source = source;
    this.shared = shared;
  }

  /**
   * A teacher: {@code network} with {@code params}, taking its features through {@code scaling} (null:
   * raw), distilled with temperature {@code temperature} and soft weight {@code alpha}; {@code source}
   * says where it came from (a model directory), for logs and the run's configuration.
   */
  public static Teacher of(Network network, float[] params, InputScaling scaling, float temperature, float alpha,
      String source) {
    network.layout().check(params, "teacher parameters");
    DistillationLoss.checkLoss(network.loss(), "training.distillation.teacher " + source);
    if (scaling != null && scaling.size() != network.inputs()) {
      throw new IllegalArgumentException("training.distillation.teacher " + source + ": expected an input scaling of "
          + network.inputs() + " features, found " + scaling.size());
    }
    return new Teacher(network, params.clone(), scaling, new DistillationLoss(temperature, alpha),
        Objects.requireNonNull(source, "source"), null);
  }

  public Network network() { return network; }
  public DistillationLoss loss() { return loss; }
  public String source() { return source; }
  /** The teacher's own input scaling, or null (already folded in by {@link #onInputs}). */
  public InputScaling scaling() { return scaling; }

  /** Serialized into a task, a broadcast teacher leaves its parameters behind: the task reads the broadcast. */
  private Object writeReplace() {
    return shared == null || params == null ? this : new Teacher(network, null, scaling, loss, source, shared);
  }

  /** The parameters: the driver's copy, or the broadcast's value in a task. */
  public float[] params() {
    return params != null ? params : shared.value();
  }

  /**
   * Checks that this teacher can teach {@code student}: the same numeric features, the same
   * categorical tables, as many outputs, the same loss (a cross-entropy). The error names the part.
   */
  public void check(Network student) {
    String where = "training.distillation.teacher " + source;
    DistillationLoss.checkLoss(student.loss(), "training.distillation (the student " + student + ")");
    if (network.inputs() != student.inputs()) {
      throw new IllegalArgumentException(where + ": expected a model of " + student.inputs() + " features (the"
          + " student's), found " + network.inputs());
    }
    if (network.categorical() != student.categorical()) {
      throw new IllegalArgumentException(where + ": expected " + student.categorical() + " categorical columns (the"
          + " student's), found " + network.categorical());
    }
    for (int c = 0; c < student.categorical(); c++) {
      if (!network.embedding(c).equals(student.embedding(c))) {
        throw new IllegalArgumentException(where + ": categorical column " + c + ": expected the student's table "
            + student.embedding(c) + " (the same buckets, so the same ids), found " + network.embedding(c));
      }
    }
    if (network.outputs() != student.outputs()) {
      throw new IllegalArgumentException(where + ": expected " + student.outputs() + " outputs (the student's), found "
          + network.outputs());
    }
    if (network.loss().kind() != student.loss().kind()) {
      throw new IllegalArgumentException(where + ": expected loss " + student.loss() + " (the student's), found "
          + network.loss());
    }
  }

  /**
   * This teacher taking the features a student's blocks hold: scaled by {@code student} (null: raw),
   * with its own scaling folded into its first layer (see the class comment). The result has no
   * scaling of its own.
   */
  public Teacher onInputs(InputScaling student) {
    if (scaling == null && student == null) {
      return this;
    }
    int d = network.inputs();
    int out = network.sizes()[1];
    float[] p = params().clone();
    int k = network.layout().kernel(0).offset();
    int b = network.layout().bias(0).offset();
    float[] ms = InputScaling.shiftsOf(student, d);
    float[] ks = InputScaling.scalesOf(student, d);
    float[] mt = InputScaling.shiftsOf(scaling, d);
    float[] kt = InputScaling.scalesOf(scaling, d);
    double[] bias = new double[out];
    for (int o = 0; o < out; o++) bias[o] = p[b + o];
    for (int j = 0; j < d; j++) {
      double a = (double) kt[j] / ks[j];
      double c = ((double) ms[j] - mt[j]) * kt[j];
      int row = k + j * out;
      for (int o = 0; o < out; o++) {
        bias[o] += c * p[row + o];
        p[row + o] = (float) (a * p[row + o]);
      }
    }
    for (int o = 0; o < out; o++) p[b + o] = (float) bias[o];
    return new Teacher(network, p, null, loss, source, null);
  }

  /**
   * This teacher with its parameters in a broadcast, sent to each executor once; {@link #destroy}
   * releases it at the end of the fit.
   */
  public Teacher broadcast(JavaSparkContext jsc) {
    float[] p = params();
    return new Teacher(network, p, scaling, loss, source, jsc.broadcast(p));
  }

  /** Releases the broadcast, if any. */
  public void destroy() {
    if (shared != null) {
      shared.destroy();
    }
  }

  /** The run configuration's record of the distillation: teacher, temperature, alpha. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("teacher", source);
    m.put("temperature", (double) loss.temperature());
    m.put("alpha", (double) loss.alpha());
    return m;
  }

  @Override
  public String toString() {
    return "teacher " + source + " (" + network.architecture() + ", " + loss + ")";
  }
}
