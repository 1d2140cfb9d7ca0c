package io.sparktrain.ml;

import io.sparktrain.eval.Predictions;
import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.Network;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A fitted {@link NeuralNetClassifier}. {@code transform} appends, in this order and each unless
 * its column param is empty:
 * <ul>
 *   <li>{@code rawPredictionCol} (Vector): the output layer's pre-activations (K logits; for a
 *       network with one sigmoid unit or logit z, (-z, z), as Spark's LogisticRegression gives);
 *   <li>{@code probabilityCol} (Vector of K doubles): the class probabilities
 *       ({@link Predictions#classProbabilities}: the softmax; (1 - p, p) for one sigmoid unit or one
 *       logit trained with binary cross-entropy, K = 2);
 *   <li>{@code predictionCol} (double): the class with the largest probability (lowest index on
 *       ties).
 * </ul>
 * Save with {@code write().save(path)}; load with {@link #load(String)} or inside a PipelineModel.
 */
public final class NeuralNetClassificationModel extends NeuralNetModel<NeuralNetClassificationModel>
    implements NeuralNetClassifierParams {
  private static final long serialVersionUID = 1L;

  NeuralNetClassificationModel(String uid, Network net, float[] params) {
    super(uid, NeuralNetParamSet.Task.CLASSIFIER, net, params);
  }

  /**
   * A model of a network trained outside the Estimator (e.g. with {@link io.sparktrain.train.Trainer}):
   * {@code net} must be a classifier network (K softmax outputs, or one sigmoid output; see
   * {@link io.sparktrain.eval.Predictions}); {@code params} in its layout.
   */
  public static NeuralNetClassificationModel of(Network net, float[] params) {
    if (!Predictions.isClassifier(net)) {
      throw new IllegalArgumentException("NeuralNetClassificationModel.of: expected a classifier network, found "
          + net);
    }
    return new NeuralNetClassificationModel(Identifiable.randomUID("nnClassifier"), net, params);
  }

  /**
   * As {@link #of(Network, float[])}, for parameters trained on standardized features
   * ({@link io.sparktrain.train.TrainResult#inputScaling()}; null = raw features): transform applies it.
   */
  public static NeuralNetClassificationModel of(Network net, float[] params, InputScaling scaling) {
    return of(net, params).withInputScaling(scaling);
  }

  public NeuralNetClassificationModel setRawPredictionCol(String v) { return put(rawPredictionCol(), v); }
  public NeuralNetClassificationModel setProbabilityCol(String v) { return put(probabilityCol(), v); }

  /**
   * The number of classes K of the trained network ({@link Predictions#numClasses}: its output units,
   * or 2 for one sigmoid unit or logit), whatever the numClasses param held.
   */
  @Override
  public int getNumClasses() {
    return Predictions.numClasses(network());
  }

  /** The class probabilities of one row (a dense vector of K values). */
  public Vector predictProbability(Vector features) {
    return Vectors.dense(toDoubles(probabilities(predictOne(features))));
  }

  /** The predicted class of one row. */
  public double predict(Vector features) {
    return Predictions.argmax(probabilities(predictOne(features)), 0, getNumClasses());
  }

  private float[] probabilities(float[] outputs) {
    float[] p = new float[getNumClasses()];
    Predictions.rowProbabilities(network(), outputs, 0, p, 0);
    return p;
  }

  private float[] predictOne(Vector features) {
    if (features.size() != numFeatures()) {
      throw new IllegalArgumentException(uid() + ": expected " + numFeatures() + " features, found " + features.size());
    }
    if (!categoricalColumns().isEmpty()) {
      throw new IllegalArgumentException(uid() + ": a model with categorical columns " + categoricalColumns()
          + " scores rows, not feature vectors: use transform");
    }
    double[] v = features.toArray();
    float[] x = new float[v.length];
    for (int i = 0; i < v.length; i++) x[i] = (float) v[i];
    if (inputScaling() != null) {
      inputScaling().applyDense(x, 0, 1); // as transform does
    }
    Network net = network();
    return net.predict(parameters(), x, 1, net.newWorkspace());
  }

  static StructType addOutputs(StructType schema, NeuralNetClassifierParams p, String who) {
    StructType s = Schemas.addOutput(schema, p.getRawPredictionCol(), "rawPredictionCol", new VectorUDT(), who);
    s = Schemas.addOutput(s, p.getProbabilityCol(), "probabilityCol", new VectorUDT(), who);
    return Schemas.addOutput(s, p.getPredictionCol(), "predictionCol", DataTypes.DoubleType, who);
  }

  @Override
  StructType addOutputs(StructType schema) {
    return addOutputs(schema, this, getClass().getSimpleName());
  }

  @Override
  Scorer scorer(int featIdx, Broadcast<float[]> params) {
    return new ClassScorer(network(), params, featIdx, getFeaturesCol(), !getRawPredictionCol().isEmpty(),
        !getProbabilityCol().isEmpty(), !getPredictionCol().isEmpty());
  }

  @Override
  NeuralNetClassificationModel newInstance(String uid, Network net, float[] params) {
    return new NeuralNetClassificationModel(uid, net, params);
  }

  public static MLReader<NeuralNetClassificationModel> read() {
    return new Reader<>(NeuralNetClassificationModel.class);
  }

  public static NeuralNetClassificationModel load(String path) {
    return read().load(path);
  }

  static double[] toDoubles(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) d[i] = a[i];
    return d;
  }

  private static final class ClassScorer extends Scorer {
    private static final long serialVersionUID = 1L;
    private final boolean raw;
    private final boolean prob;
    private final boolean pred;

    ClassScorer(Network net, Broadcast<float[]> params, int featIdx, String featCol, boolean raw, boolean prob,
        boolean pred) {
      super(net, params, featIdx, featCol, (raw ? 1 : 0) + (prob ? 1 : 0) + (pred ? 1 : 0));
      this.raw = raw;
      this.prob = prob;
      this.pred = pred;
    }

    @Override
    boolean needsLogits() {
      return raw;
    }

    @Override
    void outputs(float[] out, float[] logits, int r, Object[] values, int at) {
      int n = net.outputs();
      int off = r * n;
      if (raw) {
        // One unit: (-z, z), as Spark's LogisticRegression gives, so binary evaluators find index 1.
        double[] z = new double[n == 1 ? 2 : n];
        for (int j = 0; j < n; j++) z[j] = logits[off + j];
        if (n == 1) {
          z[1] = z[0];
          z[0] = -z[1];
        }
        values[at++] = Vectors.dense(z);
      }
      int k = Predictions.numClasses(net);
      float[] p = new float[k];
      Predictions.rowProbabilities(net, out, off, p, 0);
      if (prob) {
        values[at++] = Vectors.dense(toDoubles(p));
      }
      if (pred) {
        values[at] = (double) Predictions.argmax(p, 0, k);
      }
    }
  }
}
