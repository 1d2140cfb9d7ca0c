package io.sparktrain.ml;

import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;

/** Params of {@link NeuralNetClassifier} and {@link NeuralNetClassificationModel} beyond the shared ones. */
public interface NeuralNetClassifierParams extends NeuralNetParams {
  default Param<String> rawPredictionCol() { return paramSet().rawPredictionCol; }
  default Param<String> probabilityCol() { return paramSet().probabilityCol; }
  default IntParam numClasses() { return paramSet().numClasses; }

  default String getRawPredictionCol() { return $(rawPredictionCol()); }
  default String getProbabilityCol() { return $(probabilityCol()); }
  default int getNumClasses() { return (Integer) $(numClasses()); }
}
