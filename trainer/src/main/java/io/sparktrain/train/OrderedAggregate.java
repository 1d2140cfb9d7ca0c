package io.sparktrain.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Function1;
import scala.Function2;
import scala.Tuple2;
import scala.collection.Iterator;
import scala.reflect.ClassTag$;
import scala.reflect.ClassTag;
import scala.runtime.BoxedUnit;

/**
 * {@code treeAggregate} with a fixed merge order: the result depends on the data only, never on which
 * task finished first. Spark's {@code treeAggregate} (and {@code fold}, {@code aggregate}) merges task
 * results on the driver in the order they arrive; float sums are not associative, so two runs of the
 * same round, or a round with a retried task, can differ in the last bits. Here:
 *
 * <ul>
 *   <li>each partition folds its own elements in order;
 *   <li>with {@code depth > 1} and many partitions, the partials are combined on the executors in
 *       levels, as {@code treeAggregate} does (one shuffle of partial aggregates per level), each
 *       group of consecutive partitions merged in partition order;
 *   <li>the driver merges the last level in partition order as results arrive, holding back only
 *       those that arrive ahead of a missing lower partition.
 * </ul>
 * So the merge is always ((p0 + p1) + p2) + ... within a group, and the sum is bit-for-bit the same
 * for any task timing, retry or speculative copy.
 */
public final class OrderedAggregate {
  /** The aggregator's zero: a new, empty accumulator each time it is called. */
  public interface Zero<T> extends Serializable {
    T get();
  }

  /** Merges {@code next} into {@code acc}, returning the result (which may be {@code acc} itself). */
  public interface Merge<T> extends Serializable {
    T apply(T acc, T next);
  }

  private OrderedAggregate() {
  }

  /** The elements of {@code rdd} merged in (partition, position) order, with a tree of {@code depth} levels. */
  public static <T> T aggregate(JavaRDD<T> rdd, Zero<T> zero, Merge<T> merge, int depth) {
    if (depth < 1) {
      throw new IllegalArgumentException("aggregation depth: expected >= 1, found " + depth);
    }
    // One accumulator per partition, always exactly one (possibly still zero).
    JavaRDD<T> partial = rdd.mapPartitions(it -> {
      T acc = zero.get();
      while (it.hasNext()) {
        acc = merge.apply(acc, it.next());
      }
      return List.of(acc).iterator();
    }, true);
    int n = partial.getNumPartitions();
    if (n == 0) {
      return zero.get();
    }
    // The same level rule as Spark's treeAggregate.
    int scale = Math.max((int) Math.ceil(Math.pow(n, 1.0 / depth)), 2);
    while (n > scale + (int) Math.ceil((double) n / scale)) {
      int groups = (int) Math.ceil((double) n / scale);
      int fanIn = scale;
      JavaPairRDD<Integer, Tuple2<Integer, T>> keyed = partial.mapPartitionsWithIndex((i, it) -> {
        List<Tuple2<Integer, Tuple2<Integer, T>>> out = new ArrayList<>(1);
        while (it.hasNext()) {
          out.add(new Tuple2<>(i / fanIn, new Tuple2<>(i, it.next())));
        }
        return out.iterator();
      }, true).mapToPair(t -> t);
      // Integer keys 0..groups-1 land in the partition of the same number.
      partial = keyed.groupByKey(new HashPartitioner(groups)).mapPartitions(it -> {
        T acc = zero.get();
        while (it.hasNext()) {
          TreeMap<Integer, T> byIndex = new TreeMap<>();
          for (Tuple2<Integer, T> x : it.next()._2()) byIndex.put(x._1(), x._2());
          for (T x : byIndex.values()) acc = merge.apply(acc, x);
        }
        return List.of(acc).iterator();
      }, true);
      n = groups;
    }
    InOrder<T> inOrder = new InOrder<>(zero.get(), merge);
    @SuppressWarnings("unchecked")
    ClassTag<T> tag = (ClassTag<T>) ClassTag$.MODULE$.apply(Object.class);
    partial.context().runJob(partial.rdd(),
        (Function1<Iterator<T>, T> & Serializable) it -> it.next(),
        (Function2<Object, T, BoxedUnit>) (i, u) -> {
          inOrder.add((Integer) i, u);
          return BoxedUnit.UNIT;
        }, tag);
    return inOrder.result(n);
  }

  /** Merges results by partition index in increasing order, buffering those that arrive early. */
  private static final class InOrder<T> {
    private final Merge<T> merge;
    private final TreeMap<Integer, T> waiting = new TreeMap<>();
    private T acc;
    private int next;

    InOrder(T zero, Merge<T> merge) {
      this.acc = zero;
      this.merge = merge;
    }

    synchronized void add(int index, T value) {
      waiting.put(index, value);
      while (!waiting.isEmpty() && waiting.firstKey() == next) {
        acc = merge.apply(acc, waiting.pollFirstEntry().getValue());
        next++;
      }
    }

    synchronized T result(int expected) {
      if (next != expected) {
        throw new IllegalStateException("ordered aggregate: merged " + next + " of " + expected
            + " partitions (waiting: " + waiting.keySet() + ")");
      }
      return acc;
    }
  }
}
