package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code training.pretrain} from the command line: a sync run pretrains on a CSV of iris' features
 * without its label column, a federated run on its silos' own rows; both then train and test, and
 * the summary records the pretraining. Bad sections stop with exit code 2 before Spark starts, naming
 * the key, what it expects and what it found.
 */
class PretrainCliTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-pretrain-cli-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  /** iris.csv without its label column. */
  private static Path unlabeledIris(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    for (String l : Files.readAllLines(Path.of(DriverTestData.iris()), StandardCharsets.UTF_8)) {
      out.add(l.substring(0, l.lastIndexOf(',')));
    }
    Path p = dir.resolve("unlabeled-iris.csv");
    Files.write(p, out, StandardCharsets.UTF_8);
    return p;
  }

  private static List<String> job(Path out, String... more) {
    List<String> a = DriverTestData.irisTrainArgs(DriverTestData.iris(), out, "--set", "model.hidden=[8]");
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void pretrainsOnRowsWithoutLabelsThenTrains(@TempDir Path dir) throws IOException {
    String unlabeled = unlabeledIris(dir).toString();
    Path sync = dir.resolve("sync");
    MainTest.Run s = MainTest.run(job(sync, "--set", "training.epochs=30",
        "--set", "training.pretrain={epochs: 4, batch_size: 32, noise: \"gaussian(0.2)\", data: " + unlabeled + "}")
        .toArray(new String[0]));
    assertEquals(0, s.code, s.err + s.out);
    assertTrue(DriverTestData.testAccuracy(s) > 0.85, s.out);
    String summary = Files.readString(sync.resolve("summary.json"));
    assertTrue(summary.contains("\"pretraining\":{\"method\":\"denoising_autoencoder\",\"epochs\":4,"
        + "\"noise\":\"gaussian(0.2)\",\"batch_size\":32,\"autoencoder\":\"Network(inputs=4 -> Dense(8, relu)"
        + " -> Dense(4, identity), loss=mse, params=76)\",\"rows\":150,\"standardized\":true,\"epoch_losses\":["),
        summary);
    assertTrue(summary.contains("\"data\":\"" + unlabeled + "\"") && summary.contains("\"pretrain_s\""), summary);

    Path fed = dir.resolve("fed");
    MainTest.Run f = MainTest.run(job(fed, "--set", "training.mode=federated",
        "--set", "federated={rounds: 20, local_epochs: 2, local_batch: 10, eval_every_rounds: 20,"
            + " local_optimizer: {learning_rate: 0.1}}", "--set", "silos={source: iid, count: 3}",
        "--set", "training.pretrain={epochs: 3}").toArray(new String[0]));
    assertEquals(0, f.code, f.err + f.out);
    String fedSummary = Files.readString(fed.resolve("summary.json"));
    assertTrue(fedSummary.contains("\"noise\":\"masking(0.2)\"") && fedSummary.contains("\"round_losses\":[")
        && fedSummary.contains("\"data\":\"the training rows\""), fedSummary);
  }

  @Test
  void badPretrainSectionsStopBeforeSpark(@TempDir Path dir) {
    String[][] cases = {
        {"training.pretrain={noise: \"salt(0.1)\"}", "training.pretrain.noise: expected masking(p) with 0 <= p < 1,"
            + " or gaussian(s) with s >= 0, found \"salt(0.1)\""},
        {"training.pretrain={noise: \"masking(1.5)\"}", "training.pretrain.noise: expected masking(p) with 0 <= p"
            + " < 1, or gaussian(s) with s >= 0, found \"masking(1.5)\""},
        {"training.pretrain={method: pca}", "training.pretrain.method: expected one of denoising_autoencoder,"
            + " found \"pca\""},
        {"training.pretrain={epochs: 0}", "training.pretrain.epochs: expected an integer >= 1, found 0"},
        {"training.pretrain={epoch: 3}", "training.pretrain.epoch: unknown key; did you mean"
            + " training.pretrain.epochs?"},
    };
    for (String[] c : cases) {
      MainTest.Run r = MainTest.run(job(dir.resolve("x"), "--set", c[0]).toArray(new String[0]));
      assertEquals(2, r.code, c[0] + ": " + r.err + r.out);
      assertTrue(r.err.contains(c[1]), c[0] + ": " + r.err);
    }
    MainTest.Run linear = MainTest.run(job(dir.resolve("l"), "--set", "model.hidden=[]",
        "--set", "training.pretrain={epochs: 2}").toArray(new String[0]));
    assertEquals(2, linear.code, linear.err);
    assertTrue(linear.err.contains("training.pretrain: expected model.hidden with at least one layer (the encoder"
        + " to pretrain), found []"), linear.err);
    MainTest.Run fedData = MainTest.run(job(dir.resolve("f"), "--set", "training.mode=federated",
        "--set", "training.pretrain={data: /some/rows.csv}").toArray(new String[0]));
    assertEquals(2, fedData.code, fedData.err);
    assertTrue(fedData.err.contains("training.pretrain.data: expected null with training.mode federated (each silo"
        + " pretrains on its own rows), found \"/some/rows.csv\""), fedData.err);
    MainTest.Run cats = MainTest.run(job(dir.resolve("c"), "--set", "data.features={numeric: [sepal_length],"
        + " categorical: [{column: petal_width, buckets: 8}]}", "--set", "training.pretrain={}")
        .toArray(new String[0]));
    assertEquals(2, cats.code, cats.err);
    assertTrue(cats.err.contains("training.pretrain: expected numeric data.features only (embedding tables are not"
        + " pretrained), found categorical columns"), cats.err);
  }
}
