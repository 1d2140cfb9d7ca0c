package io.sparktrain.federated;

import io.sparktrain.data.Block;
import io.sparktrain.train.RoundLoop;
import io.sparktrain.train.TaskHook;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;

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
 * <p>Checkpoints ({@link #save}, {@link #load}): with a federated checkpoint each silo's task writes
 * its own residual from the executor into the round's state directory ({@link ResidualFiles}), one
 * job over the current state RDD ({@code foreachPartition}: no shuffle, nothing returned); a resumed
 * run's silos read their own files back ({@code blocks.mapPartitionsWithIndex}), in one job at resume
 * that also caches them, so a missing or damaged file fails before any round. The driver only names
 * the directory.
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

  /**
   * A sampled silo's work: trains on {@code block} and compresses with error feedback, updating
   * {@code residual} in place.
   */
  interface Work extends Serializable {
    SiloWork.Result run(int silo, Block block, float[] residual) throws Exception;
  }

  private final JavaRDD<Block> blocks;
  private final int length;
  private JavaRDD<State> current;
  private JavaRDD<State> pending;
  /** The residuals read from a checkpoint at resume (cached), until the first round replaces them. */
  private JavaRDD<State> loaded;

  /** Residuals of {@code length} values for each silo (partition) of {@code blocks}, all zero at first. */
  SiloResiduals(JavaRDD<Block> blocks, int length) {
    this.blocks = blocks;
    this.length = length;
  }

  /**
   * The uploads of round {@code round}: one per sampled non-empty silo. Computing them (the round's
   * job) also computes and caches every silo's new residual. Call {@link #commit} after the job.
   */
  JavaRDD<SiloWork.Result> uploads(long round, boolean[] sampled, TaskHook hook, Work work) {
    if (pending != null) {
      throw new IllegalStateException("error feedback: round " + round + " started before the previous round"
          + " was committed");
    }
    JavaRDD<State> previous = start();
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
      SiloWork.beforeWork(hook, round, p);
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
    if (loaded != null) {
      loaded.unpersist(false); // the new state is locally checkpointed: nothing reads the files' residuals again
      loaded = null;
    }
    current = pending;
    pending = null;
  }

  /** The residuals now held: those of the last committed round, else those loaded at resume, else zeros. */
  private JavaRDD<State> start() {
    if (current != null) {
      return current;
    }
    if (loaded != null) {
      return loaded;
    }
    return blocks.mapPartitionsWithIndex((p, it) -> List.of(new State(p, null, null)).iterator(), true);
  }

  /**
   * Checkpoint, step 1: every silo's task writes its residual (or a file saying it has none) to
   * {@code dir} ({@link ResidualFiles}), from the executor that holds it. One job named
   * "sparktrain federated checkpoint residuals round r" ({@link LocalityAudit} does not count it as a
   * round); nothing is returned to the driver. Call after {@link #commit}.
   */
  void save(String dir, long round, SerializableConfiguration hconf) {
    if (pending != null) {
      throw new IllegalStateException("error feedback: the residuals of round " + round + " were saved before the"
          + " round was committed");
    }
    JavaRDD<State> states = start();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    try (RoundLoop.JobDescription jobs = RoundLoop.JobDescription.keep(jsc)) {
      jobs.set("sparktrain federated checkpoint residuals round " + round);
      states.foreachPartition(it -> {
        State s = only(it);
        checkSilo(s);
        ResidualFiles.write(new Path(dir).getFileSystem(hconf.value()), dir, round, s.silo, s.residual);
      });
    }
  }

  /**
   * Resume: the silos start from the residuals saved in {@code dir} with the checkpoint of
   * {@code round}. Each silo's task reads its own file ({@code blocks.mapPartitionsWithIndex}); one job
   * ("sparktrain federated resume residuals round r") reads and caches them all now, so a missing or
   * damaged file fails here, before any round, with a {@link ResidualFiles.Corrupt} naming the silo,
   * the round and the path. Call before the first round.
   */
  void load(String dir, long round, SerializableConfiguration hconf) {
    if (current != null || pending != null || loaded != null) {
      throw new IllegalStateException("error feedback: residuals can only be loaded before the first round");
    }
    int d = length;
    JavaRDD<State> states = blocks.mapPartitionsWithIndex((p, it) -> {
      float[] r = ResidualFiles.read(new Path(dir).getFileSystem(hconf.value()), dir, round, p, d);
      return List.of(new State(p, null, r)).iterator();
    }, true);
    states.setName("sparktrain error-feedback residuals, resumed from round " + round);
    states.persist(StorageLevel.MEMORY_AND_DISK());
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    try (RoundLoop.JobDescription jobs = RoundLoop.JobDescription.keep(jsc)) {
      jobs.set("sparktrain federated resume residuals round " + round);
      states.foreachPartition(it -> only(it));
    } catch (Exception e) { // Spark's job failure is a SparkException, a checked exception thrown from Scala
      states.unpersist(false);
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof ResidualFiles.Corrupt) {
          throw new ResidualFiles.Corrupt(t.getMessage(), e); // the silo's own message, not Spark's wrapper
        }
      }
      throw SiloResiduals.<RuntimeException>rethrow(e);
    }
    loaded = states;
  }

  /** Rethrows {@code e} unchanged, checked or not (Spark throws checked exceptions undeclared). */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E rethrow(Throwable e) throws E {
    throw (E) e;
  }

  private static void checkSilo(State s) {
    TaskContext tc = TaskContext.get();
    if (tc != null && tc.partitionId() != s.silo) {
      throw new IllegalStateException("error feedback: partition " + tc.partitionId() + " holds the residual of silo "
          + s.silo + "; expected the residuals co-partitioned with the silos");
    }
  }

  /**
   * The residuals now held by the silos, by silo (null = zeros). For tests and diagnostics only:
   * this is the one place residuals would reach the driver, and the round loop never calls it.
   */
  List<float[]> collectForTesting() {
    if (current == null && loaded == null) {
      return Collections.emptyList();
    }
    return start().map(s -> s.residual).collect();
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
    if (loaded != null) {
      loaded.unpersist(false);
      loaded = null;
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
