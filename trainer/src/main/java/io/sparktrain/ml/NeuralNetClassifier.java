package io.sparktrain.ml;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.train.Teacher;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.StructType;

/**
 * A feed-forward neural-network classifier trained with sparktrain's round loop, as a Spark ML
 * {@code Estimator}: hidden dense layers, then an output layer of K softmax units trained with
 * softmax cross-entropy, where K is {@code numClasses} or (when 0) the largest label + 1, at
 * least 2, as in MLlib's MultilayerPerceptronClassifier.
 *
 * <p>Params and defaults (all with public accessors, getters and setters):
 * <table>
 *   <caption>Params</caption>
 *   <tr><td>featuresCol</td><td>"features"</td><td>Vector or array&lt;float|double&gt;</td></tr>
 *   <tr><td>labelCol</td><td>"label"</td><td>numeric class index 0..K-1</td></tr>
 *   <tr><td>weightCol</td><td>unset</td><td>optional numeric weights &gt;= 0</td></tr>
 *   <tr><td>predictionCol / rawPredictionCol / probabilityCol</td>
 *       <td>"prediction" / "rawPrediction" / "probability"</td><td>"" = not output</td></tr>
 *   <tr><td>numClasses</td><td>0</td><td>0 = infer</td></tr>
 *   <tr><td>hiddenLayers</td><td>[64]</td><td>units per hidden layer</td></tr>
 *   <tr><td>activation</td><td>"relu"</td><td>hidden activation ({@link Activation#parse})</td></tr>
 *   <tr><td>dropout</td><td>0.0</td><td>after each hidden layer</td></tr>
 *   <tr><td>optimizer</td><td>"adam"</td><td>adam, sgd, adamw, lazy_adam</td></tr>
 *   <tr><td>learningRate, beta1, beta2, momentum</td><td>0.001, 0.9, 0.999, 0.0</td><td></td></tr>
 *   <tr><td>weightDecay, clipNorm, l2</td><td>0.0, 0.0, 0.0</td><td>clipNorm 0 = off; weightDecay
 *       not set: 0.01 for adamw</td></tr>
 *   <tr><td>mode</td><td>"sync"</td><td>sync, average</td></tr>
 *   <tr><td>batchSize, localSteps</td><td>128, 1</td><td></td></tr>
 *   <tr><td>maxEpochs, maxRounds</td><td>10, 0</td><td>maxRounds 0 = no limit</td></tr>
 *   <tr><td>seed</td><td>42</td><td></td></tr>
 *   <tr><td>validationFraction</td><td>0.0</td><td>held out with randomSplit(seed); 0 = none</td></tr>
 *   <tr><td>earlyStoppingMetric, patience, minDelta, restoreBestWeights</td><td>"", 3, 0.0, true</td>
 *       <td>"" = off</td></tr>
 *   <tr><td>checkpointDir, checkpointInterval</td><td>"", 1</td><td>interval in epochs</td></tr>
 *   <tr><td>aggregationDepth</td><td>2</td><td>treeAggregate depth</td></tr>
 * </table>
 * A bad value fails in the setter with an {@link IllegalArgumentException} naming the param, the
 * expected and the found value.
 */
public final class NeuralNetClassifier extends NeuralNetEstimator<NeuralNetClassificationModel, NeuralNetClassifier>
    implements NeuralNetClassifierParams {
  private static final long serialVersionUID = 1L;

  public NeuralNetClassifier(String uid) {
    super(uid, NeuralNetParamSet.Task.CLASSIFIER);
  }

  public NeuralNetClassifier() {
    this(Identifiable.randomUID("nnClassifier"));
  }

  public NeuralNetClassifier setRawPredictionCol(String v) { return put(rawPredictionCol(), v); }
  public NeuralNetClassifier setProbabilityCol(String v) { return put(probabilityCol(), v); }
  /** Number of classes; 0 = infer from the labels. */
  public NeuralNetClassifier setNumClasses(int v) { return put(numClasses(), v); }
  /**
   * Knowledge distillation (Hinton et al. 2015) from the classification model saved in {@code dir}
   * ("" = off): the loss becomes {@code alpha T^2 KL(teacher_T || student_T) + (1 - alpha) CE(label)}.
   * The teacher takes the same features (its own standardization is applied) and has as many classes;
   * its parameters are broadcast once and its soft targets computed per mini-batch on the executors.
   */
  public NeuralNetClassifier setDistillationTeacher(String dir) { return put(distillationTeacher(), dir); }
  /** Distillation's temperature T (default 1). */
  public NeuralNetClassifier setDistillationTemperature(double v) { return put(distillationTemperature(), v); }
  /** Distillation's soft-loss weight alpha in [0, 1] (default 0.5). */
  public NeuralNetClassifier setDistillationAlpha(double v) { return put(distillationAlpha(), v); }

  @Override
  public StructType transformSchema(StructType schema) {
    String who = getClass().getSimpleName();
    if (usesFeaturesCol(schema)) {
      Schemas.checkFeatures(schema, getFeaturesCol(), who);
    }
    checkCategorical(schema);
    Schemas.checkNumeric(schema, getLabelCol(), who, "labelCol", "a numeric class index 0..K-1");
    if (!getWeightCol().isEmpty()) {
      Schemas.checkNumeric(schema, getWeightCol(), who, "weightCol", "a numeric weight");
    }
    return NeuralNetClassificationModel.addOutputs(schema, this, who);
  }

  @Override
  InputSpec baseSpec() {
    InputSpec s = InputSpec.classification(getFeaturesCol(), getLabelCol());
    return getNumClasses() > 0 ? s.withNumClasses(getNumClasses()) : s;
  }

  @Override
  int outputs(TrainingData train, TrainingData validation) {
    if (getNumClasses() > 0) {
      return getNumClasses();
    }
    return Math.max(train.numClasses(), validation == null ? 0 : validation.numClasses());
  }

  @Override
  Network.Builder outputLayer(Network.Builder b, int outputs) {
    return b.dense(outputs, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY);
  }

  @Override
  Teacher teacher() {
    String dir = getDistillationTeacher();
    if (dir.isEmpty()) {
      return null;
    }
    NeuralNetClassificationModel m = NeuralNetClassificationModel.load(dir);
    return Teacher.of(m.network(), m.parameters(), m.inputScaling(), (float) getDistillationTemperature(),
        (float) getDistillationAlpha(), dir);
  }

  @Override
  NeuralNetClassificationModel newModel(Network net, float[] params) {
    return new NeuralNetClassificationModel(uid(), net, params);
  }

  public static MLReader<NeuralNetClassifier> read() {
    return new Reader<>(NeuralNetClassifier.class);
  }

  public static NeuralNetClassifier load(String path) {
    return read().load(path);
  }
}
