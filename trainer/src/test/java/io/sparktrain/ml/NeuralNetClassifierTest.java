package io.sparktrain.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.testing.Spark;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.functions;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class NeuralNetClassifierTest {
  private static SparkSession spark;
  private static Dataset<Row> train;
  private static Dataset<Row> test;
  private static Pipeline pipeline;
  private static PipelineModel fitted;
  private static Dataset<Row> scored;
  private static Dataset<Row> trainArrays;
  private static Dataset<Row> testArrays;

  static NeuralNetClassifier classifier() {
    return new NeuralNetClassifier().setHiddenLayers(16).setLearningRate(0.03).setBatchSize(64).setMaxEpochs(6)
        .setSeed(3);
  }

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "NeuralNetClassifierTest");
    train = MlData.blobs(spark, 300, 1, 2).cache();
    test = MlData.blobs(spark, 150, 2, 2).cache();
    pipeline = new Pipeline().setStages(new PipelineStage[] {
        new VectorAssembler().setInputCols(MlData.COLS).setOutputCol("raw"),
        new StandardScaler().setInputCol("raw").setOutputCol("features"),
        classifier()});
    fitted = pipeline.fit(train);
    scored = fitted.transform(test).cache();
    // The same data with the features as array<double> (standardised by the pipeline's scaler).
    trainArrays = asArrays(fitted.stages()[1].transform(fitted.stages()[0].transform(train))).cache();
    testArrays = asArrays(fitted.stages()[1].transform(fitted.stages()[0].transform(test))).cache();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static NeuralNetClassificationModel nnModel(PipelineModel pm) {
    return (NeuralNetClassificationModel) pm.stages()[2];
  }

  @Test
  void pipelineLearnsThreeBlobs() {
    double acc = MlData.accuracy(scored);
    assertTrue(acc > 0.9, "test accuracy " + acc);
    NeuralNetClassificationModel m = nnModel(fitted);
    assertEquals(3, m.getNumClasses());
    assertEquals(4, m.numFeatures());
    assertArrayEquals(new int[] {16}, m.getHiddenLayers());
    assertEquals(0.03, m.getLearningRate());
    assertTrue(m.hasParent());
    NeuralNetTrainingSummary s = m.summary();
    assertEquals(6, s.epochs());
    assertEquals(300, s.trainRows());
    assertEquals("epochs", s.stopReason());
    double[] loss = s.lossHistory();
    assertEquals(6, loss.length);
    assertTrue(loss[5] < loss[0], "training loss must fall: " + Arrays.toString(loss));
    assertEquals(6 * 5, s.history("round").size()); // ceil(300 / 64) rounds per epoch
    List<String> cols = Arrays.asList(scored.columns());
    assertEquals(List.of("rawPrediction", "probability", "prediction"), cols.subList(cols.size() - 3, cols.size()));
  }

  @Test
  void probabilitiesAreTheSoftmaxOfTheLogitsAndTheirArgmaxIsThePrediction() {
    List<Row> rows = scored.select("rawPrediction", "probability", "prediction").collectAsList();
    assertEquals(150, rows.size());
    for (Row r : rows) {
      double[] z = MlData.values(r, "rawPrediction");
      double[] p = MlData.values(r, "probability");
      assertEquals(3, p.length);
      double sum = 0;
      int argmax = 0;
      for (int j = 0; j < p.length; j++) {
        assertTrue(p[j] >= 0 && p[j] <= 1, "probability " + p[j]);
        sum += p[j];
        if (p[j] > p[argmax]) {
          argmax = j;
        }
      }
      assertEquals(1.0, sum, 1e-5);
      assertEquals(argmax, r.getDouble(2));
      double max = Arrays.stream(z).max().getAsDouble();
      double norm = Arrays.stream(z).map(v -> Math.exp(v - max)).sum();
      for (int j = 0; j < z.length; j++) assertEquals(Math.exp(z[j] - max) / norm, p[j], 1e-5);
    }
  }

  @Test
  void modelSaveLoadGivesIdenticalPredictions(@TempDir Path dir) throws Exception {
    NeuralNetClassificationModel m = nnModel(fitted);
    String path = dir.resolve("model").toString();
    m.write().save(path);
    NeuralNetClassificationModel loaded = NeuralNetClassificationModel.load(path);
    assertEquals(m.uid(), loaded.uid());
    assertArrayEquals(m.parameters(), loaded.parameters());
    assertEquals(m.network().toString(), loaded.network().toString());
    assertArrayEquals(new int[] {16}, loaded.getHiddenLayers());
    assertEquals(64, loaded.getBatchSize());
    assertFalse(loaded.hasSummary());
    IllegalStateException e = assertThrows(IllegalStateException.class, loaded::summary);
    assertTrue(e.getMessage().contains("no training summary"), e.getMessage());
    Dataset<Row> features = fitted.transform(test).select("features");
    assertSamePredictions(m.transform(features), loaded.transform(features));
    // Saving again over an existing path needs overwrite().
    assertThrows(Exception.class, () -> m.write().save(path));
    m.write().overwrite().save(path);
    // A model directory of another class is refused.
    assertThrows(IllegalArgumentException.class, () -> NeuralNetRegressionModel.load(path));
  }

  @Test
  void pipelineModelAndPipelineSaveLoad(@TempDir Path dir) throws Exception {
    String pmPath = dir.resolve("pipelineModel").toString();
    fitted.write().save(pmPath);
    PipelineModel loaded = PipelineModel.load(pmPath);
    assertTrue(loaded.stages()[2] instanceof NeuralNetClassificationModel);
    assertSamePredictions(fitted.transform(test), loaded.transform(test));

    String pPath = dir.resolve("pipeline").toString();
    pipeline.write().save(pPath);
    NeuralNetClassifier c = (NeuralNetClassifier) Pipeline.load(pPath).getStages()[2];
    NeuralNetClassifier original = (NeuralNetClassifier) pipeline.getStages()[2];
    assertEquals(original.uid(), c.uid());
    assertArrayEquals(new int[] {16}, c.getHiddenLayers());
    assertEquals(0.03, c.getLearningRate());
    assertEquals(6, c.getMaxEpochs());
    assertEquals("adam", c.getOptimizer());
    assertFalse(c.isDefined(c.weightCol()));

    String ePath = dir.resolve("estimator").toString();
    original.copy(new ParamMap()).setOptimizer("sgd").setMomentum(0.9).write().save(ePath);
    NeuralNetClassifier e = NeuralNetClassifier.load(ePath);
    assertEquals("sgd", e.getOptimizer());
    assertEquals(0.9, e.getMomentum());
  }

  private static void assertSamePredictions(Dataset<Row> a, Dataset<Row> b) {
    List<Row> ra = a.select("rawPrediction", "probability", "prediction").collectAsList();
    List<Row> rb = b.select("rawPrediction", "probability", "prediction").collectAsList();
    assertEquals(ra.size(), rb.size());
    for (int i = 0; i < ra.size(); i++) {
      assertArrayEquals(MlData.values(ra.get(i), "rawPrediction"), MlData.values(rb.get(i), "rawPrediction"));
      assertArrayEquals(MlData.values(ra.get(i), "probability"), MlData.values(rb.get(i), "probability"));
      assertEquals(ra.get(i).getDouble(2), rb.get(i).getDouble(2));
    }
  }

  /** The Vector features column replaced by an array<double> column. */
  static Dataset<Row> asArrays(Dataset<Row> df) {
    return df.withColumn("features", functions.vector_to_array(df.col("features"), "float64"));
  }

  @Test
  void arrayFeaturesWork() {
    Dataset<Row> tr = trainArrays;
    assertEquals(new ArrayType(DataTypes.DoubleType, false), tr.schema().apply("features").dataType());
    NeuralNetClassificationModel m = classifier().fit(tr);
    Dataset<Row> out = m.transform(testArrays);
    double acc = MlData.accuracy(out);
    assertTrue(acc > 0.9, "test accuracy with array<double> features " + acc);
  }

  @Test
  void weightColumnIsUsed() {
    // Half of the rows carry a wrong label (k+1 mod 3) and weight 0: only the weights tell them apart.
    Dataset<Row> clean = trainArrays;
    Dataset<Row> poison = clean.withColumn("label", clean.col("label").plus(1).mod(3))
        .withColumn("weight", org.apache.spark.sql.functions.lit(0.0));
    Dataset<Row> mixed = clean.union(poison).coalesce(2).cache();
    NeuralNetClassificationModel weighted = classifier().setWeightCol("weight").setBatchSize(128).fit(mixed);
    assertEquals("weight", weighted.getWeightCol());
    double acc = MlData.accuracy(weighted.transform(testArrays));
    assertTrue(acc > 0.9, "weighted test accuracy " + acc);
    NeuralNetClassificationModel unweighted = classifier().setBatchSize(128).fit(mixed);
    double accU = MlData.accuracy(unweighted.transform(testArrays));
    assertTrue(accU < acc - 0.2, "without weights the poisoned labels must hurt: " + accU + " vs " + acc);
  }

  @Test
  void badParamsNameTheParamAndTheValues() {
    NeuralNetClassifier c = new NeuralNetClassifier();
    assertMessage(() -> c.setHiddenLayers(16, 0), "hiddenLayers", "[16, 0]", ">= 1");
    assertMessage(() -> c.setOptimizer("rmsprop"), "optimizer", "'rmsprop'", "adam, sgd, adamw");
    assertMessage(() -> c.setActivation("swish"), "activation", "'swish'", "relu");
    assertMessage(() -> c.setActivation("softmax"), "activation", "'softmax'", "relu");
    assertMessage(() -> c.setLearningRate(-1), "learningRate", "-1.0", "> 0");
    assertMessage(() -> c.setDropout(1.0), "dropout", "1.0", "0 <= dropout < 1");
    assertMessage(() -> c.setMode("async"), "mode", "'async'", "sync, average");
    assertMessage(() -> c.setBatchSize(-1), "batchSize", "-1", ">= 1, or 0 = auto");
    assertMessage(() -> c.setNumClasses(1), "numClasses", "1", ">= 2");
    assertMessage(() -> c.setValidationFraction(1.0), "validationFraction", "1.0", "< 1");
    assertMessage(() -> c.setEarlyStoppingMetric("accuracy"), "earlyStoppingMetric", "'accuracy'", "val_loss");
    // Nothing was set by the failed calls.
    assertArrayEquals(new int[] {64}, c.getHiddenLayers());
    assertEquals("adam", c.getOptimizer());
    // Early stopping without validation data.
    assertMessage(() -> classifier().setEarlyStoppingMetric("val_loss").fit(trainArrays), "earlyStoppingMetric",
        "validationFraction > 0", "0.0");
  }

  @Test
  void schemaErrorsNameTheColumn() {
    // Raw numeric columns: there is no features column.
    assertMessage(() -> classifier().fit(train), "featuresCol 'features'", "not found");
    Dataset<Row> withString = train.withColumn("features", org.apache.spark.sql.functions.lit("x"));
    assertMessage(() -> classifier().fit(withString), "featuresCol 'features'", "Vector", "found string");
    NeuralNetClassificationModel m = nnModel(fitted);
    Dataset<Row> features = fitted.transform(test);
    // The scored frame already has the output columns.
    assertMessage(() -> m.transform(features), "rawPredictionCol 'rawPrediction'", "already exists");
    Dataset<Row> out = m.copy(new ParamMap()).setRawPredictionCol("")
        .setProbabilityCol("p2").setPredictionCol("c2").transform(features);
    assertTrue(Arrays.asList(out.columns()).containsAll(List.of("p2", "c2")));
    assertEquals(scored.columns().length + 2, out.columns().length);
  }

  @Test
  void paramsAreDiscoverable() {
    NeuralNetClassifier c = classifier();
    Map<String, Param<?>> byName = new HashMap<>();
    for (Param<?> p : c.params()) byName.put(p.name(), p);
    for (String n : List.of("featuresCol", "labelCol", "weightCol", "predictionCol", "rawPredictionCol",
        "probabilityCol", "numClasses", "hiddenLayers", "activation", "dropout", "optimizer", "learningRate",
        "beta1", "beta2", "momentum", "weightDecay", "clipNorm", "l2", "mode", "batchSize", "localSteps",
        "maxEpochs", "maxRounds", "seed", "validationFraction", "earlyStoppingMetric", "patience", "minDelta",
        "restoreBestWeights", "checkpointDir", "checkpointInterval", "aggregationDepth", "standardization")) {
      assertTrue(byName.containsKey(n), "missing param " + n);
    }
    assertFalse(byName.containsKey("loss"));
    assertTrue(c.explainParams().contains("hiddenLayers"));
    NeuralNetClassifier copy = c.copy(new ParamMap().put(c.learningRate(), 0.5));
    assertEquals(0.5, copy.getLearningRate());
    assertEquals(0.03, c.getLearningRate());
    assertEquals(c.uid(), copy.uid());
  }

  static void assertMessage(Executable run, String... parts) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, run);
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
    }
  }
}
