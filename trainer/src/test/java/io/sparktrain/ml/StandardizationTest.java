package io.sparktrain.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.model.NetworkFile;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.testing.Spark;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.TrainResult;
import io.sparktrain.train.Trainer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Standardization inside the model on a real local[2] Spark: training with it on raw features is
 * the same as training without it on features standardized beforehand; the scaling survives
 * save/load and checkpoints, and transform applies it (to SparseVectors by scaling only); version 1
 * model files still load; iris trains to >= 0.9 test accuracy with the automatic settings.
 */
class StandardizationTest {
  private static SparkSession spark;
  private static final StructType SCHEMA = new StructType().add("features", new VectorUDT())
      .add("label", DataTypes.DoubleType);

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "StandardizationTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Three classes in 5 features of very different scales (one in the thousands, one constant). */
  private static List<double[]> rawRows(int n) {
    Random r = new Random(8);
    List<double[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = i % 3;
      out.add(new double[] {1000 + 200 * (k + 0.7 * r.nextGaussian()), 0.01 * (k - 1 + r.nextGaussian()), 5.0,
          k * 2 + r.nextGaussian(), r.nextGaussian(), k});
    }
    return out;
  }

  private static Dataset<Row> frame(List<double[]> rows, int partitions) {
    List<Row> out = new ArrayList<>();
    for (double[] v : rows) {
      out.add(RowFactory.create(Vectors.dense(Arrays.copyOf(v, v.length - 1)), v[v.length - 1]));
    }
    return frameOf(out, partitions);
  }

  /** {@code rows} in order, in contiguous slices (repartition would sort them by value first). */
  private static Dataset<Row> frameOf(List<Row> rows, int partitions) {
    return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, partitions),
        SCHEMA);
  }

  private static NeuralNetClassifier classifier() {
    return new NeuralNetClassifier().setHiddenLayers(16).setMaxEpochs(4).setBatchSize(32).setSeed(5);
  }

  private static double[] probabilities(NeuralNetClassificationModel m, Dataset<Row> df) {
    List<Row> rows = m.transform(df).select("probability").collectAsList();
    double[] out = new double[rows.size() * 3];
    for (int i = 0; i < rows.size(); i++) {
      double[] p = ((Vector) rows.get(i).get(0)).toArray();
      System.arraycopy(p, 0, out, 3 * i, 3);
    }
    return out;
  }

  @Test
  void standardizingRawFeaturesEqualsTrainingOnPrestandardizedFeatures() {
    List<double[]> raw = rawRows(240);
    Dataset<Row> rawDf = frame(raw, 2);
    NeuralNetClassificationModel a = classifier().fit(rawDf);
    InputScaling s = a.inputScaling();
    assertNotNull(s, "standardization is the Estimator's default");
    assertEquals(1f, s.scale()[2], "the constant feature is scaled by 1");
    // The same rows standardized beforehand, in the float arithmetic the model uses.
    float[] shift = s.shift();
    float[] scale = s.scale();
    List<double[]> pre = new ArrayList<>();
    for (double[] v : raw) {
      double[] w = v.clone();
      for (int j = 0; j < shift.length; j++) w[j] = ((float) v[j] - shift[j]) * scale[j];
      pre.add(w);
    }
    Dataset<Row> preDf = frame(pre, 2);
    NeuralNetClassificationModel b = classifier().setStandardization(false).fit(preDf);
    assertNull(b.inputScaling());
    assertArrayEquals(b.parameters(), a.parameters(), 1e-5f, "the same training");
    assertArrayEquals(probabilities(b, preDf), probabilities(a, rawDf), 1e-5, "the same predictions");
    // Trained to the end (automatic settings), standardization is what makes these columns learnable.
    double with = MlData.accuracy(classifier().setMaxEpochs(0).setBatchSize(0).fit(rawDf).transform(rawDf));
    double without = MlData.accuracy(classifier().setMaxEpochs(0).setBatchSize(0).setStandardization(false)
        .fit(rawDf).transform(rawDf));
    assertTrue(with >= 0.9 && with > without + 0.1, "standardized " + with + " vs raw " + without);
  }

  @Test
  void saveAndLoadKeepTheScalingAndTransformAppliesIt(@TempDir Path dir) throws IOException {
    Dataset<Row> df = frame(rawRows(150), 2);
    NeuralNetClassificationModel m = classifier().fit(df);
    String path = dir.resolve("model").toString();
    m.write().save(path);
    NeuralNetClassificationModel loaded = NeuralNetClassificationModel.load(path);
    assertEquals(m.inputScaling(), loaded.inputScaling());
    assertTrue(loaded.getStandardization());
    double[] expected = probabilities(m, df);
    assertArrayEquals(expected, probabilities(loaded, df), 1e-7);
    // The same parameters without the scaling give other outputs: transform does apply it.
    NeuralNetClassificationModel bare = NeuralNetClassificationModel.of(m.network(), m.parameters());
    double diff = 0;
    double[] got = probabilities(bare, df);
    for (int i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected[i]));
    assertTrue(diff > 0.1, "without the scaling the outputs differ by only " + diff);
    // copy keeps it.
    assertEquals(m.inputScaling(), loaded.copy(new ParamMap()).inputScaling());
    // predictProbability of one vector applies it too, as transform does.
    Vector first = (Vector) df.select("features").first().get(0);
    assertArrayEquals(Arrays.copyOf(expected, 3), loaded.predictProbability(first).toArray(), 1e-6);
  }

  @Test
  void version1ModelFilesLoadWithoutScalingAndVersion2RoundTrips(@TempDir Path dir) throws IOException,
      URISyntaxException {
    Path golden = Path.of(StandardizationTest.class.getResource("/golden/README.md").toURI()).getParent();
    byte[] goldenBytes = Files.readAllBytes(golden.resolve("classifier").resolve(ModelData.FILE));
    assertEquals(1, ByteBuffer.wrap(goldenBytes).getInt(4), "the golden classifier is a version 1 file");
    assertNull(NeuralNetClassificationModel.load(golden.resolve("classifier").toString()).inputScaling());

    Network net = Network.builder(3).dense(4, Activation.RELU).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    float[] params = net.initParameters(1);
    InputScaling s = new InputScaling(new float[] {1, -2, 0.5f}, new float[] {0.25f, 1, 3});
    Configuration conf = new Configuration();
    Path v1 = dir.resolve("v1");
    Files.createDirectories(v1.resolve("data"));
    Files.write(v1.resolve(ModelData.FILE), ModelData.bytes(net, params, null, List.of(), NetworkFile.VERSION_1));
    ModelData d1 = ModelData.read(v1.toString(), conf);
    assertNull(d1.scaling);
    assertArrayEquals(params, d1.params);
    Path v2 = dir.resolve("v2");
    Files.createDirectories(v2.resolve("data"));
    Files.write(v2.resolve(ModelData.FILE), ModelData.bytes(net, params, s, List.of(), NetworkFile.VERSION_2));
    ModelData d2 = ModelData.read(v2.toString(), conf);
    assertEquals(s, d2.scaling);
    assertArrayEquals(params, d2.params);
    ModelData.write(dir.resolve("v3").toString(), net, params, s, List.of(), conf);
    ModelData d3 = ModelData.read(dir.resolve("v3").toString(), conf);
    assertEquals(s, d3.scaling);
    assertArrayEquals(params, d3.params);
    assertEquals(List.of(), d3.categorical);
    assertEquals(3, ByteBuffer.wrap(Files.readAllBytes(dir.resolve("v3").resolve(ModelData.FILE)))
        .getInt(4));
  }

  @Test
  void sparseVectorsAreScaledNotCentredAndScoreLikeTheirDenseTwins() {
    int dim = 40;
    Random r = new Random(2);
    List<Row> sparse = new ArrayList<>();
    List<Row> dense = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      TreeMap<Integer, Double> nz = new TreeMap<>();
      while (nz.size() < 3) nz.put(r.nextInt(dim), 100 * r.nextGaussian());
      nz.put(i % 3, 500.0);
      int[] idx = nz.keySet().stream().mapToInt(Integer::intValue).toArray();
      double[] val = nz.values().stream().mapToDouble(Double::doubleValue).toArray();
      Vector sv = Vectors.sparse(dim, idx, val);
      sparse.add(RowFactory.create(sv, (double) (i % 3)));
      dense.add(RowFactory.create(sv.toDense(), (double) (i % 3)));
    }
    Dataset<Row> sparseDf = frameOf(sparse, 2);
    Dataset<Row> denseDf = frameOf(dense, 2);
    NeuralNetClassificationModel m = classifier().fit(sparseDf);
    assertTrue(m.inputScaling().scaleOnly(), "sparse training data: scale only");
    assertArrayEquals(probabilities(m, denseDf), probabilities(m, sparseDf), 1e-5);
    // A centring scaling (from dense data) still scores SparseVectors, through dense rows.
    NeuralNetClassificationModel centred = classifier().fit(denseDf);
    assertTrue(!centred.inputScaling().scaleOnly());
    assertArrayEquals(probabilities(centred, denseDf), probabilities(centred, sparseDf), 1e-6);
  }

  @Test
  void aResumedRunKeepsTheCheckpointsScalingAndEqualsAnUninterruptedRun(@TempDir Path dir) {
    Network net = Network.builder(5).dense(8, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    TrainingData data = TrainingData.decode(frame(rawRows(120), 2), InputSpec.classification("features", "label"));
    try {
      TrainConfig.Builder b = TrainConfig.builder().standardize(true).epochs(4).batchSize(16).seed(3)
          .syncEngine(TrainConfig.SyncEngine.DRIVER);
      TrainResult whole = new Trainer(net, b.build()).fit(data, null);
      String ckpt = dir.resolve("ckpt").toString();
      new Trainer(net, b.epochs(2).checkpointDir(ckpt).checkpointEveryEpochs(1).build()).fit(data, null);
      TrainResult resumed = new Trainer(net, b.epochs(4).resume(true).build()).fit(data, null);
      assertEquals(whole.inputScaling(), resumed.inputScaling());
      assertArrayEquals(whole.params(), resumed.params(), 1e-6f);
      // The local engine (small tables) gives the driver engine's steps.
      TrainResult local = new Trainer(net, TrainConfig.builder().standardize(true).epochs(4).batchSize(16).seed(3)
          .syncEngine(TrainConfig.SyncEngine.LOCAL).build()).fit(data, null);
      assertArrayEquals(whole.params(), local.params(), 1e-5f);
    } finally {
      data.unpersist();
    }
  }

  @Test
  void irisReachesNinetyPercentWithTheAutomaticSettings() throws URISyntaxException {
    String csv = Path.of(StandardizationTest.class.getResource("/iris.csv").toURI()).toString();
    Dataset<Row> df = spark.read().option("header", "true").option("inferSchema", "true").csv(csv);
    List<Row> rows = new ArrayList<>();
    for (Row r : df.collectAsList()) {
      rows.add(RowFactory.create(Vectors.dense(r.getDouble(0), r.getDouble(1), r.getDouble(2), r.getDouble(3)),
          (double) r.getInt(4)));
    }
    // A fixed split: every third row of each class (iris is sorted by class) is test data.
    List<Row> train = new ArrayList<>();
    List<Row> test = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) (i % 3 == 0 ? test : train).add(rows.get(i));
    NeuralNetClassificationModel m = new NeuralNetClassifier().setMaxEpochs(0).setBatchSize(0)
        .fit(spark.createDataFrame(train, SCHEMA));
    double acc = MlData.accuracy(m.transform(spark.createDataFrame(test, SCHEMA)));
    assertTrue(acc >= 0.9, "iris test accuracy " + acc);
  }
}
