package io.sparktrain.ml;

import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.Network;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A fitted {@link NeuralNetRegressor}. {@code transform} appends {@code predictionCol}: a double
 * when the network has one output (a numeric label), else a Vector of the T predicted targets
 * (an array/Vector label of size T; an array of size 1 also gives a double).
 */
public final class NeuralNetRegressionModel extends NeuralNetModel<NeuralNetRegressionModel>
    implements NeuralNetRegressorParams {
  private static final long serialVersionUID = 1L;

  NeuralNetRegressionModel(String uid, Network net, float[] params) {
    super(uid, NeuralNetParamSet.Task.REGRESSOR, net, params);
  }

  /** A model of a network trained outside the Estimator (e.g. with {@link io.sparktrain.train.Trainer}). */
  public static NeuralNetRegressionModel of(Network net, float[] params) {
    return new NeuralNetRegressionModel(Identifiable.randomUID("nnRegressor"), net, params);
  }

  /**
   * As {@link #of(Network, float[])}, for parameters trained on standardized features
   * ({@link io.sparktrain.train.TrainResult#inputScaling()}; null = raw features): transform applies it.
   */
  public static NeuralNetRegressionModel of(Network net, float[] params, InputScaling scaling) {
    return of(net, params).withInputScaling(scaling);
  }

  @Override
  StructType addOutputs(StructType schema) {
    return Schemas.addOutput(schema, getPredictionCol(), "predictionCol",
        numOutputs() == 1 ? DataTypes.DoubleType : new VectorUDT(), getClass().getSimpleName());
  }

  @Override
  Scorer scorer(int featIdx, Broadcast<float[]> params) {
    return new RegScorer(network(), params, featIdx, getFeaturesCol());
  }

  @Override
  NeuralNetRegressionModel newInstance(String uid, Network net, float[] params) {
    return new NeuralNetRegressionModel(uid, net, params);
  }

  public static MLReader<NeuralNetRegressionModel> read() {
    return new Reader<>(NeuralNetRegressionModel.class);
  }

  public static NeuralNetRegressionModel load(String path) {
    return read().load(path);
  }

  private static final class RegScorer extends Scorer {
    private static final long serialVersionUID = 1L;

    RegScorer(Network net, Broadcast<float[]> params, int featIdx, String featCol) {
      super(net, params, featIdx, featCol, 1);
    }

    @Override
    void outputs(float[] out, float[] logits, int r, Object[] values, int at) {
      int k = net.outputs();
      if (k == 1) {
        values[at] = (double) out[r];
      } else {
        double[] y = new double[k];
        for (int j = 0; j < k; j++) y[j] = out[r * k + j];
        values[at] = Vectors.dense(y);
      }
    }
  }
}
