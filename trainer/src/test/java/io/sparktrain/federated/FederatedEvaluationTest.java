package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * The evaluation curves of a federated run: the global model's training loss over all silos' rows
 * at every evaluation round, and the per-silo accuracy on each silo's own held-out rows. Every figure
 * is checked against an independent computation on the driver, from the rows themselves.
 */
class FederatedEvaluationTest {
  private static SparkSession spark;
  private static final InputSpec SPEC = InputSpec.classification("features", "label").withNumClasses(3);

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "FederatedEvaluationTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static Network net() {
    return Network.builder(4).dense(6, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  static FederatedConfig.Builder config(int rounds) {
    return FederatedConfig.builder().rounds(rounds).clientFraction(0.5).localEpochs(1).localBatch(8)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.1).build()).evalEveryRounds(2).seed(11);
  }

  /** Dirichlet(0.5) silos from {@code n} blobs: rows moved once, partition k = silo k. */
  static Dataset<Row> silos(int n, int count) {
    return silos(n, count, 0.5);
  }

  static Dataset<Row> silos(int n, int count, double alpha) {
    return Silos.partition(Blobs.frame(spark, Blobs.rows(n, 3, false), 2, Blobs.PLAIN), "label",
        Silos.Split.DIRICHLET, count, alpha, 5);
  }

  /** Every row of {@code df} with its partition index, collected. */
  static List<Tuple2<Integer, Row>> byPartition(Dataset<Row> df) {
    return df.javaRDD().mapPartitionsWithIndex((p, it) -> {
      List<Tuple2<Integer, Row>> out = new ArrayList<>();
      it.forEachRemaining(r -> out.add(new Tuple2<>(p, r)));
      return out.iterator();
    }, true).collect();
  }

  /** {mean cross-entropy, accuracy} of {@code params} on {@code rows}, computed on the driver row by row. */
  static double[] driverLossAndAccuracy(Network net, float[] params, List<Row> rows) {
    double loss = 0;
    int correct = 0;
    Network.Workspace ws = net.newWorkspace();
    for (Row r : rows) {
      double[] v = ((Vector) r.get(0)).toArray();
      float[] x = new float[v.length];
      for (int j = 0; j < v.length; j++) x[j] = (float) v[j];
      float[] p = net.predict(params, x, 1, ws);
      int y = (int) r.getDouble(1);
      loss -= Math.log(p[y]);
      int best = 0;
      for (int c = 1; c < p.length; c++) best = p[c] > p[best] ? c : best;
      correct += best == y ? 1 : 0;
    }
    return new double[] {loss / rows.size(), (double) correct / rows.size()};
  }

  @Test
  void trainingLossCurveEqualsAnIndependentEvaluationOfTheSameParameters() {
    Dataset<Row> df = silos(240, 4).cache();
    List<Row> all = df.collectAsList();
    TrainingData data = TrainingData.decode(df, SPEC);
    TrainingData one = TrainingData.decode(df.coalesce(1), SPEC);
    try {
      FederatedResult r4 = new FederatedTrainer(net(), config(5).evalTrainLoss(true).build()).fit(data, null);
      FederatedResult r2 = new FederatedTrainer(net(), config(2).evalTrainLoss(true).build()).fit(data, null);
      List<Map<String, Object>> rounds = r4.history().records("round");
      assertEquals(5, rounds.size());
      // Evaluated at rounds 2, 4 and the last (5); nothing in rounds 1 and 3.
      for (Map<String, Object> rec : rounds) {
        long round = ((Number) rec.get("round")).longValue();
        assertEquals(round % 2 == 0 || round == 5, rec.containsKey("global_train_loss"), rec.toString());
        assertEquals(round % 2 == 0 || round == 5, rec.containsKey("global_train_accuracy"), rec.toString());
      }
      // Round 5: the returned parameters; round 2: the 2-round run's (the same rounds, summed in silo order).
      double[] at5 = driverLossAndAccuracy(net(), r4.params(), all);
      double[] at2 = driverLossAndAccuracy(net(), r2.params(), all);
      assertEquals(at5[0], (Double) rounds.get(4).get("global_train_loss"), 1e-5 * at5[0]);
      assertEquals(at5[1], (Double) rounds.get(4).get("global_train_accuracy"), 1e-12);
      assertEquals(at2[0], (Double) rounds.get(1).get("global_train_loss"), 1e-5 * at2[0]);
      assertEquals(at2[1], (Double) rounds.get(1).get("global_train_accuracy"), 1e-12);
      assertTrue(Math.abs(at5[0] - at2[0]) > 1e-4, "the curve moves: " + at2[0] + " -> " + at5[0]);
      // 4 silos or 1 partition of the same rows: the same figures.
      FederatedTrainer t = new FederatedTrainer(net(), config(5).build());
      Map<String, Double> four = t.evaluateTraining(data, r4.params());
      Map<String, Double> single = t.evaluateTraining(one, r4.params());
      assertEquals(single.get("global_train_loss"), four.get("global_train_loss"), 1e-9);
      assertEquals(single.get("global_train_accuracy"), four.get("global_train_accuracy"), 0.0);
      // Off (the default): no training-data evaluation at all.
      FederatedResult off = new FederatedTrainer(net(), config(2).build()).fit(data, null);
      assertTrue(off.history().records("round").stream().noneMatch(m -> m.containsKey("global_train_loss")));
    } finally {
      data.unpersist();
      one.unpersist();
      df.unpersist();
    }
  }

  @Test
  void holdOutKeepsEveryHeldOutRowInItsSilo() {
    Dataset<Row> df = silos(300, 5);
    Dataset<Row>[] parts = Silos.holdOut(df, 0.25, 7);
    assertEquals(5, parts[0].javaRDD().getNumPartitions());
    assertEquals(5, parts[1].javaRDD().getNumPartitions());
    Map<Integer, List<String>> silo = group(byPartition(df));
    Map<Integer, List<String>> train = group(byPartition(parts[0]));
    Map<Integer, List<String>> test = group(byPartition(parts[1]));
    Map<Integer, List<String>> testAgain = group(byPartition(parts[1])); // a recomputation splits the same way
    assertEquals(test, testAgain);
    int held = 0;
    for (int k = 0; k < 5; k++) {
      List<String> both = new ArrayList<>(train.getOrDefault(k, List.of()));
      List<String> t = test.getOrDefault(k, List.of());
      for (String row : t) assertFalse(both.contains(row), "silo " + k + ": row both trained on and held out");
      both.addAll(t);
      both.sort(Comparator.naturalOrder());
      assertEquals(silo.getOrDefault(k, List.of()), both, "silo " + k + ": training + held out = the silo's rows");
      held += t.size();
    }
    assertTrue(held > 40 && held < 110, "about a quarter of 300 rows held out: " + held);
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Silos.holdOut(df, 1.0, 7));
    assertEquals("silos.test_fraction: expected a fraction in (0, 1), found 1.0", bad.getMessage());
  }

  private static Map<Integer, List<String>> group(List<Tuple2<Integer, Row>> rows) {
    return rows.stream().collect(Collectors.groupingBy(Tuple2::_1,
        Collectors.collectingAndThen(Collectors.mapping(t -> t._2().toString(), Collectors.toList()), l -> {
          l.sort(Comparator.naturalOrder());
          return l;
        })));
  }

  @Test
  void perSiloAccuraciesEqualADriverComputationOnEachSilosHeldOutRows() {
    Dataset<Row>[] parts = Silos.holdOut(silos(360, 6), 0.3, 9);
    TrainingData train = TrainingData.decode(parts[0], SPEC);
    TrainingData test = TrainingData.decode(parts[1], SPEC);
    try {
      FederatedResult r = new FederatedTrainer(net(), config(3).siloValidation(true).build()).fit(train, test);
      Map<Integer, List<Row>> heldOut = byPartition(parts[1]).stream().collect(Collectors.groupingBy(Tuple2::_1,
          Collectors.mapping(Tuple2::_2, Collectors.toList())));
      List<SiloEvaluation> silos = r.siloValidation();
      assertEquals(6, silos.size());
      List<Double> accuracies = new ArrayList<>();
      for (int k = 0; k < 6; k++) {
        SiloEvaluation e = silos.get(k);
        assertEquals(k, e.silo());
        List<Row> rows = heldOut.getOrDefault(k, List.of());
        assertEquals(rows.size(), e.rows(), "silo " + k);
        if (rows.isEmpty()) {
          assertTrue(Double.isNaN(e.accuracy()));
          continue;
        }
        double[] expected = driverLossAndAccuracy(net(), r.params(), rows);
        assertEquals(expected[1], e.accuracy(), 1e-12, "silo " + k);
        assertEquals(expected[0], e.loss(), 1e-5 * expected[0], "silo " + k);
        accuracies.add(expected[1]);
      }
      accuracies.sort(Comparator.naturalOrder());
      assertTrue(accuracies.get(0) < accuracies.get(accuracies.size() - 1), "silos differ: " + accuracies);
      Map<String, Double> v = r.finalValidation();
      assertEquals(accuracies.get(0), v.get("val_accuracy_silo_min"), 1e-12);
      assertEquals(accuracies.get(accuracies.size() / 2), v.get("val_accuracy_silo_median"), 1e-12);
      assertEquals(accuracies.get(accuracies.size() - 1), v.get("val_accuracy_silo_max"), 1e-12);
      // The overall accuracy is over the union of the silos' held-out rows.
      double[] overall = driverLossAndAccuracy(net(), r.params(), parts[1].collectAsList());
      assertEquals(overall[1], v.get("val_accuracy"), 1e-12);
      // Per round: the quantiles at every evaluation.
      assertTrue(r.history().records("round").get(1).containsKey("val_accuracy_silo_median"));

      // A shared validation set: no per-silo figures.
      FederatedResult shared = new FederatedTrainer(net(), config(2).build()).fit(train, test);
      assertFalse(shared.finalValidation().containsKey("val_accuracy_silo_min"));
      assertTrue(shared.siloValidation().isEmpty());
      // siloValidation needs one validation partition per silo.
      TrainingData three = TrainingData.decode(parts[1].coalesce(3), SPEC);
      try {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> new FederatedTrainer(net(), config(2).siloValidation(true).build()).fit(train, three));
        assertEquals("validation data: expected one partition per silo (6, partition k = silo k's held-out rows)"
            + " with siloValidation, found 3", bad.getMessage());
      } finally {
        three.unpersist();
      }
    } finally {
      train.unpersist();
      test.unpersist();
    }
  }

  @Test
  void emptySilosAndSilosWithoutHeldOutRowsAreLeftOutNotAnError() {
    // Dirichlet(0.05) over 8 silos of 80 rows: some silos get no rows, others no held-out rows.
    Dataset<Row>[] parts = Silos.holdOut(silos(80, 8, 0.05), 0.2, 3);
    TrainingData train = TrainingData.decode(parts[0], SPEC);
    TrainingData test = TrainingData.decode(parts[1], SPEC);
    try {
      long[] trainRows = train.partitionRows();
      long[] testRows = test.partitionRows();
      assertTrue(Arrays.stream(trainRows).anyMatch(n -> n == 0), Arrays.toString(trainRows));
      assertTrue(Arrays.stream(testRows).anyMatch(n -> n == 0), Arrays.toString(testRows));
      FederatedResult r = new FederatedTrainer(net(), config(2).evalTrainLoss(true).siloValidation(true).build())
          .fit(train, test);
      List<Map<String, Object>> rounds = r.history().records("round");
      double[] all = driverLossAndAccuracy(net(), r.params(), parts[0].collectAsList());
      assertEquals(all[0], (Double) rounds.get(1).get("global_train_loss"), 1e-5 * all[0]);
      int without = 0;
      for (SiloEvaluation e : r.siloValidation()) {
        assertEquals(testRows[e.silo()], e.rows());
        if (e.rows() == 0) {
          assertTrue(Double.isNaN(e.accuracy()) && Double.isNaN(e.loss()), e.toString());
          without++;
        }
      }
      assertTrue(without > 0);
      assertTrue(r.finalValidation().get("val_accuracy_silo_min") >= 0, r.finalValidation().toString());
    } finally {
      train.unpersist();
      test.unpersist();
    }
  }
}
