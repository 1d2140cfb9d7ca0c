package io.sparktrain.ml;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * A feed-forward neural-network regressor as a Spark ML {@code Estimator}: hidden dense layers,
 * then a linear (identity) output layer with one unit per target, trained with {@code loss}
 * (mse, mae, huber or huber(delta); default mse).
 *
 * <p>The label is a numeric target (one output; the model's prediction is a double) or an
 * array/Vector of targets (T outputs; the prediction is a Vector of T doubles). Other params and
 * defaults are those of {@link NeuralNetClassifier} without the classifier's columns and
 * numClasses.
 */
public final class NeuralNetRegressor extends NeuralNetEstimator<NeuralNetRegressionModel, NeuralNetRegressor>
    implements NeuralNetRegressorParams {
  private static final long serialVersionUID = 1L;

  public NeuralNetRegressor(String uid) {
    super(uid, NeuralNetParamSet.Task.REGRESSOR);
  }

  public NeuralNetRegressor() {
    this(Identifiable.randomUID("nnRegressor"));
  }

  /** mse, mae, huber or huber(delta). */
  public NeuralNetRegressor setLoss(String v) { return put(loss(), v); }

  @Override
  public StructType transformSchema(StructType schema) {
    String who = getClass().getSimpleName();
    if (usesFeaturesCol(schema)) {
      Schemas.checkFeatures(schema, getFeaturesCol(), who);
    }
    checkCategorical(schema);
    DataType lt = Schemas.field(schema, getLabelCol(), who, "labelCol").dataType();
    if (!(lt instanceof NumericType) && !Schemas.isVectorOrNumericArray(lt)) {
      throw new IllegalArgumentException(who + " labelCol '" + getLabelCol() + "': expected a numeric target or an"
          + " array/Vector of targets, found " + lt.simpleString());
    }
    if (!getWeightCol().isEmpty()) {
      Schemas.checkNumeric(schema, getWeightCol(), who, "weightCol", "a numeric weight");
    }
    // A numeric label gives one output (a double prediction); an array/Vector label gives a Vector.
    return Schemas.addOutput(schema, getPredictionCol(), "predictionCol",
        lt instanceof NumericType ? DataTypes.DoubleType : new VectorUDT(), who);
  }

  @Override
  InputSpec baseSpec() {
    return InputSpec.regression(getFeaturesCol(), getLabelCol());
  }

  @Override
  int outputs(TrainingData train, TrainingData validation) {
    return train.labelWidth();
  }

  @Override
  Network.Builder outputLayer(Network.Builder b, int outputs) {
    return b.dense(outputs, Activation.IDENTITY).loss(Loss.parse(getLoss()));
  }

  @Override
  NeuralNetRegressionModel newModel(Network net, float[] params) {
    return new NeuralNetRegressionModel(uid(), net, params);
  }

  public static MLReader<NeuralNetRegressor> read() {
    return new Reader<>(NeuralNetRegressor.class);
  }

  public static NeuralNetRegressor load(String path) {
    return read().load(path);
  }
}
