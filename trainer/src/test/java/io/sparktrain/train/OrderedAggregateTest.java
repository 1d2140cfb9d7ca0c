package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparktrain.testing.Spark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ordered aggregation against an independent sum in partition order on the driver, with task
 * finishing orders forced to differ from run to run. The values are chosen so that float addition
 * in another order gives another result (a control checks that).
 */
class OrderedAggregateTest {
  private static SparkSession spark;
  private static JavaSparkContext jsc;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "OrderedAggregateTest");
    jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /**
   * Partition p holds two updates. Component 0 is +1e8 in partition 0, -1e8 in partition 1 and 1
   * elsewhere: added before the two large values cancel, a 1 is lost (the float spacing at 1e8 is 8),
   * so the sum depends on where partitions 0 and 1 come in the order.
   */
  static List<Update> updates(int partitions) {
    List<Update> out = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      for (int k = 0; k < 2; k++) {
        float c0 = p == 0 ? 5e7f : p == 1 ? -5e7f : 0.5f;
        float[] v = {c0, 1.1f + p + 0.37f * k};
        out.add(new Update(v, 1 + p + k, 0.5 * p, 1, 1));
      }
    }
    return out;
  }

  /** The same updates, each partition delayed so that finishing orders differ with {@code shift}. */
  static JavaRDD<Update> rdd(int partitions, int shift) {
    return jsc.parallelize(updates(partitions), partitions).mapPartitionsWithIndex((p, it) -> {
      Thread.sleep(((p + shift) * 7L) % (3L * partitions));
      return it;
    }, true);
  }

  /** Each partition's own sum, then those sums left to right: depth 1's merge order, computed here. */
  static float[] inOrder(int partitions) {
    List<Update> all = updates(partitions);
    Update acc = new Update();
    for (int p = 0; p < partitions; p++) {
      acc.merge(new Update().merge(all.get(2 * p)).merge(all.get(2 * p + 1)));
    }
    return acc.vector();
  }

  @Test
  void equalsTheSequentialSumForAnyFinishingOrderAndDepth() {
    for (int partitions : new int[] {1, 5, 16}) {
      float[] expected = inOrder(partitions);
      for (int depth : new int[] {1, 2, 3}) {
        for (int shift = 0; shift < 3; shift++) {
          Update u = OrderedAggregate.aggregate(rdd(partitions, shift), Update::new, Update::merge, depth);
          if (depth == 1) {
            // Depth 1 merges left to right: exactly the sequential sum.
            assertArrayEquals(expected, u.vector(), partitions + " partitions, shift " + shift);
          }
          Update again = OrderedAggregate.aggregate(rdd(partitions, shift + 5), Update::new, Update::merge, depth);
          assertArrayEquals(u.vector(), again.vector(), "depth " + depth + ", " + partitions + " partitions");
          assertEquals(2L * partitions, u.rows());
          assertEquals(2 * partitions, u.parts());
        }
      }
    }
  }

  @Test
  void theseValuesDependOnTheMergeOrder() {
    // The control: merged in another order, the same partition sums give another float sum, so the
    // exact equality above would fail for an aggregation that merges in finishing order.
    List<Update> all = updates(16);
    Update reversed = new Update();
    for (int p = 15; p >= 0; p--) {
      reversed.merge(new Update().merge(all.get(2 * p)).merge(all.get(2 * p + 1)));
    }
    assertFalse(Arrays.equals(inOrder(16), reversed.vector()),
        "expected order-dependent sums, found " + Arrays.toString(reversed.vector()));
  }

  @Test
  void emptyPartitionsAndBadDepth() {
    JavaRDD<Update> empty = jsc.parallelize(new ArrayList<Update>(), 3);
    assertEquals(true, OrderedAggregate.aggregate(empty, Update::new, Update::merge, 2).isEmpty());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OrderedAggregate.aggregate(empty, Update::new, Update::merge, 0));
    assertEquals("aggregation depth: expected >= 1, found 0", e.getMessage());
  }
}
