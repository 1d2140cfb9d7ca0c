package io.sparktrain.ml;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Loss;
import java.io.Serializable;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;

/**
 * The {@link Param} objects of one estimator or model instance, created once its uid is known,
 * with their validators and defaults (set here, once). The params are exposed through the
 * accessor methods of {@link NeuralNetParams}, {@link NeuralNetClassifierParams} and
 * {@link NeuralNetRegressorParams}, which is where Spark's reflection finds them; task-specific
 * params are created only for their task (a param without an accessor must not have a default,
 * or loading saved metadata would fail).
 */
public final class NeuralNetParamSet implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Which task-specific params to create. */
  public enum Task { CLASSIFIER, REGRESSOR }

  static final String[] OPTIMIZERS = {"adam", "sgd", "adamw", "lazy_adam"};
  static final String[] MODES = {"sync", "average"};

  // Columns.
  final Param<String> featuresCol;
  final Param<String> labelCol;
  final Param<String> weightCol;
  final Param<String> predictionCol;
  final Param<String> rawPredictionCol;
  final Param<String> probabilityCol;
  final IntParam numClasses;
  // Distillation (classifiers).
  final Param<String> distillationTeacher;
  final DoubleParam distillationTemperature;
  final DoubleParam distillationAlpha;
  // Architecture.
  final IntArrayParam hiddenLayers;
  final Param<String> activation;
  final DoubleParam dropout;
  final Param<String> loss;
  // Optimizer.
  final Param<String> optimizer;
  final DoubleParam learningRate;
  final DoubleParam beta1;
  final DoubleParam beta2;
  final DoubleParam momentum;
  final DoubleParam weightDecay;
  final DoubleParam clipNorm;
  final DoubleParam l2;
  // Round loop.
  final Param<String> mode;
  final IntParam batchSize;
  final IntParam localSteps;
  final IntParam maxEpochs;
  final LongParam maxRounds;
  final LongParam seed;
  final DoubleParam validationFraction;
  final Param<String> earlyStoppingMetric;
  final IntParam patience;
  final DoubleParam minDelta;
  final BooleanParam restoreBestWeights;
  final Param<String> checkpointDir;
  final IntParam checkpointInterval;
  final IntParam aggregationDepth;
  final BooleanParam standardization;
  final StringArrayParam categoricalCols;
  final IntArrayParam embeddingDims;
  final IntArrayParam embeddingBuckets;
  final Param<String> embeddingCombiner;
  // Pretraining.
  final IntParam pretrainEpochs;
  final Param<String> pretrainNoise;
  final IntParam pretrainBatchSize;

  NeuralNetParamSet(Params owner, Task task) {
    String who = owner.getClass().getSimpleName();
    featuresCol = new Param<>(owner, "featuresCol", "features column: a Vector or array<float|double>",
        new Check<String>(who, "featuresCol", "a non-empty column name", s -> !s.isEmpty()));
    labelCol = new Param<>(owner, "labelCol", task == Task.CLASSIFIER
        ? "label column: a numeric class index 0..K-1"
        : "label column: a numeric target, or an array/Vector of targets (multi-output)",
        new Check<String>(who, "labelCol", "a non-empty column name", s -> !s.isEmpty()));
    weightCol = new Param<>(owner, "weightCol", "optional weight column (numeric, >= 0); unset or empty = all 1");
    predictionCol = new Param<>(owner, "predictionCol", task == Task.CLASSIFIER
        ? "prediction column: the argmax class as a double (empty = do not output)"
        : "prediction column: a double for one output, a Vector for several (empty = do not output)");
    if (task == Task.CLASSIFIER) {
      rawPredictionCol = new Param<>(owner, "rawPredictionCol",
          "raw prediction column: the logits as a Vector (empty = do not output)");
      probabilityCol = new Param<>(owner, "probabilityCol",
          "probability column: the softmax of the logits as a Vector (empty = do not output)");
      numClasses = new IntParam(owner, "numClasses", "number of classes K (labels 0..K-1); 0 = infer from"
          + " the largest label (at least 2)", new Check<Object>(who, "numClasses", "0 (infer) or >= 2",
          v -> (Integer) v == 0 || (Integer) v >= 2));
      distillationTeacher = new Param<>(owner, "distillationTeacher", "knowledge distillation: the directory of a"
          + " saved NeuralNetClassificationModel whose soft targets the network learns besides the labels (empty ="
          + " off)", new Check<String>(who, "distillationTeacher", "a model directory, or empty for none",
          s -> s != null));
      distillationTemperature = doubleParam(owner, who, "distillationTemperature", "distillation: the softmax"
          + " temperature T of teacher and student", "a finite value > 0", v -> v > 0 && Double.isFinite(v));
      distillationAlpha = doubleParam(owner, who, "distillationAlpha", "distillation: the weight a of the soft"
          + " loss in a T^2 KL(teacher_T || student_T) + (1 - a) CE(label)", "0 <= alpha <= 1", v -> v >= 0 && v <= 1);
      loss = null;
    } else {
      rawPredictionCol = null;
      probabilityCol = null;
      numClasses = null;
      distillationTeacher = null;
      distillationTemperature = null;
      distillationAlpha = null;
      loss = new Param<>(owner, "loss", "regression loss: mse, mae, huber or huber(delta)",
          new Check<String>(who, "loss", "one of mse, mae, huber, huber(delta)", s -> {
            Loss.Kind k = Loss.parse(s).kind();
            return k == Loss.Kind.MSE || k == Loss.Kind.MAE || k == Loss.Kind.HUBER;
          }));
    }
    hiddenLayers = new IntArrayParam(owner, "hiddenLayers", "units of each hidden dense layer (may be empty"
        + " for a linear model)", new Check<int[]>(who, "hiddenLayers", "layer sizes >= 1", a -> {
          for (int u : a) {
            if (u < 1) {
              return false;
            }
          }
          return true;
        }));
    activation = new Param<>(owner, "activation", "activation of the hidden layers: identity, relu,"
        + " leaky_relu, leaky_relu(alpha), sigmoid, tanh, gelu", new Check<String>(who, "activation",
        "one of identity, relu, leaky_relu, leaky_relu(alpha), sigmoid, tanh, gelu",
        s -> Activation.parse(s).kind() != Activation.Kind.SOFTMAX));
    dropout = doubleParam(owner, who, "dropout", "dropout rate after each hidden layer, in training",
        "0 <= dropout < 1", v -> v >= 0 && v < 1);
    optimizer = new Param<>(owner, "optimizer", "optimizer: adam, sgd, adamw or lazy_adam", new Check<String>(who,
        "optimizer", "one of adam, sgd, adamw, lazy_adam", s -> contains(OPTIMIZERS, s)));
    learningRate = doubleParam(owner, who, "learningRate", "learning rate", "a finite value > 0",
        v -> v > 0 && Double.isFinite(v));
    beta1 = doubleParam(owner, who, "beta1", "Adam/AdamW first-moment decay", "0 <= beta1 < 1",
        v -> v >= 0 && v < 1);
    beta2 = doubleParam(owner, who, "beta2", "Adam/AdamW second-moment decay", "0 <= beta2 < 1",
        v -> v >= 0 && v < 1);
    momentum = doubleParam(owner, who, "momentum", "SGD momentum (0 = plain SGD)", "0 <= momentum < 1",
        v -> v >= 0 && v < 1);
    weightDecay = doubleParam(owner, who, "weightDecay", "weight decay: decoupled for adamw, added to the"
        + " gradient for sgd and adam; when not set, 0 for sgd and adam and 0.01 for adamw", "a finite value >= 0",
        v -> v >= 0 && Double.isFinite(v));
    clipNorm = doubleParam(owner, who, "clipNorm", "global gradient-norm clipping threshold (0 = off)",
        "a finite value >= 0", v -> v >= 0 && Double.isFinite(v));
    l2 = doubleParam(owner, who, "l2", "L2 penalty on the kernels (not the biases)", "a finite value >= 0",
        v -> v >= 0 && Double.isFinite(v));
    mode = new Param<>(owner, "mode", "round mode: sync (one step per global mini-batch) or average"
        + " (local steps, averaged)", new Check<String>(who, "mode", "one of sync, average",
        s -> contains(MODES, s)));
    batchSize = intParam(owner, who, "batchSize", "sync: the global mini-batch; average: each partition's"
        + " local mini-batch (0 = auto: rows / 16, clamped to 16..128)", ">= 1, or 0 = auto", v -> v >= 0);
    localSteps = intParam(owner, who, "localSteps", "average mode: local steps per round", ">= 1", v -> v >= 1);
    maxEpochs = intParam(owner, who, "maxEpochs", "number of epochs (0 = auto: at least 1000 optimizer steps,"
        + " 10 to 200 epochs, stopping on a training-loss plateau)", ">= 1, or 0 = auto", v -> v >= 0);
    maxRounds = new LongParam(owner, "maxRounds", "stop after this many rounds (0 = no limit)",
        new Check<Object>(who, "maxRounds", ">= 0 (0 = no limit)", v -> (Long) v >= 0));
    seed = new LongParam(owner, "seed", "random seed: initialisation, shuffling, dropout, validation split");
    validationFraction = doubleParam(owner, who, "validationFraction", "fraction of the input held out"
        + " (randomSplit with the seed) for validation after each epoch; 0 = none",
        "0 <= validationFraction < 1", v -> v >= 0 && v < 1);
    earlyStoppingMetric = new Param<>(owner, "earlyStoppingMetric", "validation metric watched by early"
        + " stopping, e.g. val_loss (empty = off); needs validationFraction > 0",
        new Check<String>(who, "earlyStoppingMetric", "empty (off) or a validation metric such as val_loss",
            s -> s.isEmpty() || s.startsWith("val_")));
    patience = intParam(owner, who, "patience", "early stopping: epochs without improvement before stopping",
        ">= 1", v -> v >= 1);
    minDelta = doubleParam(owner, who, "minDelta", "early stopping: the smallest change that counts as an"
        + " improvement", "a finite value >= 0", v -> v >= 0 && Double.isFinite(v));
    restoreBestWeights = new BooleanParam(owner, "restoreBestWeights", "early stopping: return the"
        + " parameters of the best epoch");
    checkpointDir = new Param<>(owner, "checkpointDir", "checkpoint directory, any Hadoop FileSystem URI"
        + " (empty = no checkpoints)");
    checkpointInterval = intParam(owner, who, "checkpointInterval", "checkpoint every this many epochs"
        + " (with checkpointDir)", ">= 1", v -> v >= 1);
    aggregationDepth = intParam(owner, who, "aggregationDepth", "treeAggregate depth of each round", ">= 1",
        v -> v >= 1);
    standardization = new BooleanParam(owner, "standardization", "standardize the features inside the model"
        + " (means and variances of the training data; sparse vectors are scaled, not centred); the model applies"
        + " it in transform");

    categoricalCols = new StringArrayParam(owner, "categoricalCols", "categorical columns (integer ids, strings,"
        + " booleans or arrays of them), each into its own embedding table whose outputs join the features");
    embeddingDims = new IntArrayParam(owner, "embeddingDims", "the embedding size of each categorical column (one"
        + " value: all of them)", new Check<int[]>(who, "embeddingDims", "sizes >= 1", a -> allAtLeast(a, 1)));
    embeddingBuckets = new IntArrayParam(owner, "embeddingBuckets", "the table rows of each categorical column, the"
        + " last of them for out-of-vocabulary values (one value: all of them)",
        new Check<int[]>(who, "embeddingBuckets", "bucket counts >= 2", a -> allAtLeast(a, 2)));
    embeddingCombiner = new Param<>(owner, "embeddingCombiner", "how an array column's rows combine: mean or sum",
        new Check<String>(who, "embeddingCombiner", "mean or sum", s -> s.equals("mean") || s.equals("sum")));

    pretrainEpochs = intParam(owner, who, "pretrainEpochs", "self-supervised pretraining of the hidden layers before"
        + " the supervised epochs: epochs of a denoising autoencoder (the hidden layers and a mirrored decoder"
        + " reconstruct the rows' features from corrupted copies, MSE, labels not read) on setPretrainData's rows,"
        + " else the training rows; 0 = off", ">= 0 (0 = off)", v -> v >= 0);
    pretrainNoise = new Param<>(owner, "pretrainNoise", "pretraining's corruption: masking(p) (each value set to 0"
        + " with probability p) or gaussian(s) (N(0, s^2) added), on the standardized features when standardizing",
        new Check<String>(who, "pretrainNoise", Corruption.FORMS, s -> Corruption.parse(s) != null));
    pretrainBatchSize = intParam(owner, who, "pretrainBatchSize", "pretraining's mini-batch (0 = batchSize)",
        ">= 1, or 0 = batchSize", v -> v >= 0);

    owner.setDefault(featuresCol, "features");
    owner.setDefault(categoricalCols, new String[0]);
    owner.setDefault(embeddingDims, new int[] {16});
    owner.setDefault(embeddingBuckets, new int[0]);
    owner.setDefault(embeddingCombiner, "mean");
    owner.setDefault(labelCol, "label");
    owner.setDefault(predictionCol, "prediction");
    if (task == Task.CLASSIFIER) {
      owner.setDefault(rawPredictionCol, "rawPrediction");
      owner.setDefault(probabilityCol, "probability");
      owner.setDefault(numClasses, 0);
      owner.setDefault(distillationTeacher, "");
      owner.setDefault(distillationTemperature, 1.0);
      owner.setDefault(distillationAlpha, 0.5);
    } else {
      owner.setDefault(loss, "mse");
    }
    owner.setDefault(hiddenLayers, new int[] {64});
    owner.setDefault(activation, "relu");
    owner.setDefault(dropout, 0.0);
    owner.setDefault(optimizer, "adam");
    owner.setDefault(learningRate, 0.001);
    owner.setDefault(beta1, 0.9);
    owner.setDefault(beta2, 0.999);
    owner.setDefault(momentum, 0.0);
    owner.setDefault(weightDecay, 0.0);
    owner.setDefault(clipNorm, 0.0);
    owner.setDefault(l2, 0.0);
    owner.setDefault(mode, "sync");
    owner.setDefault(batchSize, 128);
    owner.setDefault(localSteps, 1);
    owner.setDefault(maxEpochs, 10);
    owner.setDefault(maxRounds, 0L);
    owner.setDefault(seed, 42L);
    owner.setDefault(validationFraction, 0.0);
    owner.setDefault(earlyStoppingMetric, "");
    owner.setDefault(patience, 3);
    owner.setDefault(minDelta, 0.0);
    owner.setDefault(restoreBestWeights, true);
    owner.setDefault(checkpointDir, "");
    owner.setDefault(checkpointInterval, 1);
    owner.setDefault(aggregationDepth, 2);
    owner.setDefault(standardization, true);
    owner.setDefault(pretrainEpochs, 0);
    owner.setDefault(pretrainNoise, "masking(0.2)");
    owner.setDefault(pretrainBatchSize, 0);
  }

  private static boolean allAtLeast(int[] a, int min) {
    for (int v : a) {
      if (v < min) {
        return false;
      }
    }
    return true;
  }

  private static boolean contains(String[] values, String s) {
    for (String v : values) {
      if (v.equals(s)) {
        return true;
      }
    }
    return false;
  }

  private interface DoubleTest extends Serializable {
    boolean ok(double v);
  }

  private interface IntTest extends Serializable {
    boolean ok(int v);
  }

  private static DoubleParam doubleParam(Params owner, String who, String name, String doc, String expected,
      DoubleTest t) {
    return new DoubleParam(owner, name, doc, new Check<Object>(who, name, expected, v -> t.ok((Double) v)));
  }

  private static IntParam intParam(Params owner, String who, String name, String doc, String expected, IntTest t) {
    return new IntParam(owner, name, doc, new Check<Object>(who, name, expected, v -> t.ok((Integer) v)));
  }

}
