package io.sparktrain.ml;

import org.apache.spark.ml.param.Param;

/** Params of {@link NeuralNetRegressor} and {@link NeuralNetRegressionModel} beyond the shared ones. */
public interface NeuralNetRegressorParams extends NeuralNetParams {
  default Param<String> loss() { return paramSet().loss; }

  default String getLoss() { return $(loss()); }
}
