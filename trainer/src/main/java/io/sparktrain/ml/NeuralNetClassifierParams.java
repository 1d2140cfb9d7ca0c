package io.sparktrain.ml;

import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;

/** Params of {@link NeuralNetClassifier} and {@link NeuralNetClassificationModel} beyond the shared ones. */
public interface NeuralNetClassifierParams extends NeuralNetParams {
  default Param<String> rawPredictionCol() { return paramSet().rawPredictionCol; }
  default Param<String> probabilityCol() { return paramSet().probabilityCol; }
  default IntParam numClasses() { return paramSet().numClasses; }
  /** Knowledge distillation's teacher: a saved classification model's directory ("" = off). */
  default Param<String> distillationTeacher() { return paramSet().distillationTeacher; }
  /** Distillation's temperature T (default 1). */
  default DoubleParam distillationTemperature() { return paramSet().distillationTemperature; }
  /** Distillation's soft-loss weight alpha (default 0.5). */
  default DoubleParam distillationAlpha() { return paramSet().distillationAlpha; }

  default String getRawPredictionCol() { return $(rawPredictionCol()); }
  default String getProbabilityCol() { return $(probabilityCol()); }
  default int getNumClasses() { return (Integer) $(numClasses()); }
  default String getDistillationTeacher() { return $(distillationTeacher()); }
  default double getDistillationTemperature() { return (Double) $(distillationTemperature()); }
  default double getDistillationAlpha() { return (Double) $(distillationAlpha()); }
}
