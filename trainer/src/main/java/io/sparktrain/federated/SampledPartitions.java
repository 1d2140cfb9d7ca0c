package io.sparktrain.federated;

import java.io.Serializable;
import java.util.Arrays;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import scala.Function1;
import scala.reflect.ClassTag;

/**
 * The partitions of the silos a round uses, as an RDD of only those partitions: a round schedules,
 * serializes and tracks one task per sampled silo, not one per silo (with 10,000 silos and C = 0.01,
 * 100 tasks instead of 10,000).
 *
 * <p>Spark's {@link PartitionPruningRDD}: a narrow dependency on the kept partitions, so the tasks
 * read the silos' cached blocks where they are (the scheduler finds a cached parent's location through
 * the narrow dependency) and nothing is shuffled. Partition {@code i} of the result is partition
 * {@code silos[i]} of the input; the silo order is kept, so an ordered aggregation over the result
 * merges the silos in the same order as over all partitions.
 */
final class SampledPartitions {
  private SampledPartitions() {
  }

  /**
   * The partitions {@code silos} (strictly increasing) of {@code rdd}; {@code rdd} itself when they
   * are all of its partitions.
   */
  static <T> JavaRDD<T> of(JavaRDD<T> rdd, int[] silos) {
    int n = rdd.getNumPartitions();
    for (int i = 0; i < silos.length; i++) {
      if (silos[i] < 0 || silos[i] >= n || (i > 0 && silos[i] <= silos[i - 1])) {
        throw new IllegalArgumentException("sampled partitions: expected strictly increasing indices in [0, " + n
            + "), found " + silos[i] + " at position " + i);
      }
    }
    if (silos.length == n) {
      return rdd;
    }
    int[] keep = silos.clone();
    Function1<Object, Object> filter = (Function1<Object, Object> & Serializable)
        p -> Arrays.binarySearch(keep, (Integer) p) >= 0;
    ClassTag<T> tag = rdd.classTag();
    return new JavaRDD<>(PartitionPruningRDD.create(rdd.rdd(), filter), tag);
  }
}
