package io.sparktrain.ml;

import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Embedding;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.Mode;
import io.sparktrain.train.Pretraining;
import io.sparktrain.train.Teacher;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.TrainResult;
import io.sparktrain.train.Trainer;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * The shared part of {@link NeuralNetClassifier} and {@link NeuralNetRegressor}: setters, and a
 * {@link #fit} that builds an {@link InputSpec}, a {@link Network} and a {@link TrainConfig} from
 * the params, decodes the DataFrame ({@link TrainingData}, released at the end), runs the
 * {@link Trainer} and wraps the result in a model.
 *
 * @param <M> the model type
 * @param <S> the concrete estimator type (returned by the setters)
 */
public abstract class NeuralNetEstimator<M extends NeuralNetModel<M>, S extends NeuralNetEstimator<M, S>>
    extends Estimator<M> implements NeuralNetParams, DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final NeuralNetParamSet paramSet;
  /** Pretraining's unlabeled rows, or null (the training rows); not a param: not saved, carried by copy. */
  private transient Dataset<?> pretrainData;

  NeuralNetEstimator(String uid, NeuralNetParamSet.Task task) {
    this.uid = uid;
    this.paramSet = new NeuralNetParamSet(this, task);
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public NeuralNetParamSet paramSet() {
    return paramSet;
  }

  @SuppressWarnings("unchecked")
  final S self() {
    return (S) this;
  }

  final S put(Param<?> p, Object v) {
    set(p.name(), v);
    return self();
  }

  public S setFeaturesCol(String v) { return put(featuresCol(), v); }
  public S setLabelCol(String v) { return put(labelCol(), v); }
  /** Optional numeric weight column (>= 0); "" = no weights. */
  public S setWeightCol(String v) { return put(weightCol(), v); }
  public S setPredictionCol(String v) { return put(predictionCol(), v); }
  public S setHiddenLayers(int... v) { return put(hiddenLayers(), v); }
  public S setActivation(String v) { return put(activation(), v); }
  public S setDropout(double v) { return put(dropout(), v); }
  public S setOptimizer(String v) { return put(optimizer(), v); }
  public S setLearningRate(double v) { return put(learningRate(), v); }
  public S setBeta1(double v) { return put(beta1(), v); }
  public S setBeta2(double v) { return put(beta2(), v); }
  public S setMomentum(double v) { return put(momentum(), v); }
  public S setWeightDecay(double v) { return put(weightDecay(), v); }
  public S setClipNorm(double v) { return put(clipNorm(), v); }
  public S setL2(double v) { return put(l2(), v); }
  public S setMode(String v) { return put(mode(), v); }
  public S setBatchSize(int v) { return put(batchSize(), v); }
  public S setLocalSteps(int v) { return put(localSteps(), v); }
  public S setMaxEpochs(int v) { return put(maxEpochs(), v); }
  public S setMaxRounds(long v) { return put(maxRounds(), v); }
  public S setSeed(long v) { return put(seed(), v); }
  public S setValidationFraction(double v) { return put(validationFraction(), v); }
  public S setEarlyStoppingMetric(String v) { return put(earlyStoppingMetric(), v); }
  public S setPatience(int v) { return put(patience(), v); }
  public S setMinDelta(double v) { return put(minDelta(), v); }
  public S setRestoreBestWeights(boolean v) { return put(restoreBestWeights(), v); }
  public S setCheckpointDir(String v) { return put(checkpointDir(), v); }
  public S setCheckpointInterval(int v) { return put(checkpointInterval(), v); }
  public S setAggregationDepth(int v) { return put(aggregationDepth(), v); }
  /**
   * Standardize the features inside the model (default true): means and variances from one pass over
   * the training data, stored in the model and applied by its transform; sparse vectors are scaled
   * but not centred. False = the raw features reach the first layer.
   */
  public S setStandardization(boolean v) { return put(standardization(), v); }
  /**
   * Categorical columns (integer ids such as StringIndexer's, strings, booleans, or arrays of them),
   * each into its own embedding table; the tables' outputs join the numeric features before the first
   * hidden layer. Without a {@code featuresCol} column in the data, the categorical columns are the
   * only inputs.
   */
  public S setCategoricalCols(String... v) { return put(categoricalCols(), v); }
  /** The embedding size of each categorical column, or one size for all (default 16). */
  public S setEmbeddingDims(int... v) { return put(embeddingDims(), v); }
  /**
   * The table rows of each categorical column, or one count for all (required with categoricalCols):
   * ids 0..buckets-2 keep their row, strings hash into them, and row buckets-1 takes nulls and
   * out-of-range ids.
   */
  public S setEmbeddingBuckets(int... v) { return put(embeddingBuckets(), v); }
  /** How the rows of an array column's values combine: mean (default) or sum. */
  public S setEmbeddingCombiner(String v) { return put(embeddingCombiner(), v); }
  /**
   * Self-supervised pretraining (default 0 = off): before the supervised epochs, the hidden layers and a
   * mirrored decoder learn for this many epochs to reconstruct rows from corrupted copies
   * ({@link #setPretrainNoise}), MSE, in the same mode and engine ({@link Pretraining}); the supervised
   * epochs then start from the pretrained hidden layers and a fresh output layer. Labels are not read.
   * With standardization, the means and variances come from the pretraining rows and the model keeps
   * them. Dense numeric features only (no categorical columns, no sparse vectors).
   */
  public S setPretrainEpochs(int v) { return put(pretrainEpochs(), v); }
  /** Pretraining's noise: {@code masking(p)} (default masking(0.2)) or {@code gaussian(s)}. */
  public S setPretrainNoise(String v) { return put(pretrainNoise(), v); }
  /** Pretraining's mini-batch size (default 0 = {@link #setBatchSize}'s): the unlabeled rows are often many more. */
  public S setPretrainBatchSize(int v) { return put(pretrainBatchSize(), v); }
  /**
   * The rows pretraining learns from (default: the training rows): typically many more than the
   * labeled ones. Only the features column is read (no label or weight column needed). Not a param:
   * it is not saved with the estimator; {@link #copy} carries it.
   */
  public S setPretrainData(Dataset<?> unlabeled) {
    pretrainData = unlabeled;
    return self();
  }

  /** The rows set by {@link #setPretrainData}, or null. */
  public Dataset<?> getPretrainData() {
    return pretrainData;
  }

  /** The categorical columns the params describe, in table order. */
  public List<CategoricalColumn> categoricalColumns() {
    String who = getClass().getSimpleName();
    String[] cols = getCategoricalCols();
    int[] dims = getEmbeddingDims();
    int[] buckets = getEmbeddingBuckets();
    List<CategoricalColumn> out = new ArrayList<>();
    if (cols.length == 0) {
      return out;
    }
    if (dims.length != 1 && dims.length != cols.length) {
      throw new IllegalArgumentException(who + " param 'embeddingDims': expected 1 or " + cols.length + " values (one"
          + " per categorical column), found " + dims.length);
    }
    if (buckets.length != 1 && buckets.length != cols.length) {
      throw new IllegalArgumentException(who + " param 'embeddingBuckets': expected 1 or " + cols.length + " values"
          + " (one per categorical column " + Arrays.toString(cols) + "), found " + buckets.length);
    }
    Embedding.Combiner combiner = Embedding.Combiner.parse(getEmbeddingCombiner());
    for (int c = 0; c < cols.length; c++) {
      out.add(new CategoricalColumn(cols[c], buckets[buckets.length == 1 ? 0 : c], dims[dims.length == 1 ? 0 : c],
          combiner));
    }
    return out;
  }

  /** Whether the numeric features column is read: always, unless categorical columns are set and it is absent. */
  boolean usesFeaturesCol(StructType schema) {
    return getCategoricalCols().length == 0 || schema.getFieldIndex(getFeaturesCol()).isDefined();
  }

  /** Checks the categorical columns' params and that the columns exist with a type they can have. */
  void checkCategorical(StructType schema) {
    Schemas.checkCategorical(schema, categoricalColumns(), getClass().getSimpleName(), "categoricalCols");
  }

  /** The label/task part of the input spec (features and label columns, classes). */
  abstract InputSpec baseSpec();

  /** Output units for the decoded data. */
  abstract int outputs(TrainingData train, TrainingData validation);

  /** Adds the output layer and the loss. */
  abstract Network.Builder outputLayer(Network.Builder b, int outputs);

  abstract M newModel(Network net, float[] params);

  /** Knowledge distillation's teacher, loaded from the params, or null (the default: none). */
  Teacher teacher() {
    return null;
  }

  @Override
  public M fit(Dataset<?> dataset) {
    Pretraining pretraining = pretraining(); // its params fail before the data is looked at
    transformSchema(dataset.schema());
    String who = getClass().getSimpleName();
    double fraction = getValidationFraction();
    String metric = getEarlyStoppingMetric();
    if (!metric.isEmpty() && fraction <= 0) {
      throw new IllegalArgumentException(who + " param 'earlyStoppingMetric': '" + metric + "' needs validation"
          + " data; expected validationFraction > 0, found " + fraction);
    }
    List<CategoricalColumn> cats = categoricalColumns();
    InputSpec spec = baseSpec().withCategorical(cats);
    if (!usesFeaturesCol(dataset.schema())) {
      spec = spec.withFeatureColumns();
    }
    if (!getWeightCol().isEmpty()) {
      spec = spec.withWeightCol(getWeightCol());
    }
    Dataset<Row> df = dataset.toDF();
    Dataset<Row> trainDf = df;
    Dataset<Row> valDf = null;
    if (fraction > 0) {
      Dataset<Row>[] parts = df.randomSplit(new double[] {1 - fraction, fraction}, getSeed());
      trainDf = parts[0];
      valDf = parts[1];
    }
    Teacher teacher = teacher(); // a missing or unreadable teacher fails before the data is read
    TrainingData train = TrainingData.decode(trainDf, spec);
    TrainingData val = null;
    TrainingData unlabeled = null;
    try {
      if (valDf != null) {
        val = TrainingData.decode(valDf, spec.withNumFeatures(train.numFeatures()));
      }
      Network net = buildNetwork(train.numFeatures(), outputs(train, val));
      TrainConfig config = trainConfig();
      if (teacher != null) {
        config = config.toBuilder().teacher(teacher).build();
      }
      TrainResult result;
      List<Double> pretrainLosses = List.of();
      if (pretraining != null) {
        if (pretrainData != null) {
          unlabeled = TrainingData.decode(pretrainData.toDF(), spec.unlabeled().withNumFeatures(train.numFeatures()),
              "pretraining");
        }
        Pretraining.Result pre = pretraining.run(net, config, unlabeled != null ? unlabeled : train);
        pretrainLosses = pre.losses();
        result = new Trainer(net, config).fit(train, val, pre.initialParams(), pre.inputScaling());
      } else {
        result = new Trainer(net, config).fit(train, val);
      }
      M model = newModel(net, result.params()).withInputScaling(result.inputScaling())
          .withCategoricalColumns(train.spec().categorical()); // with the kinds of values decoding saw
      model.setSummary(new NeuralNetTrainingSummary(result, train.rows(), val == null ? 0 : val.rows(),
          pretrainLosses));
      return copyValues(model, ParamMap.empty()).setParent(this);
    } finally {
      train.unpersist();
      if (val != null) {
        val.unpersist();
      }
      if (unlabeled != null) {
        unlabeled.unpersist();
      }
    }
  }

  /** The pretraining the params ask for, or null (pretrainEpochs 0); refused with categorical columns. */
  Pretraining pretraining() {
    if (getPretrainEpochs() == 0) {
      return null;
    }
    if (getCategoricalCols().length > 0) {
      throw new IllegalArgumentException(getClass().getSimpleName() + " param 'pretrainEpochs': expected 0 with"
          + " categoricalCols (embedding tables are not pretrained), found " + getPretrainEpochs());
    }
    return Pretraining.denoisingAutoencoder(getPretrainEpochs(), Corruption.parse(getPretrainNoise()))
        .withBatchSize(getPretrainBatchSize());
  }

  /** The network the params describe, for {@code inputs} features and {@code outputs} output units. */
  public Network buildNetwork(int inputs, int outputs) {
    Activation act = Activation.parse(getActivation());
    float drop = (float) getDropout();
    Network.Builder b = Network.builder(inputs);
    for (CategoricalColumn c : categoricalColumns()) b.embedding(c.embedding());
    for (int units : getHiddenLayers()) {
      b.dense(units, act, drop);
    }
    return outputLayer(b, outputs).build();
  }

  /** The training configuration the params describe. */
  public TrainConfig trainConfig() {
    OptimizerSpec.Builder ob = OptimizerSpec.builder(getOptimizer())
        .learningRate(getLearningRate())
        .beta1(getBeta1())
        .beta2(getBeta2())
        .momentum(getMomentum())
        .clipNorm(getClipNorm());
    if (isSet(weightDecay())) {
      // Unset, each optimizer keeps its own default: 0 for sgd and adam, 0.01 for adamw (PyTorch's).
      ob.weightDecay(getWeightDecay());
    }
    OptimizerSpec opt = ob.build();
    String metric = getEarlyStoppingMetric();
    String dir = getCheckpointDir();
    boolean auto = getMaxEpochs() == TrainConfig.AUTO || getBatchSize() == TrainConfig.AUTO;
    return TrainConfig.builder()
        .mode(getMode().equals("average") ? Mode.AVERAGE : Mode.SYNC)
        // With automatic epochs or batch, small tables also get the driver-local sync engine.
        .syncEngine(auto ? TrainConfig.SyncEngine.AUTO : TrainConfig.SyncEngine.COLLECTIVE)
        .epochs(getMaxEpochs())
        .maxRounds(getMaxRounds())
        .batchSize(getBatchSize())
        .localSteps(getLocalSteps())
        .seed(getSeed())
        .optimizer(opt)
        .l2((float) getL2())
        .aggregationDepth(getAggregationDepth())
        .standardize(getStandardization())
        .checkpointDir(dir.isEmpty() ? null : dir)
        .checkpointEveryEpochs(getCheckpointInterval())
        .earlyStopping(metric.isEmpty() ? null : metric, getPatience(), getMinDelta())
        .restoreBestWeights(getRestoreBestWeights())
        .build();
  }

  @Override
  public S copy(ParamMap extra) {
    S c = defaultCopy(extra);
    c.setPretrainData(pretrainData);
    return c;
  }

  /**
   * Reads an estimator saved with {@code write().save(path)}: DefaultParamsWriter metadata, checked
   * to be of class {@code cls}.
   */
  static final class Reader<T extends Params> extends MLReader<T> {
    private final Class<T> cls;

    Reader(Class<T> cls) {
      this.cls = cls;
    }

    @Override
    public T load(String path) {
      DefaultParamsReader.Metadata md = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(),
          cls.getName());
      T instance;
      try {
        instance = cls.getConstructor(String.class).newInstance(md.uid());
      } catch (NoSuchMethodException | InstantiationException | IllegalAccessException
          | InvocationTargetException e) {
        throw new IllegalStateException(cls.getName() + ": cannot instantiate with uid " + md.uid(), e);
      }
      md.getAndSetParams(instance, Option.empty());
      return instance;
    }
  }
}
