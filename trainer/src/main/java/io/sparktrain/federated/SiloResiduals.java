package io.sparktrain.federated;

import io.sparktrain.data.Block;
import io.sparktrain.train.RoundLoop;
import io.sparktrain.train.TaskHook;
import io.sparktrain.data.IntList;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The silos' error-feedback residuals ({@link ErrorFeedback}), kept on the executors between rounds.
 *
 * <p>A residual is silo state: what compression lost the last time the silo was sampled. It never
 * travels to the driver. A round touches only its sampled silos' partitions ({@link SampledPartitions}):
 * the round's job reads each sampled silo's block zipped with the state that holds its last residual
 * (a narrow dependency, no shuffle) and leaves the silo's new residual in the round's state RDD (one
 * partition per sampled silo, persisted MEMORY_AND_DISK), from which the round's uploads are derived;
 * so a round is still one job, and a silo not sampled is not touched at all.
 *
 * <p>The residuals live in parts: RDDs of states of a few silos, in increasing silo order. The
 * driver keeps, per silo, which part holds its latest residual (none: never sampled, zeros), and a
 * count of the silos each part still holds. A round's sampled silos are grouped by their part; each
 * group zips the pruned blocks with the pruned part and becomes a new part (one group, one new part,
 * when every sampled silo's residual is in the same part, as with C = 1); the round's job runs the
 * union of the new parts. A part is dropped from the executors once no silo's latest residual is in
 * it. Every part is locally checkpointed ({@code localCheckpoint}: its blocks on the executors become
 * the lineage), so no later task needs an earlier round's model broadcast, which the round loop
 * destroys after each round, and lineage does not grow over the rounds.
 *
 * <p>Retries: a task reads the previous residual from a cached part, never mutates it (it
 * updates a copy), and its compression noise is keyed by (seed, round, silo); so a retried or
 * speculative task returns the identical upload and residual. The price of keeping the residuals
 * only on the executors: when an executor holding one is lost, the next round that samples the silo
 * fails (Spark reports a missing checkpoint block) rather than silently resetting that residual.
 *
 * <p>Checkpoints ({@link #save}, {@link #load}): with a federated checkpoint each silo that has a
 * residual writes it from the executor into the round's state directory ({@link ResidualFiles}), one
 * job over the live parts ({@code foreachPartition}: no shuffle, nothing returned); then the
 * driver writes the directory's manifest, the list of silos that have a file. A resumed run's listed
 * silos read their own files back, in one job at resume that also caches them, so a missing or
 * damaged file fails before any round. The driver only names the directory and the silos.
 *
 * <p>Driver-side object; not thread-safe.
 */
final class SiloResiduals implements AutoCloseable {
  /** {@link #where} of a silo never sampled (zeros). */
  private static final long NONE = Long.MIN_VALUE;

  /** What a silo's task leaves in the cache for the next round. */
  static final class State implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The silo (partition index of the blocks). */
    final int silo;
    /** This round's upload, or null (an empty silo); what the driver receives. */
    final SiloWork.Result upload;
    /** The residual after this round; null = zeros. Never modified once stored. */
    final float[] residual;

    State(int silo, SiloWork.Result upload, float[] residual) {
      this.silo = silo;
      this.upload = upload;
      this.residual = residual;
    }
  }

  /**
   * A sampled silo's work: trains on {@code block} for {@code steps} ({@link Stragglers#FULL} or a
   * straggler's budget) and compresses with error feedback, updating {@code residual} in place.
   */
  interface Work extends Serializable {
    SiloWork.Result run(int silo, int steps, Block block, float[] residual) throws Exception;
  }

  /** States of a few silos: partition j holds silo {@code silos[j]}; silos increasing. */
  private static final class Part {
    final JavaRDD<State> states;
    final int[] silos;
    /** Silos whose latest residual is here. */
    int live;

    Part(JavaRDD<State> states, int[] silos) {
      this.states = states;
      this.silos = silos;
    }
  }

  private final JavaRDD<Block> blocks;
  private final int length;
  /** Per silo: the id of the part holding its latest residual, or {@link #NONE}. */
  private final long[] where;
  private final Map<Long, Part> parts = new HashMap<>();
  private long nextPart;
  /** The parts computed by the round's job and not yet committed, by id. */
  private Map<Long, Part> pending;

  /** Residuals of {@code length} values for each silo (partition) of {@code blocks}, all zero at first. */
  SiloResiduals(JavaRDD<Block> blocks, int length) {
    this.blocks = blocks;
    this.length = length;
    this.where = new long[blocks.getNumPartitions()];
    Arrays.fill(where, NONE);
  }

  /**
   * The uploads of round {@code round} from the sampled silos {@code silos} (increasing), each with
   * its step budget ({@code steps}, aligned). Computing them (the round's job) also computes and
   * caches these silos' new residuals. Call {@link #commit} after the job.
   */
  JavaRDD<SiloWork.Result> uploads(long round, int[] silos, int[] steps, TaskHook hook, Work work) {
    if (pending != null) {
      throw new IllegalStateException("error feedback: round " + round + " started before the previous round"
          + " was committed");
    }
    if (silos.length == 0) {
      throw new IllegalArgumentException("error feedback: round " + round + " has no sampled silo");
    }
    // The sampled silos by the part that holds their residual, each group in silo order.
    TreeMap<Long, IntList> groups = new TreeMap<>();
    for (int s : silos) groups.computeIfAbsent(where[s], k -> new IntList()).add(s);
    int d = length;
    // The round's blocks, pruned once (one pass over the silos); each group prunes this small RDD.
    JavaRDD<Block> roundBlocks = SampledPartitions.of(blocks, silos);
    Map<Long, Part> made = new LinkedHashMap<>();
    List<JavaRDD<State>> next = new ArrayList<>();
    for (Map.Entry<Long, IntList> e : groups.entrySet()) {
      int[] group = e.getValue().toArray();
      int[] groupSteps = new int[group.length];
      int[] inRound = new int[group.length]; // the group's partitions of roundBlocks, increasing
      for (int j = 0; j < group.length; j++) {
        inRound[j] = Arrays.binarySearch(silos, group[j]);
        groupSteps[j] = steps[inRound[j]];
      }
      JavaRDD<Block> groupBlocks = SampledPartitions.of(roundBlocks, inRound);
      // The state to start from: the part's, or zeros for silos never sampled; pruned to the group.
      JavaRDD<State> before;
      if (e.getKey() == NONE) {
        before = groupBlocks.mapPartitionsWithIndex(
            (j, it) -> List.of(new State(group[j], null, null)).iterator(), true);
      } else {
        Part from = parts.get(e.getKey());
        int[] positions = new int[group.length]; // increasing, as the part's silos and the group are
        for (int j = 0; j < group.length; j++) positions[j] = Arrays.binarySearch(from.silos, group[j]);
        before = SampledPartitions.of(from.states, positions);
      }
      // A zip (not a map after it): a locally checkpointed ZippedPartitionsRDD2 drops its function, and
      // with it the round's model broadcast, which later rounds' tasks must not serialize.
      JavaRDD<State> states = groupBlocks.zipPartitions(before, (bs, ss) -> {
        State from = only(ss);
        int j = Arrays.binarySearch(group, from.silo);
        if (j < 0) {
          throw new IllegalStateException("error feedback: the residual of silo " + from.silo + " was zipped into a"
              + " round's group of silos " + Arrays.toString(group));
        }
        return List.of(step(Block.only(bs), from.residual, group[j], groupSteps[j], d, round, hook, work)).iterator();
      });
      states.setName("sparktrain error-feedback residuals, round " + round);
      states.persist(StorageLevel.MEMORY_AND_DISK());
      states.rdd().localCheckpoint(); // materialised and truncated by the round's job itself
      made.put(nextPart++, new Part(states, group));
      next.add(states);
    }
    pending = made; // set last: a failure above leaves nothing half-registered
    JavaRDD<State> all = next.size() == 1 ? next.get(0)
        : JavaSparkContext.fromSparkContext(blocks.context()).union(next.toArray(JavaRDD[]::new));
    return all.flatMap(st -> st.upload == null ? Collections.<SiloWork.Result>emptyIterator()
        : List.of(st.upload).iterator());
  }

  /** One sampled silo's task: its work on a copy of its residual (null = zeros). */
  private static State step(Block b, float[] before, int silo, int steps, int d, long round, TaskHook hook,
      Work work) throws Exception {
    SiloWork.beforeWork(hook, round, silo);
    if (b.rows() == 0) {
      return new State(silo, null, before); // unchanged
    }
    float[] residual = before == null ? new float[d] : before.clone();
    SiloWork.Result r = work.run(silo, steps, b, residual);
    return new State(silo, r, residual);
  }

  /**
   * After the round's job succeeded: its residuals become their silos' latest; a part no silo's
   * latest residual is in any more is dropped from the executors.
   */
  void commit() {
    if (pending == null) {
      throw new IllegalStateException("error feedback: nothing to commit");
    }
    for (Map.Entry<Long, Part> e : pending.entrySet()) {
      Part p = e.getValue();
      parts.put(e.getKey(), p);
      for (int s : p.silos) {
        long before = where[s];
        where[s] = e.getKey();
        p.live++;
        if (before != NONE) {
          Part old = parts.get(before);
          if (--old.live == 0) {
            old.states.unpersist(false);
            parts.remove(before);
          }
        }
      }
    }
    pending = null;
  }

  /**
   * After the round's job failed: drops the round's parts (some may be cached) and forgets them, so
   * the round can be run again from the same residuals, which the failed job never changed.
   */
  void abort() {
    if (pending != null) {
      for (Part p : pending.values()) p.states.unpersist(false);
      pending = null;
    }
  }

  /**
   * Checkpoint: every silo with a residual writes it to {@code dir} ({@link ResidualFiles}) from the
   * executor that holds it; one job ("sparktrain federated checkpoint residuals round r",
   * {@link LocalityAudit} does not count it as a round) over the live parts, nothing returned
   * to the driver. Then the driver writes the manifest. Call after {@link #commit}.
   */
  void save(String dir, long round, SerializableConfiguration hconf) {
    if (pending != null) {
      throw new IllegalStateException("error feedback: the residuals of round " + round + " were saved before the"
          + " round was committed");
    }
    List<JavaRDD<State>> live = new ArrayList<>();
    for (Map.Entry<Long, Part> e : new TreeMap<>(parts).entrySet()) {
      Part g = e.getValue();
      IntList positions = new IntList();
      for (int j = 0; j < g.silos.length; j++) {
        if (where[g.silos[j]] == e.getKey()) {
          positions.add(j);
        }
      }
      live.add(SampledPartitions.of(g.states, positions.toArray()));
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(blocks.context());
    try (RoundLoop.JobDescription jobs = RoundLoop.JobDescription.keep(jsc)) {
      jobs.set("sparktrain federated checkpoint residuals round " + round);
      if (!live.isEmpty()) {
        JavaRDD<State> states = live.size() == 1 ? live.get(0) : jsc.union(live.toArray(JavaRDD[]::new));
        states.foreachPartition(it -> {
          State st = only(it);
          ResidualFiles.write(new Path(dir).getFileSystem(hconf.value()), dir, round, st.silo, st.residual);
        });
      }
      Path p = new Path(dir);
      p.getFileSystem(hconf.value()).mkdirs(p);
      ResidualFiles.writeManifest(p.getFileSystem(hconf.value()), dir, round, where.length, withResidual());
    } catch (IOException e) {
      throw new UncheckedIOException("federated checkpoint: the error-feedback manifest of round " + round
          + " could not be written to " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The silos that have a residual (were sampled at least once), increasing. */
  private int[] withResidual() {
    IntList out = new IntList();
    for (int s = 0; s < where.length; s++) {
      if (where[s] != NONE) {
        out.add(s);
      }
    }
    return out.toArray();
  }

  /**
   * Resume: the silos start from the residuals saved in {@code dir} with the checkpoint of
   * {@code round}. Each silo the manifest lists (every silo, without a manifest) reads its own file
   * in its own task; one job ("sparktrain federated resume residuals round r") reads and caches them
   * all now, so a missing or damaged file fails here, before any round, with a
   * {@link ResidualFiles.Corrupt} naming the silo, the round and the path. Call before the first round.
   */
  void load(String dir, long round, SerializableConfiguration hconf) {
    if (!parts.isEmpty() || pending != null) {
      throw new IllegalStateException("error feedback: residuals can only be loaded before the first round");
    }
    int d = length;
    int[] listed;
    try {
      listed = ResidualFiles.readManifest(new Path(dir).getFileSystem(hconf.value()), dir, round, where.length);
    } catch (IOException e) {
      throw new ResidualFiles.Corrupt("checkpoint.resume: " + dir + " cannot be read: " + e.getMessage(), e);
    }
    if (listed == null) { // written before manifests: every silo has a file
      listed = new int[where.length];
      for (int s = 0; s < listed.length; s++) listed[s] = s;
    }
    if (listed.length == 0) {
      return;
    }
    int[] silos = listed;
    // Partition p of the blocks is silo p: the closure needs no list of silos; only the listed run.
    JavaRDD<State> states = SampledPartitions.of(blocks.mapPartitionsWithIndex((p, it) -> {
      float[] r = ResidualFiles.read(new Path(dir).getFileSystem(hconf.value()), dir, round, p, d);
      return List.of(new State(p, null, r)).iterator();
    }, true), silos);
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
    Part g = new Part(states, silos);
    long id = nextPart++;
    parts.put(id, g);
    for (int s : silos) {
      where[s] = id;
      g.live++;
    }
  }

  /** Rethrows {@code e} unchanged, checked or not (Spark throws checked exceptions undeclared). */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E rethrow(Throwable e) throws E {
    throw (E) e;
  }

  /**
   * The residuals now held by the silos, by silo (null = zeros). For tests and diagnostics only:
   * this is the one place residuals would reach the driver, and the round loop never calls it.
   */
  List<float[]> collectForTesting() {
    if (parts.isEmpty()) {
      return Collections.emptyList();
    }
    float[][] out = new float[where.length][];
    for (Map.Entry<Long, Part> e : parts.entrySet()) {
      long key = e.getKey();
      for (State st : e.getValue().states.collect()) {
        if (where[st.silo] == key) {
          out[st.silo] = st.residual;
        }
      }
    }
    return Arrays.asList(out);
  }

  /** The parts of residual state held on the executors now; for tests. */
  int partsForTesting() {
    return parts.size();
  }

  /** Drops every residual from the executors. */
  @Override
  public void close() {
    if (pending != null) {
      for (Part p : pending.values()) p.states.unpersist(false);
      pending = null;
    }
    for (Part p : parts.values()) p.states.unpersist(false);
    parts.clear();
    Arrays.fill(where, NONE);
  }

  private static State only(Iterator<State> it) {
    if (!it.hasNext()) {
      throw new IllegalStateException("error feedback: expected one residual per silo, found none");
    }
    State st = it.next();
    if (it.hasNext()) {
      throw new IllegalStateException("error feedback: expected one residual per silo, found several");
    }
    return st;
  }
}
