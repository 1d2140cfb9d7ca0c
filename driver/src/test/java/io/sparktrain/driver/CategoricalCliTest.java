package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Categorical columns through the CLI: data.features in its map form (numeric and categorical), a
 * parquet file with a string column, a string-array column (a bag) and integer ids; train in sync
 * and federated mode, evaluate and predict with unseen and null categories; and config errors that
 * name the key.
 */
class CategoricalCliTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-categorical-cli-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  /** Rows whose class (0..2) is the city's number mod 3; shop ids 0..9 carry nothing; x is noise. */
  private static void write(Path path, int n, long seed, boolean odd) {
    Random r = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int city = r.nextInt(30);
      List<String> tags = new ArrayList<>();
      for (int t = r.nextInt(3); t > 0; t--) tags.add("t" + r.nextInt(20));
      String name = "c" + city;
      Object shop = (long) r.nextInt(10);
      if (odd && i % 4 == 0) {
        name = i % 8 == 0 ? null : "unseen-" + i; // nulls and unseen cities: the OOV bucket or a hashed one
        tags = null;
        shop = 1234L; // out of range: the OOV bucket
      }
      rows.add(RowFactory.create(name, tags == null ? null : CollectionConverters.asScala(tags).toSeq(), shop,
          r.nextGaussian(), (double) (city % 3)));
    }
    StructType schema = new StructType().add("city", DataTypes.StringType)
        .add("tags", DataTypes.createArrayType(DataTypes.StringType)).add("shop", DataTypes.LongType)
        .add("x", DataTypes.DoubleType).add("label", DataTypes.DoubleType);
    spark.createDataFrame(rows, schema).repartition(2).write().parquet(path.toString());
  }

  private static final String FEATURES = "data.features={numeric: [x], categorical: [{column: city, buckets: 64,"
      + " dim: 4}, {column: tags, buckets: 32, dim: 3, combiner: sum}, {column: shop, buckets: 11, dim: 2}]}";

  @Test
  void trainsEvaluatesAndPredictsWithEmbeddings(@TempDir Path dir) throws Exception {
    Path train = dir.resolve("train.parquet");
    Path test = dir.resolve("test.parquet");
    write(train, 600, 1L, false);
    write(test, 200, 2L, true);
    Path out = dir.resolve("out");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + train,
        "--set", "data.test=" + test, "--set", FEATURES, "--set", "model.hidden=[16]", "--set", "training.epochs=6",
        "--set", "training.batch_size=32", "--set", "training.optimizer={name: lazy_adam, learning_rate: 0.03}",
        "--set", "training.sync_engine=collective", "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    assertEquals(1, summary.get("data").get("num_features").asInt(), summary.get("data").toString());
    JsonNode tables = summary.get("data").get("categorical");
    assertEquals(3, tables.size(), tables.toString());
    assertEquals("tags", tables.get(1).get("column").asText());
    assertEquals("sum", tables.get(1).get("combiner").asText());
    assertEquals(4, tables.get(0).get("dim").asInt(), "city: dim 4");
    JsonNode c = summary.get("collective");
    assertEquals(c.get("steps").asLong(), c.get("row_sparse_steps").asLong(), c.toString());
    // Test rows with unseen or null cities (a quarter) are scored, not refused; the rest are right.
    Matcher m = Pattern.compile("test accuracy (\\d\\.\\d+)").matcher(run.out);
    assertTrue(m.find(), run.out);
    assertTrue(Double.parseDouble(m.group(1)) > 0.7, run.out);

    Path metrics = dir.resolve("metrics.json");
    MainTest.Run ev = MainTest.run("evaluate", "--model", out.resolve("model").toString(), "--data",
        test.toString(), "--output", metrics.toString());
    assertEquals(0, ev.code, ev.err + ev.out);
    assertEquals(Double.parseDouble(m.group(1)), new ObjectMapper().readTree(metrics.toFile()).get("accuracy")
        .asDouble(), 1e-9, "evaluate gives the test accuracy of train");
    Path preds = dir.resolve("preds");
    MainTest.Run pr = MainTest.run("predict", "--model", out.resolve("model").toString(), "--data",
        test.toString(), "--output", preds.toString());
    assertEquals(0, pr.code, pr.err + pr.out);
    List<Row> scored = spark.read().parquet(preds.toString()).select("label", "prediction").collectAsList();
    assertEquals(200, scored.size());
    long right = scored.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count();
    assertEquals(Double.parseDouble(m.group(1)), right / 200.0, 1e-9, "predict agrees with evaluate");
  }

  @Test
  void federatedSilosTrainTheirTables(@TempDir Path dir) throws Exception {
    Path train = dir.resolve("train.parquet");
    write(train, 600, 3L, false);
    Path out = dir.resolve("out");
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + train,
        "--set", "data.test_fraction=0.2", "--set", FEATURES, "--set", "model.hidden=[16]",
        "--set", "training.mode=federated", "--set", "silos.source=partitions",
        "--set", "federated.rounds=12", "--set", "federated.local_epochs=2", "--set", "federated.local_batch=16",
        "--set", "federated.local_optimizer={name: lazy_adam, learning_rate: 0.03}",
        "--set", "output.dir=" + out);
    assertEquals(0, run.code, run.err + run.out);
    Matcher m = Pattern.compile("test accuracy (\\d\\.\\d+)").matcher(run.out);
    assertTrue(m.find(), run.out);
    assertTrue(Double.parseDouble(m.group(1)) > 0.6, run.out);
  }

  @Test
  void badCategoricalConfigNamesTheKey(@TempDir Path dir) {
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=" + dir,
        "--set", "data.features={categorical: [{column: city, dim: 4}, {column: tags, buckets: 8, size: 3}]}",
        "--set", "output.dir=" + dir.resolve("out"));
    assertEquals(2, run.code, run.err + run.out);
    assertTrue(run.err.contains("data.features.categorical[0].buckets: expected an integer >= 2"), run.err);
    assertTrue(run.err.contains("data.features.categorical[1].size: not a key of a categorical column"), run.err);
  }
}
