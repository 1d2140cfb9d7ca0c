package io.sparktrain.federated;

import io.sparktrain.data.Block;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;

/**
 * The silos' error-feedback residuals ({@link ErrorFeedback}), kept on the executors between rounds.
 *
 * <p>A residual is silo state: what quantization lost the last time the silo was sampled. It never
 * travels to the driver. The residuals live in an RDD with one {@link State} per silo, co-partitioned
 * with the silo blocks: round r's state is {@code blocks.zipPartitions(state of round r-1)} (a narrow
 * dependency, no shuffle), and the task that trains a silo also computes its new residual, so a
 * round is still one job: {@link #uploads} returns the round's uploads derived from the new state
 * RDD, which is persisted (MEMORY_AND_DISK) and filled by that job. A sampled silo quantizes
 * delta + residual and keeps (delta + residual) - dequantized; a silo not sampled keeps its residual
 * unchanged; a silo never sampled has none (zeros).
 *
 * <p>The state RDD is locally checkpointed every round ({@code localCheckpoint}: its blocks on the
 * executors become the lineage), so lineage does not grow over the rounds and no later task needs
 * an earlier round's model broadcast, which the round loop destroys after each round. After a
 * round's job, {@link #commit} drops the previous round's state from the executors.
 *
 * <p>Retries: a task reads the previous round's residual from that cached state, never mutates it
 * (it updates a copy), and its quantization noise is keyed by (seed, round, silo); so a retried or
 * speculative task returns the identical upload and residual. The price of keeping the residuals
 * only on the executors: when an executor holding one is lost, the next round fails (Spark reports
 * a missing checkpoint block) rather than silently resetting that residual.
 *
 * <p>Driver-side object; not thread-safe.
 */
final class SiloResiduals implements AutoCloseable {

  /** What a silo's task leaves in the cache for the next round. */
  static final class State implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The silo (partition index). */
    final int silo;
    /** This round's upload when sampled, else null; what the driver receives. */
    final SiloWork.Result upload;
    /** The residual after this round; null = zeros (never sampled). Never modified once stored. */
    final float[] residual;

    State(int silo, SiloWork.Result upload, float[] residual) {
      this.silo = silo;
      this.upload = upload;
      this.residual = residual;
    }
  }

  /** A sampled silo's work: trains on {@code block} and compresses with error feedback, updating {@code residual} in place. */
  interface Work extends Serializable {
    SiloWork.Result run(int silo, Block block, float[] residual) throws Exception;
  }

  private final JavaRDD<Block> blocks;
  private final int length;
  private JavaRDD<State> current;
  private JavaRDD<State> pending;

  /** Residuals of {@code length} values for each silo (partition) of {@code blocks}, all zero at first. */
  SiloResiduals(JavaRDD<Block> blocks, int length) {
    this.blocks = blocks;
    this.length = length;
  }

  /**
   * The uploads of round {@code round}: one per sampled non-empty silo. Computing them (the round's
   * job) also computes and caches every silo's new residual. Call {@link #commit} after the job.
   */
  JavaRDD<SiloWork.Result> uploads(long round, boolean[] sampled, Work work) {
    if (pending != null) {
      throw new IllegalStateException("error feedback: round " + round + " started before the previous round"
          + " was committed");
    }
    JavaRDD<State> previous = current != null ? current
        : blocks.mapPartitionsWithIndex((p, it) -> List.of(new State(p, null, null)).iterator(), true);
    int d = length;
    JavaRDD<State> next = blocks.zipPartitions(previous, (bs, ss) -> {
      Block b = Block.only(bs);
      State before = only(ss);
      TaskContext tc = TaskContext.get();
      if (tc != null && tc.partitionId() != before.silo) {
        throw new IllegalStateException("error feedback: partition " + tc.partitionId() + " was zipped with the"
            + " residual of silo " + before.silo + "; expected the residuals co-partitioned with the silos");
      }
      int p = before.silo;
      SiloWork.beforeWork(round, p);
      if (!sampled[p] || b.rows() == 0) {
        return List.of(new State(p, null, before.residual)).iterator(); // unchanged
      }
      float[] residual = before.residual == null ? new float[d] : before.residual.clone();
      SiloWork.Result r = work.run(p, b, residual);
      return List.of(new State(p, r, residual)).iterator();
    });
    next.setName("sparktrain error-feedback residuals, round " + round);
    next.persist(StorageLevel.MEMORY_AND_DISK());
    next.rdd().localCheckpoint(); // materialised and truncated by the round's job itself
    pending = next;
    return next.flatMap(s -> s.upload == null ? Collections.<SiloWork.Result>emptyIterator()
        : List.of(s.upload).iterator());
  }

  /** After the round's job succeeded: its residuals become current; the previous round's are dropped. */
  void commit() {
    if (pending == null) {
      throw new IllegalStateException("error feedback: nothing to commit");
    }
    if (current != null) {
      current.unpersist(false);
    }
    current = pending;
    pending = null;
  }

  /**
   * The residuals now held by the silos, by silo (null = zeros). For tests and diagnostics only:
   * this is the one place residuals would reach the driver, and the round loop never calls it.
   */
  List<float[]> collectForTesting() {
    if (current == null) {
      return Collections.emptyList();
    }
    return current.map(s -> s.residual).collect();
  }

  /** Drops every residual from the executors. */
  @Override
  public void close() {
    if (pending != null) {
      pending.unpersist(false);
      pending = null;
    }
    if (current != null) {
      current.unpersist(false);
      current = null;
    }
  }

  private static State only(Iterator<State> it) {
    if (!it.hasNext()) {
      throw new IllegalStateException("error feedback: expected one residual per silo, found none");
    }
    State s = it.next();
    if (it.hasNext()) {
      throw new IllegalStateException("error feedback: expected one residual per silo, found several");
    }
    return s;
  }
}
