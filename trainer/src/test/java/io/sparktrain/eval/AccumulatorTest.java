package io.sparktrain.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Merge rules and edge cases of the accumulators, without Spark. */
class AccumulatorTest {

  private static ClassificationAccumulator filled(int k, int rows, long seed) {
    Random r = new Random(seed);
    ClassificationAccumulator a = new ClassificationAccumulator(k);
    float[] p = new float[k];
    for (int i = 0; i < rows; i++) {
      float s = 0;
      for (int j = 0; j < k; j++) s += p[j] = r.nextFloat();
      for (int j = 0; j < k; j++) p[j] /= s;
      a.add(r.nextInt(k), p, 0, 0.5 + r.nextDouble());
    }
    return a;
  }

  private static void assertSameMetrics(ClassificationMetrics x, ClassificationMetrics y, double tol) {
    for (Map.Entry<String, Double> e : x.toMap().entrySet()) {
      double v = e.getValue();
      double o = y.toMap().get(e.getKey());
      if (Double.isNaN(v)) {
        assertTrue(Double.isNaN(o), e.getKey());
      } else {
        assertEquals(v, o, tol * Math.max(1, Math.abs(v)), e.getKey());
      }
    }
    assertEquals(x.weightedCount(), y.weightedCount(), tol * Math.max(1, x.weightedCount()));
  }

  @Test
  void emptyOnEitherSideIsTheIdentity() {
    for (int k : new int[] {2, 4}) {
      ClassificationMetrics m = filled(k, 500, k).result();
      assertSameMetrics(m, filled(k, 500, k).merge(new ClassificationAccumulator(k)).result(), 0);
      assertSameMetrics(m, new ClassificationAccumulator(k).merge(filled(k, 500, k)).result(), 0);
      ClassificationAccumulator empty = new ClassificationAccumulator(k).merge(new ClassificationAccumulator(k));
      assertTrue(empty.isEmpty());
      ClassificationMetrics e = empty.result();
      assertTrue(Double.isNaN(e.accuracy()) && Double.isNaN(e.logLoss()) && Double.isNaN(e.auc()));
      assertEquals(0, e.weightedCount());
    }
    RegressionAccumulator r = new RegressionAccumulator(2).merge(new RegressionAccumulator(2));
    assertTrue(Double.isNaN(r.result().mse()) && Double.isNaN(r.result().r2()));
    RegressionAccumulator a = new RegressionAccumulator(1);
    a.add(new float[] {1, 2}, 0, new float[] {0, 0}, 0, 2.0);
    a.add(new float[] {1, 2}, 1, new float[] {0, 0}, 1, 1.0);
    assertEquals(a.result().toMap(),
        new RegressionAccumulator(1).merge(a).merge(new RegressionAccumulator(1)).result().toMap());
  }

  @Test
  void mergeOrderDoesNotMatter() {
    for (int k : new int[] {2, 3}) {
      ClassificationMetrics abc = filled(k, 300, 1).merge(filled(k, 200, 2)).merge(filled(k, 100, 3)).result();
      ClassificationMetrics cab = filled(k, 100, 3).merge(filled(k, 300, 1).merge(filled(k, 200, 2))).result();
      ClassificationMetrics bca = new ClassificationAccumulator(k).merge(filled(k, 200, 2))
          .merge(filled(k, 100, 3).merge(filled(k, 300, 1))).result();
      assertSameMetrics(abc, cab, 1e-12);
      assertSameMetrics(abc, bca, 1e-12);
    }
  }

  @Test
  void rejectsBadInput() {
    ClassificationAccumulator a = new ClassificationAccumulator(3);
    float[] p = {0.2f, 0.3f, 0.5f};
    assertThrows(IllegalArgumentException.class, () -> a.add(3, p, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> a.add(-1, p, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> a.add(0, p, 0, -1));
    assertThrows(IllegalArgumentException.class, () -> a.add(0, p, 0, Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> a.merge(new ClassificationAccumulator(2)));
    assertThrows(IllegalArgumentException.class, () -> new ClassificationAccumulator(1));
    assertThrows(IllegalArgumentException.class,
        () -> new RegressionAccumulator(1).merge(new RegressionAccumulator(2)));
    assertTrue(a.isEmpty());
  }

  private static double auc(float[] scores, int[] labels) {
    ClassificationAccumulator a = new ClassificationAccumulator(2);
    for (int i = 0; i < scores.length; i++) a.add(labels[i], new float[] {1 - scores[i], scores[i]}, 0, 1);
    return a.result().auc();
  }

  @Test
  void aucEdgeCases() {
    int[] labels = {0, 0, 1, 1};
    assertEquals(1.0, auc(new float[] {0.1f, 0.2f, 0.8f, 0.9f}, labels), 0);
    assertEquals(0.0, auc(new float[] {0.9f, 0.8f, 0.2f, 0.1f}, labels), 0);
    // All tied: the ROC is the diagonal.
    assertEquals(0.5, auc(new float[] {0.5f, 0.5f, 0.5f, 0.5f}, labels), 0);
    // One positive tied with one negative at the top, the other positive below the other negative...
    assertEquals((1 * 0.5 + 0) / 4.0 + 0.25, auc(new float[] {0.3f, 0.9f, 0.9f, 0.1f}, labels), 1e-12);
    // Scores 0 and 1 land in the first and last bins.
    assertEquals(1.0, auc(new float[] {0f, 0f, 1f, 1f}, labels), 0);
    assertTrue(Double.isNaN(auc(new float[] {0.1f, 0.2f}, new int[] {1, 1})));
  }

  @Test
  void logLossClipsAndAccuracyCounts() {
    ClassificationAccumulator a = new ClassificationAccumulator(2);
    a.add(1, new float[] {1f, 0f}, 0, 1);
    a.add(0, new float[] {1f, 0f}, 0, 3);
    ClassificationMetrics m = a.result();
    assertEquals((-Math.log(1e-15) - 3 * Math.log(1 - 1e-15)) / 4, m.logLoss(), 1e-12);
    assertEquals(0.75, m.accuracy(), 0);
    assertEquals(0.0, m.precision(1), 0); // never predicted
    assertEquals(0.0, m.recall(1), 0);
    assertEquals(0.75, m.precision(0), 0);
    assertArrayEquals(new double[] {3, 0}, m.confusionMatrix()[0]);
    assertArrayEquals(new double[] {1, 0}, m.confusionMatrix()[1]);
    assertEquals(2, m.numClasses());
    assertEquals(List.of("accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
        "recall_weighted", "f1_weighted", "log_loss", "auc"), List.copyOf(m.toMap().keySet()));
    assertFalse(filled(3, 10, 1).result().toMap().containsKey("auc"));
    // The matrix handed out is a copy.
    m.confusionMatrix()[0][0] = 99;
    assertEquals(3, m.confusionMatrix()[0][0], 0);
  }

  @Test
  void macroAveragesSkipClassesThatNeverOccur() {
    ClassificationAccumulator a = new ClassificationAccumulator(4);
    a.add(0, new float[] {0.9f, 0.1f, 0, 0}, 0, 1);
    a.add(1, new float[] {0.6f, 0.4f, 0, 0}, 0, 1);
    ClassificationMetrics m = a.result();
    // Classes 2 and 3 never occur as true or predicted classes; class 1 occurs but is never predicted.
    assertEquals((0.5 + 0) / 2, m.precisionMacro(), 1e-12);
    assertEquals((1 + 0) / 2.0, m.recallMacro(), 1e-12);
    assertEquals((2 * 0.5 / 1.5 + 0) / 2, m.f1Macro(), 1e-12);
  }

  @Test
  void regressionConstantTargetAndJson() {
    RegressionAccumulator a = new RegressionAccumulator(2);
    a.add(new float[] {1, 5}, 0, new float[] {1, 4}, 0, 1);
    a.add(new float[] {1, 9}, 0, new float[] {1, 10}, 0, 1);
    RegressionMetrics m = a.result();
    assertEquals(1.0, m.r2(0), 0); // constant target, perfect fit
    assertEquals(0.75, m.r2(1), 1e-12); // SSres = 2, SStot = 8
    assertEquals(0.875, m.r2(), 1e-12);
    assertEquals(0.5, m.mse(), 1e-12);
    assertEquals(0.5, m.rmse(), 1e-12); // mean of per-output RMSEs (0 and 1)
    String json = m.toJson();
    assertTrue(json.startsWith("{\"mse\":0.5,\"rmse\":0.5,\"mae\":0.5,\"r2\":0.875,\"outputs\":2,"), json);
    RegressionAccumulator b = new RegressionAccumulator(1);
    b.add(new float[] {2}, 0, new float[] {3}, 0, 1);
    assertEquals(0.0, b.result().r2(), 0); // constant target, imperfect fit
    assertTrue(new ClassificationAccumulator(3).result().toJson().contains("\"accuracy\":null"));
  }

  @Test
  void accumulatorsSerializeAndStaySmallWhenEmpty() throws Exception {
    assertTrue(bytes(new ClassificationAccumulator(2)).length < 1000);
    ClassificationAccumulator a = filled(2, 50, 7);
    byte[] data = bytes(a);
    ClassificationAccumulator copy;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(data))) {
      copy = (ClassificationAccumulator) in.readObject();
    }
    assertSameMetrics(a.result(), copy.result(), 0);
  }

  private static byte[] bytes(Object o) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
      out.writeObject(o);
    }
    return bos.toByteArray();
  }
}
