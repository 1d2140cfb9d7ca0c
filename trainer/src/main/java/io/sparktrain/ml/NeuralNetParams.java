package io.sparktrain.ml;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;

/**
 * The params shared by the neural-network estimators and models: one public no-arg accessor per
 * param (Spark's {@code Params.params} finds params by reflection on such methods) and a typed
 * getter. The Param objects themselves live in the instance's {@link NeuralNetParamSet}; defaults
 * are documented there and in {@link NeuralNetClassifier}.
 *
 * <p>Models carry the training params of the estimator that made them (copied at fit time), as
 * MLlib models do; only the column params change what a model's {@code transform} does.
 */
public interface NeuralNetParams extends Params {
  /** The Param objects of this instance (internal; not a param itself). */
  NeuralNetParamSet paramSet();

  default Param<String> featuresCol() { return paramSet().featuresCol; }
  default Param<String> labelCol() { return paramSet().labelCol; }
  default Param<String> weightCol() { return paramSet().weightCol; }
  default Param<String> predictionCol() { return paramSet().predictionCol; }
  default IntArrayParam hiddenLayers() { return paramSet().hiddenLayers; }
  default Param<String> activation() { return paramSet().activation; }
  default DoubleParam dropout() { return paramSet().dropout; }
  default Param<String> optimizer() { return paramSet().optimizer; }
  default DoubleParam learningRate() { return paramSet().learningRate; }
  default DoubleParam beta1() { return paramSet().beta1; }
  default DoubleParam beta2() { return paramSet().beta2; }
  default DoubleParam momentum() { return paramSet().momentum; }
  default DoubleParam weightDecay() { return paramSet().weightDecay; }
  default DoubleParam clipNorm() { return paramSet().clipNorm; }
  default DoubleParam l2() { return paramSet().l2; }
  default Param<String> mode() { return paramSet().mode; }
  default IntParam batchSize() { return paramSet().batchSize; }
  default IntParam localSteps() { return paramSet().localSteps; }
  default IntParam maxEpochs() { return paramSet().maxEpochs; }
  default LongParam maxRounds() { return paramSet().maxRounds; }
  default LongParam seed() { return paramSet().seed; }
  default DoubleParam validationFraction() { return paramSet().validationFraction; }
  default Param<String> earlyStoppingMetric() { return paramSet().earlyStoppingMetric; }
  default IntParam patience() { return paramSet().patience; }
  default DoubleParam minDelta() { return paramSet().minDelta; }
  default BooleanParam restoreBestWeights() { return paramSet().restoreBestWeights; }
  default Param<String> checkpointDir() { return paramSet().checkpointDir; }
  default IntParam checkpointInterval() { return paramSet().checkpointInterval; }
  default IntParam aggregationDepth() { return paramSet().aggregationDepth; }
  /** Standardize the features inside the model (default true, as MLlib's LogisticRegression). */
  default BooleanParam standardization() { return paramSet().standardization; }
  /** Categorical columns into embedding tables (default none). */
  default StringArrayParam categoricalCols() { return paramSet().categoricalCols; }
  /** Embedding size per categorical column, or one for all (default 16). */
  default IntArrayParam embeddingDims() { return paramSet().embeddingDims; }
  /** Table rows per categorical column (the last is the out-of-vocabulary row), or one for all; required. */
  default IntArrayParam embeddingBuckets() { return paramSet().embeddingBuckets; }
  /** How array columns' rows combine: mean (default) or sum. */
  default Param<String> embeddingCombiner() { return paramSet().embeddingCombiner; }
  /** Epochs of denoising-autoencoder pretraining of the hidden layers (default 0 = off). */
  default IntParam pretrainEpochs() { return paramSet().pretrainEpochs; }
  /** Pretraining's noise: masking(p) or gaussian(s) (default masking(0.2)). */
  default Param<String> pretrainNoise() { return paramSet().pretrainNoise; }
  /** Pretraining's mini-batch (default 0 = batchSize). */
  default IntParam pretrainBatchSize() { return paramSet().pretrainBatchSize; }

  default String getFeaturesCol() { return $(featuresCol()); }
  default String getLabelCol() { return $(labelCol()); }
  /** The weight column, or "" when unset. */
  default String getWeightCol() { return isDefined(weightCol()) ? $(weightCol()) : ""; }
  default String getPredictionCol() { return $(predictionCol()); }
  default int[] getHiddenLayers() { return $(hiddenLayers()).clone(); }
  default String getActivation() { return $(activation()); }
  default double getDropout() { return (Double) $(dropout()); }
  default String getOptimizer() { return $(optimizer()); }
  default double getLearningRate() { return (Double) $(learningRate()); }
  default double getBeta1() { return (Double) $(beta1()); }
  default double getBeta2() { return (Double) $(beta2()); }
  default double getMomentum() { return (Double) $(momentum()); }
  default double getWeightDecay() { return (Double) $(weightDecay()); }
  default double getClipNorm() { return (Double) $(clipNorm()); }
  default double getL2() { return (Double) $(l2()); }
  default String getMode() { return $(mode()); }
  default int getBatchSize() { return (Integer) $(batchSize()); }
  default int getLocalSteps() { return (Integer) $(localSteps()); }
  default int getMaxEpochs() { return (Integer) $(maxEpochs()); }
  default long getMaxRounds() { return (Long) $(maxRounds()); }
  default long getSeed() { return (Long) $(seed()); }
  default double getValidationFraction() { return (Double) $(validationFraction()); }
  default String getEarlyStoppingMetric() { return $(earlyStoppingMetric()); }
  default int getPatience() { return (Integer) $(patience()); }
  default double getMinDelta() { return (Double) $(minDelta()); }
  default boolean getRestoreBestWeights() { return (Boolean) $(restoreBestWeights()); }
  default String getCheckpointDir() { return $(checkpointDir()); }
  default int getCheckpointInterval() { return (Integer) $(checkpointInterval()); }
  default int getAggregationDepth() { return (Integer) $(aggregationDepth()); }
  default boolean getStandardization() { return (Boolean) $(standardization()); }
  default String[] getCategoricalCols() { return $(categoricalCols()).clone(); }
  default int[] getEmbeddingDims() { return $(embeddingDims()).clone(); }
  default int[] getEmbeddingBuckets() { return $(embeddingBuckets()).clone(); }
  default String getEmbeddingCombiner() { return $(embeddingCombiner()); }
  default int getPretrainEpochs() { return (Integer) $(pretrainEpochs()); }
  default String getPretrainNoise() { return $(pretrainNoise()); }
  default int getPretrainBatchSize() { return (Integer) $(pretrainBatchSize()); }
}
