package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.federated.RobustAggregation.Selection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RobustAggregationTest {
  private static final List<float[]> FIVE = List.of(
      new float[] {1, 10}, new float[] {2, 30}, new float[] {3, 20}, new float[] {4, 50}, new float[] {100, 40});

  @Test
  void medianByHand() {
    assertArrayEquals(new float[] {3, 30}, RobustAggregation.median(FIVE, null));
    // Even count: mean of the two middle values.
    assertArrayEquals(new float[] {2.5f, 25}, RobustAggregation.median(FIVE.subList(0, 4), null));
    // Weights: silo 0 holds 6 of 10 units, so its values are the median.
    assertArrayEquals(new float[] {1, 10}, RobustAggregation.median(FIVE, new double[] {6, 1, 1, 1, 1}));
    // Cumulative weight exactly half at the second value: mean of the second and third.
    assertArrayEquals(new float[] {2.5f, 25}, RobustAggregation.median(FIVE.subList(0, 4), new double[] {1, 2, 2, 1}));
  }

  @Test
  void trimmedMeanByHand() {
    // beta 0.2 of 5: drop 1 per side: coordinate 0 keeps 2, 3, 4; coordinate 1 keeps 20, 30, 40.
    assertArrayEquals(new float[] {3, 30}, RobustAggregation.trimmedMean(FIVE, null, 0.2));
    // beta 0.1: floor(0.5) = 0, the plain mean.
    assertArrayEquals(new float[] {22, 30}, RobustAggregation.trimmedMean(FIVE, null, 0.1));
    assertArrayEquals(new float[] {22, 30}, RobustAggregation.mean(FIVE, null));
    // Weighted over the kept silos 1, 2, 3 (coordinate 0) with weights 1, 2, 1: (2 + 6 + 4) / 4.
    float[] w = RobustAggregation.trimmedMean(FIVE, new double[] {5, 1, 2, 1, 5}, 0.2);
    assertEquals(3, w[0], 1e-6);
    // Coordinate 1 keeps silos 2, 1, 4 (20, 30, 40) with weights 2, 1, 5: (40 + 30 + 200) / 8.
    assertEquals(270.0 / 8, w[1], 1e-5);
    assertThrows(IllegalArgumentException.class, () -> RobustAggregation.trimmedMean(FIVE, null, 0.5));
  }

  /**
   * Four points on a line at 0, 1, 2, 3 and one at 100, f = 1: each scores its n - f - 2 = 2 nearest
   * squared distances: 0 -> 1 + 4 = 5, 1 -> 1 + 1 = 2, 2 -> 1 + 1 = 2, 3 -> 1 + 4 = 5,
   * 100 -> 97^2 + 98^2. Krum picks index 1 (tie with 2 broken by index); Multi-Krum m = 2 averages 1 and 2.
   */
  @Test
  void krumByHand() {
    List<float[]> pts = List.of(new float[] {0}, new float[] {1}, new float[] {2}, new float[] {3}, new float[] {100});
    Selection krum = RobustAggregation.multiKrum(pts, null, 1, 1);
    assertArrayEquals(new double[] {5, 2, 2, 5, 97 * 97 + 98 * 98}, krum.scores(), 1e-12);
    assertArrayEquals(new int[] {1}, krum.selected());
    assertArrayEquals(new float[] {1}, krum.aggregate());
    Selection two = RobustAggregation.multiKrum(pts, null, 1, 2);
    assertArrayEquals(new int[] {1, 2}, two.selected());
    assertArrayEquals(new float[] {1.5f}, two.aggregate());
    Selection four = RobustAggregation.multiKrum(pts, new double[] {1, 1, 1, 3, 1}, 1, 4);
    assertArrayEquals(new float[] {(0 + 1 + 2 + 9) / 6f}, four.aggregate());
    assertThrows(IllegalArgumentException.class, () -> RobustAggregation.multiKrum(pts, null, 2, 1));
  }

  /** One silo of eight sends 1e6 * ones: the robust rules stay near the honest mean, the mean does not. */
  @Test
  void outlierDoesNotMoveTheRobustAggregates() {
    int d = 50;
    SplittableRandom rnd = new SplittableRandom(11);
    List<float[]> silos = new ArrayList<>();
    float[] honestMean = new float[d];
    for (int s = 0; s < 7; s++) {
      float[] u = new float[d];
      for (int i = 0; i < d; i++) {
        u[i] = (float) (0.5 + 0.1 * rnd.nextGaussian());
        honestMean[i] += u[i] / 7;
      }
      silos.add(u);
    }
    float[] attack = new float[d];
    Arrays.fill(attack, 1e6f);
    silos.add(3, attack);
    double[] w = {1, 2, 1, 1, 3, 1, 2, 1};
    assertTrue(maxDiff(RobustAggregation.mean(silos, w), honestMean) > 1e4);
    assertTrue(maxDiff(RobustAggregation.median(silos, w), honestMean) < 0.3);
    assertTrue(maxDiff(RobustAggregation.trimmedMean(silos, w, 0.125), honestMean) < 0.3);
    Selection krum = RobustAggregation.multiKrum(silos, w, 1, 5);
    assertTrue(maxDiff(krum.aggregate(), honestMean) < 0.3);
    for (int s : krum.selected()) assertTrue(s != 3, "Krum selected the attacker");
  }

  @Test
  void rejectsMismatchedInputs() {
    assertThrows(IllegalArgumentException.class, () -> RobustAggregation.median(List.of(), null));
    assertThrows(IllegalArgumentException.class,
        () -> RobustAggregation.median(List.of(new float[2], new float[3]), null));
    assertThrows(IllegalArgumentException.class, () -> RobustAggregation.median(FIVE, new double[] {1, 2}));
    assertThrows(IllegalArgumentException.class,
        () -> RobustAggregation.median(List.of(new float[] {Float.NaN}), null));
  }

  private static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }
}
