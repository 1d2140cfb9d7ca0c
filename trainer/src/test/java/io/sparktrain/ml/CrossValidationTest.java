package io.sparktrain.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.testing.Spark;
import java.util.Arrays;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CrossValidationTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "CrossValidationTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void crossValidatorPicksALearningRate() {
    Dataset<Row> train = MlData.blobs(spark, 300, 5, 2);
    Dataset<Row> test = MlData.blobs(spark, 150, 6, 2);
    NeuralNetClassifier nn = new NeuralNetClassifier().setHiddenLayers(8).setBatchSize(64).setMaxEpochs(4)
        .setSeed(11);
    // Unscaled features (x1 is ~10x, x2 ~0.1x): the tiny learning rate cannot get far in 4 epochs.
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new VectorAssembler().setInputCols(MlData.COLS).setOutputCol("features"), nn});
    ParamMap[] grid = new ParamGridBuilder().addGrid(nn.learningRate(), new double[] {1e-5, 0.05}).build();
    MulticlassClassificationEvaluator eval = new MulticlassClassificationEvaluator().setMetricName("accuracy");
    CrossValidator cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid).setEvaluator(eval)
        .setNumFolds(2).setSeed(1);
    CrossValidatorModel model = cv.fit(train);
    double[] metrics = model.avgMetrics();
    assertEquals(2, metrics.length);
    assertTrue(metrics[1] > metrics[0], "lr 0.05 must beat lr 1e-5: " + Arrays.toString(metrics));
    NeuralNetClassificationModel best = (NeuralNetClassificationModel) ((PipelineModel) model.bestModel()).stages()[1];
    assertEquals(0.05, best.getLearningRate());
    double acc = eval.evaluate(model.transform(test));
    assertTrue(acc > 0.8, "test accuracy of the best model " + acc);
  }
}
