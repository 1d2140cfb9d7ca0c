package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.data.TrainingData;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Spark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
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
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Categorical columns into embedding tables, end to end on local[2] (a Kryo session, as
 * conf/spark-defaults.conf sets): decoding (strings hashed as Spark's HashingTF indexes them, bags,
 * the out-of-vocabulary bucket), the three sync engines and average mode against each other, the
 * Estimator's fit, transform, save and load, and bad input.
 *
 * <p>The data: the class is a function of a "city" string (40 values) and, weakly, of a bag of
 * "tags"; a 2-value numeric vector is noise plus a little signal. Without the embeddings nothing
 * much can be learnt.
 */
class CategoricalTrainTest {
  private static final int BUCKETS = 64;
  private static final int TAG_BUCKETS = 32;
  private static SparkSession spark;
  private static Dataset<Row> df;
  private static TrainingData data;
  private static final List<CategoricalColumn> CATS = List.of(new CategoricalColumn("city", BUCKETS, 4),
      new CategoricalColumn("tags", TAG_BUCKETS, 3));

  @BeforeAll
  static void start() {
    spark = Spark.kryoSession("local[2]", "CategoricalTrainTest");
    df = rows(600, 4L);
    data = TrainingData.decode(df, spec(CATS));
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static InputSpec spec(List<CategoricalColumn> cats) {
    return InputSpec.classification("features", "label").withNumClasses(3).withCategorical(cats);
  }

  /** n rows: city c0..c39 (class = c mod 3), 0..3 tags t0..t29, x = (noise, class/3 + noise), city_id. */
  private static Dataset<Row> rows(int n, long seed) {
    Random r = new Random(seed);
    HashingTF tf = new HashingTF().setNumFeatures(BUCKETS - 1);
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int city = r.nextInt(40);
      int label = city % 3;
      List<String> tags = new ArrayList<>();
      int nt = r.nextInt(4);
      for (int t = 0; t < nt; t++) tags.add("t" + r.nextInt(30));
      String name = "c" + city;
      out.add(RowFactory.create(name, seq(tags),
          Vectors.dense(r.nextGaussian(), label / 3.0 + 0.5 * r.nextGaussian()), (double) label,
          tf.indexOf(name)));
    }
    StructType schema = new StructType().add("city", DataTypes.StringType)
        .add("tags", DataTypes.createArrayType(DataTypes.StringType)).add("features", new VectorUDT())
        .add("label", DataTypes.DoubleType).add("city_id", DataTypes.IntegerType);
    return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(out, 2), schema);
  }

  /** A Scala Seq of the values (how Spark holds an array in a Row). */
  private static Seq<String> seq(List<String> values) {
    return CollectionConverters.asScala(values).toSeq();
  }

  private static Network net(List<CategoricalColumn> cats) {
    Network.Builder b = Network.builder(2);
    cats.forEach(c -> b.embedding(c.embedding()));
    return b.dense(16, Activation.RELU).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  private static TrainConfig.Builder sync(TrainConfig.SyncEngine engine, OptimizerSpec opt) {
    return TrainConfig.builder().epochs(3).batchSize(32).maxRounds(24).seed(9).mode(Mode.SYNC).syncEngine(engine)
        .optimizer(opt).standardize(false);
  }

  @Test
  void decodesBagsAndHashesStringsAsHashingTf() {
    List<Block> blocks = data.blocks().collect();
    assertEquals(2, blocks.size());
    List<Row> rows = df.collectAsList();
    HashingTF tags = new HashingTF().setNumFeatures(TAG_BUCKETS - 1);
    int r = 0;
    for (Block b : blocks) {
      assertEquals(2, b.categorical());
      for (int i = 0; i < b.rows(); i++, r++) {
        Row row = rows.get(r);
        int[] ptr = b.catPtr();
        assertEquals(1, ptr[2 * i + 1] - ptr[2 * i], "one city per row");
        assertEquals(row.getInt(4), b.catIds()[ptr[2 * i]], "the city's bucket is HashingTF's index");
        List<Object> t = row.getList(1);
        int[] got = Arrays.copyOfRange(b.catIds(), ptr[2 * i + 1], ptr[2 * i + 2]);
        int[] want = t.stream().mapToInt(tags::indexOf).toArray();
        assertArrayEquals(want, got, "row " + r + "'s tags");
      }
    }
    assertEquals(600, r);
  }

  /** The three sync engines compute the same steps: the same parameters, on row-sparse tables. */
  @Test
  void everySyncEngineGivesTheSameModel() {
    for (OptimizerSpec opt : List.of(OptimizerSpec.adam().learningRate(0.01).build(),
        OptimizerSpec.lazyAdam().learningRate(0.01).build())) {
      TrainResult collective = new Trainer(net(CATS), sync(TrainConfig.SyncEngine.COLLECTIVE, opt).build())
          .fit(data, data);
      for (TrainConfig.SyncEngine e : List.of(TrainConfig.SyncEngine.DRIVER, TrainConfig.SyncEngine.LOCAL)) {
        TrainResult other = new Trainer(net(CATS), sync(e, opt).build()).fit(data, data);
        assertEquals(collective.rounds(), other.rounds());
        assertClose(collective.params(), other.params(), 1e-5, e + " with " + opt.kind());
        assertEquals(collective.finalValidation().get("val_loss"), other.finalValidation().get("val_loss"), 1e-5);
      }
      // Exactly the table rows of the cities' buckets move (a zero gradient leaves an Adam row put).
      float[] init = net(CATS).initParameters(9);
      int t0 = net(CATS).layout().table(0).offset();
      HashingTF tf = new HashingTF().setNumFeatures(BUCKETS - 1);
      for (int b = 0; b < BUCKETS; b++) {
        boolean moved = false;
        for (int j = 0; j < 4; j++) moved |= init[t0 + 4 * b + j] != collective.params()[t0 + 4 * b + j];
        final int bucket = b;
        boolean used = IntStream.range(0, 40).anyMatch(c -> tf.indexOf("c" + c) == bucket);
        assertEquals(used, moved, "bucket " + b + " with " + opt.kind());
      }
    }
  }

  /** Integer ids that are HashingTF's indices of the strings train exactly the model of the strings. */
  @Test
  void stringsTrainAsTheirHashedIds() {
    List<CategoricalColumn> ids = List.of(new CategoricalColumn("city_id", BUCKETS, 4),
        new CategoricalColumn("tags", TAG_BUCKETS, 3));
    TrainingData byId = TrainingData.decode(df, spec(ids));
    try {
      TrainConfig c = sync(TrainConfig.SyncEngine.COLLECTIVE, OptimizerSpec.lazyAdam().learningRate(0.01).build())
          .epochs(1).build();
      TrainResult s = new Trainer(net(CATS), c).fit(data, null);
      TrainResult i = new Trainer(net(ids), c).fit(byId, null);
      assertArrayEquals(s.params(), i.params(), 0f);
    } finally {
      byId.unpersist();
    }
  }

  /** Two epochs, a checkpoint, then two more resumed from it: the model of four epochs in one run. */
  @Test
  void aResumedRunEqualsAnUnbrokenOne(@TempDir Path dir) {
    OptimizerSpec opt = OptimizerSpec.lazyAdam().learningRate(0.01).build();
    TrainConfig.Builder base = TrainConfig.builder().batchSize(32).seed(9).mode(Mode.SYNC)
        .syncEngine(TrainConfig.SyncEngine.LOCAL).optimizer(opt).standardize(false);
    TrainResult whole = new Trainer(net(CATS), base.epochs(4).build()).fit(data, null);
    CheckpointSettings ck = CheckpointSettings.none().withDir(dir.toUri().toString()).withEveryEpochs(1);
    new Trainer(net(CATS), base.epochs(2).checkpoint(ck).build()).fit(data, null);
    TrainResult resumed = new Trainer(net(CATS), base.epochs(4).checkpoint(ck.withResume(true)).build())
        .fit(data, null);
    assertArrayEquals(whole.params(), resumed.params(), 0f);
  }

  /** Data whose columns do not fit the network's tables, and a checkpoint of other columns, are refused. */
  @Test
  void columnsMustFitTheTablesAndTheCheckpoint(@TempDir Path dir) {
    List<CategoricalColumn> other = List.of(new CategoricalColumn("city", 2 * BUCKETS, 4),
        new CategoricalColumn("tags", TAG_BUCKETS, 3));
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> new Trainer(net(other),
        sync(TrainConfig.SyncEngine.LOCAL, OptimizerSpec.adam().build()).build()).fit(data, null));
    assertTrue(e.getMessage().contains("categorical column 'city' (column 0): expected the network's table 0,"
        + " emb(128x4,mean), found emb(64x4,mean)"), e.getMessage());
    // A checkpoint of the same tables fed by another column (city_id for city) does not resume: it is named.
    List<CategoricalColumn> ids = List.of(new CategoricalColumn("city_id", BUCKETS, 4),
        new CategoricalColumn("tags", TAG_BUCKETS, 3));
    TrainingData byId = TrainingData.decode(df, spec(ids));
    try {
      CheckpointSettings ck = CheckpointSettings.none().withDir(dir.toUri().toString()).withEveryEpochs(1);
      TrainConfig.Builder base = sync(TrainConfig.SyncEngine.LOCAL, OptimizerSpec.lazyAdam().build()).maxRounds(0)
          .epochs(1);
      new Trainer(net(CATS), base.checkpoint(ck).build()).fit(data, null);
      IllegalStateException resume = assertThrows(IllegalStateException.class,
          () -> new Trainer(net(ids), base.checkpoint(ck.withResume(true)).build()).fit(byId, null));
      assertTrue(resume.getMessage().contains("other categorical columns: expected [city_id:4:64, tags:3:32], found"
          + " [city:4:64, tags:3:32]"), resume.getMessage());
    } finally {
      byId.unpersist();
    }
  }

  @Test
  void averageModeLearnsFromRowSparseUpdates() {
    TrainConfig c = TrainConfig.builder().epochs(4).batchSize(16).localSteps(4).seed(9).mode(Mode.AVERAGE)
        .standardize(false).localOptimizer(OptimizerSpec.lazyAdam().learningRate(0.02).build()).build();
    TrainResult r = new Trainer(net(CATS), c).fit(data, data);
    assertTrue(r.finalValidation().get("val_accuracy") > 0.75, r.finalValidation().toString());
  }

  /**
   * The Estimator: categorical columns only (no features column), fit, transform with unseen and null
   * categories, save and load; and with the numeric features too.
   */
  @Test
  void estimatorFitsTransformsSavesAndLoads(@TempDir Path dir) throws Exception {
    Dataset<Row> train = df.drop("features", "city_id");
    NeuralNetClassifier est = new NeuralNetClassifier().setCategoricalCols("city", "tags")
        .setEmbeddingBuckets(BUCKETS, TAG_BUCKETS).setEmbeddingDims(4, 3).setHiddenLayers(16).setMaxEpochs(6)
        .setBatchSize(32).setLearningRate(0.02).setOptimizer("lazy_adam").setSeed(3);
    NeuralNetClassificationModel model = est.fit(train);
    assertEquals(0, model.numFeatures());
    assertEquals(List.of("city", "tags"), model.categoricalColumns().stream().map(CategoricalColumn::column).toList());
    List<Row> scored = model.transform(train).select("label", "prediction").collectAsList();
    long right = scored.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count();
    assertTrue(right > 0.9 * scored.size(), right + " of " + scored.size());

    // Unseen cities, null cities, null and empty tag lists: scored, never an error.
    StructType schema = train.schema();
    List<Row> odd = List.of(
        RowFactory.create("never-seen", seq(List.of("t1")), 0.0),
        RowFactory.create(null, null, 1.0),
        RowFactory.create("c4", seq(List.of()), 1.0));
    Dataset<Row> oddDf = spark.createDataFrame(odd, schema);
    List<Row> oddScored = model.transform(oddDf).select("probability", "prediction").collectAsList();
    assertEquals(3, oddScored.size());
    for (Row r : oddScored) assertNotNull(r.get(1));
    assertEquals(1.0, oddScored.get(2).getDouble(1), "c4 is class 1 without its tags too");

    // Integer ids where the model learnt strings would land in unrelated rows: refused.
    Dataset<Row> ids = df.withColumn("city", df.col("city_id")).drop("features", "city_id");
    IllegalArgumentException kind = assertThrows(IllegalArgumentException.class, () -> model.transform(ids));
    assertTrue(kind.getMessage().contains("categorical column 'city': expected strings (what the model was trained"
        + " on), found int"), kind.getMessage());

    String path = dir.resolve("model").toString();
    model.write().save(path);
    NeuralNetClassificationModel loaded = NeuralNetClassificationModel.load(path);
    assertEquals(model.categoricalColumns(), loaded.categoricalColumns());
    List<Row> again = loaded.transform(oddDf).select("probability").collectAsList();
    for (int i = 0; i < again.size(); i++) {
      assertArrayEquals(((Vector) oddScored.get(i).get(0)).toArray(), ((Vector) again.get(i).get(0)).toArray(), 0.0);
    }

    // With the numeric features: standardized inside the model, the tables beside them.
    NeuralNetClassificationModel both = est.setMaxEpochs(2).fit(df);
    assertEquals(2, both.numFeatures());
    assertNotNull(both.inputScaling());
    assertEquals(600, both.transform(df).count());
    assertTrue(Files.exists(dir.resolve("model").resolve("data").resolve("network.bin")));
  }

  @Test
  void badCategoricalValuesGetClearErrors() {
    StructType schema = new StructType().add("id", DataTypes.DoubleType).add("label", DataTypes.DoubleType);
    Dataset<Row> bad = spark.createDataFrame(List.of(RowFactory.create(1.0, 0.0), RowFactory.create(2.5, 1.0)),
        schema);
    InputSpec s = InputSpec.classification("features", "label").withCategorical(
        List.of(new CategoricalColumn("id", 10, 2))).withFeatureColumns();
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> TrainingData.decode(bad, s));
    assertTrue(e.getMessage().contains("categorical column 'id': expected integer ids or strings, found 2.5"),
        e.getMessage());
    assertTrue(e.getMessage().contains("at partition 1 row 0"), e.getMessage());

    StructType mapSchema = new StructType().add("m", DataTypes.createMapType(DataTypes.StringType,
        DataTypes.StringType)).add("label", DataTypes.DoubleType);
    Dataset<Row> maps = spark.createDataFrame(List.of(RowFactory.create(null, 0.0)), mapSchema);
    InputSpec ms = InputSpec.classification("features", "label").withCategorical(
        List.of(new CategoricalColumn("m", 10, 2))).withFeatureColumns();
    e = assertThrows(InvalidInputException.class, () -> TrainingData.decode(maps, ms));
    assertTrue(e.getMessage().contains("categorical column 'm': expected integer ids, strings, booleans or arrays"
        + " of them, found map<string,string>"), e.getMessage());
    // Booleans need a row for false, one for true and the out-of-vocabulary row.
    StructType boolSchema = new StructType().add("b", DataTypes.BooleanType).add("label", DataTypes.DoubleType);
    Dataset<Row> bools = spark.createDataFrame(List.of(RowFactory.create(true, 0.0)), boolSchema);
    InputSpec bs = InputSpec.classification("features", "label").withCategorical(
        List.of(new CategoricalColumn("b", 2, 2))).withFeatureColumns();
    e = assertThrows(InvalidInputException.class, () -> TrainingData.decode(bools, bs));
    assertTrue(e.getMessage().contains("expected buckets >= 3 for booleans"), e.getMessage());
    // Ids out of range and nulls are the out-of-vocabulary bucket.
    CategoricalColumn c = new CategoricalColumn("id", 10, 2);
    assertEquals(9, c.bucket(null, ""));
    assertEquals(9, c.bucket(-1L, ""));
    assertEquals(9, c.bucket(9, ""));
    assertEquals(8, c.bucket(8.0, ""));
  }

  private static void assertClose(float[] a, float[] b, double tol, String what) {
    assertEquals(a.length, b.length);
    double worst = 0;
    for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assertTrue(worst <= tol, what + ": largest difference " + worst);
  }
}
