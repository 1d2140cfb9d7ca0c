package io.sparktrain.train;

import io.sparktrain.collective.CollectiveException;
import io.sparktrain.collective.Rendezvous;
import io.sparktrain.collective.RingAllReduce;
import io.sparktrain.data.Block;
import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.linalg.RowSpace;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerState;
import io.sparktrain.util.Checksums;
import io.sparktrain.util.JavaBytes;
import io.sparktrain.util.Seeds;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.ref.SoftReference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.Dependency;
import org.apache.spark.Partitioner;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.Tuple2;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.reflect.ClassTag;

/**
 * The {@code collective} engine of sync mode: one Spark barrier stage runs a whole span of steps
 * (up to the next epoch end, validation, checkpoint or max_rounds), and the driver is not
 * involved per step. Every task holds a replica of the parameters and of the optimizer state; per
 * step it computes the gradient sum of its rows of the global batch, joins a ring all-reduce
 * ({@link RingAllReduce}) with the other tasks, and applies the same optimizer step as every
 * other replica, as DDP does. The tasks find each other through the driver's {@link Rendezvous}
 * (one TCP round trip per task and span; {@code BarrierTaskContext} serves only for gang
 * scheduling). Rank 0 streams each step's loss to the driver, and at the span's end returns the
 * parameters and the optimizer state; every rank returns checksums of its replica, which the
 * driver compares.
 *
 * <p>{@link Mode#AVERAGE} runs on it too: a round is each partition's local steps on its slice of
 * the epoch, then an all-reduce of the example-weighted deltas and the same server update (plain,
 * or the server optimizer) on every replica.
 *
 * <p>Semantics are the driver engine's: step r of epoch e is the global mini-batch of positions
 * [rB, (r+1)B) of the epoch's seeded permutation, each partition's rows in it are summed with the
 * same dropout seeds (seed, epoch, r, partition), the mean is taken, L2 added, one optimizer step.
 * Only the order of the float sums differs (fixed by the ring, so run after run is bit-identical).
 *
 * <p>Failure: a task error, a lost executor or a peer that stops answering (no progress for
 * {@link TrainConfig#collectiveTimeoutMillis()}) fails the stage; the engine reruns the span
 * from the state it kept at the span's start, up to {@link TrainConfig#spanRetries()} times, so
 * the run ends bit-identical to an undisturbed one.
 *
 * <p>Slots: a barrier stage needs all its tasks running at once. When the data has more
 * partitions than the cluster has task slots (or its lineage has a step Spark's barrier mode
 * refuses, such as a union or coalesce), the cached blocks are grouped once into as many tasks as
 * there are slots, with one shuffle, and a task trains on several partitions' rows, each with its
 * own seeds, so the result is the same.
 */
public final class CollectiveEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CollectiveEngine.class);

  /** A partition's cached block, its index and its first global row id. */
  static final class Shard implements Serializable {
    private static final long serialVersionUID = 1L;
    final int partition;
    final long offset;
    final Block block;

    Shard(int partition, long offset, Block block) {
      this.partition = partition;
      this.offset = offset;
      this.block = block;
    }
  }

  /** Where a span starts: the parameters and optimizer state every replica copies. */
  static final class SpanStart implements Serializable {
    private static final long serialVersionUID = 1L;
    final float[] params;
    final OptimizerState state;

    SpanStart(float[] params, OptimizerState state) {
      this.params = params;
      this.state = state;
    }
  }

  /** A span's start on the driver: its parameters and optimizer, copied on the first {@link #get()}. */
  private static final class StartSource {
    private final float[] params;
    private final Optimizer server;
    private SpanStart copy;

    StartSource(float[] params, Optimizer server) {
      this.params = params;
      this.server = server;
    }

    /** The start (a copy, made once; the rendezvous thread may ask for it while the driver waits). */
    synchronized SpanStart get() {
      if (copy == null) {
        copy = new SpanStart(params.clone(), server == null ? null : server.state());
      }
      return copy;
    }
  }

  /** What a span is: shipped in the task closure (small). */
  static final class SpanPlan implements Serializable {
    private static final long serialVersionUID = 1L;
    Network network;
    TrainConfig config;
    int epoch;
    long first;
    long end;
    long globalRoundStart;
    long rows;
    long roundsPerEpoch;
    long spanId;
    int attempt;
    String host;
    int port;
    long token;
    int checkEvery;
    /** Checksums of the span's start; a task whose cached replica matches them skips the transfer. */
    long startParamsSum;
    long startStateSum;
    /** Sparse (CSR) training blocks: the first kernel's gradient is exchanged row-sparse when smaller. */
    boolean sparseInputs;
  }

  /**
   * A replica kept on its executor between spans, so that the next span (which starts where this
   * one ended, unless the driver changed the state) needs no broadcast of the parameters and
   * optimizer state. Softly held: memory pressure may drop it, which costs one fetch.
   */
  static final class Replica {
    final long token;
    final long round;
    final long paramsSum;
    final long stateSum;
    final float[] params;
    final Optimizer opt;
    /** The span's gradient buffer, all zeros, for the next span (null: allocate one). */
    float[] grad;

    Replica(long token, long round, long paramsSum, long stateSum, float[] params, Optimizer opt) {
      this.token = token;
      this.round = round;
      this.paramsSum = paramsSum;
      this.stateSum = stateSum;
      this.params = params;
      this.opt = opt;
    }
  }

  /** This JVM's cached replicas, by (run token, rank); only the newest run's are kept. */
  private static final Map<String, SoftReference<Replica>> REPLICAS =
      new ConcurrentHashMap<>();

  /** Removes and returns the replica of (token, rank) if it is at round {@code round} with these checksums. */
  static Replica takeReplica(long token, int rank, long round, long paramsSum, long stateSum) {
    SoftReference<Replica> ref = REPLICAS.remove(token + ":" + rank);
    Replica r = ref == null ? null : ref.get();
    return r != null && r.round == round && r.paramsSum == paramsSum && r.stateSum == stateSum ? r : null;
  }

  /** Drops this JVM's cached replicas (what memory pressure may do to the soft references); tests. */
  static void dropReplicas() {
    REPLICAS.clear();
  }

  static void keepReplica(int rank, Replica r) {
    REPLICAS.keySet().removeIf(k -> !k.startsWith(r.token + ":"));
    REPLICAS.put(r.token + ":" + rank, new SoftReference<>(r));
  }

  /** How a task got its span's start: its cached replica, the broadcast, or a fetch from the driver. */
  static final int FROM_REPLICA = 0;
  static final int FROM_BROADCAST = 1;
  static final int FROM_DRIVER = 2;

  /** A task's result; only rank 0's carries the parameters and the optimizer state. */
  static final class SpanResult implements Serializable {
    private static final long serialVersionUID = 1L;
    int rank;
    int stageAttempt;
    int startFrom;
    long steps;
    long divergedRound = -1;
    String divergedWhat;
    float[] params;
    OptimizerState state;
    double lossSum;
    double weightSum;
    long rows;
    double lastLoss;
    long lastRows;
    double lastSeconds;
    long[] checksums;
    /** The replica's optimizer state checksum at the span's end (0 without an optimizer). */
    long stateSum;
    long computeNanos;
    long reduceNanos;
    long waitNanos;
    long optimizerNanos;
    long setupNanos;
    long taskNanos;
    /** From the task's start to its first step, and from its last step to its return. */
    long preNanos;
    long postNanos;
    long bytesSent;
    /** Steps whose first-kernel gradient was row-sparse: the union of the touched rows was gathered. */
    long rowSparseSteps;
    /**
     * Instead of {@code params} and {@code state}: only what the span changed, when every step was
     * row-sparse and the optimizer lazy (or none): the span's touched rows of the first kernel and
     * everything outside it, of the parameters and of each optimizer slot. The driver writes them
     * into its copy of the span's start.
     */
    SpanDelta delta;
  }

  /** A span's changes on a sparse first layer ({@link SpanResult#delta}). */
  static final class SpanDelta implements Serializable {
    private static final long serialVersionUID = 1L;
    RowSlice rows;
    float[] params;
    float[][] slots;
    long optimizerSteps;
  }

  /** A span's outcome on the driver. */
  public static final class Outcome {
    public double lossSum;
    public double weightSum;
    public long rows;
    public double lastLoss;
    public long lastRows;
    public double lastSeconds;
    /** The 1-based round whose aggregated gradient or loss was not finite, or -1. */
    public long divergedRound = -1;
    public String divergedWhat;
  }

  /** Called on the driver's thread for each step rank 0 reports (1-based global round). */
  public interface StepListener {
    void onStep(long round, double loss, long rows, double seconds);
  }

  /** Time per step, summed over the steps of all spans (rank 0's view, and the span overhead). */
  public static final class Profile {
    public long steps;
    public long spans;
    public long computeNanos;
    public long reduceNanos;
    public long waitNanos;
    public long optimizerNanos;
    /** Per task: rendezvous and ring connection, summed over spans. */
    public long setupNanos;
    /** Driver: span wall time minus rank 0's step time (job launch, broadcast, results). */
    public long spanOverheadNanos;
    /** Rank 0's task from its start to its result, minus its step time (rendezvous, rows, result). */
    public long taskOverheadNanos;
    public long bytesSent;
    /** Steps whose first-kernel gradient travelled row-sparse. */
    public long rowSparseSteps;
    /** Spans whose tasks all started from their cached replicas (no broadcast, no fetch). */
    public long spansFromReplicas;
    /** Spans in which a task lacked its replica and fetched the start from the driver. */
    public long spansWithFetch;
    /** Each span's overhead, in order (milliseconds). */
    public final List<Double> spanOverheadsMs = new ArrayList<>();
    /** Per rank, summed over spans: compute and all-reduce wait (a straggler shows as the others' wait). */
    long[] computeNanosByRank = new long[0];
    long[] waitNanosByRank = new long[0];
    long[] stepsByRank = new long[0];
    /**
     * Each span's overhead by phase (milliseconds, driver clock): the broadcast; job submit to the
     * last rank's rendezvous; rank 0's task before its first step and after its last; rank 0's end of
     * steps to the job's result on the driver; the driver's checks and restore.
     */
    final Map<String, List<Double>> phasesMs = new LinkedHashMap<>();

    void phase(String name, long nanos) {
      phasesMs.computeIfAbsent(name, k -> new ArrayList<>()).add(nanos / 1e6);
    }

    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      double s = Math.max(1, steps);
      m.put("steps", steps);
      m.put("spans", spans);
      m.put("compute_ms_per_step", computeNanos / s / 1e6);
      m.put("allreduce_ms_per_step", reduceNanos / s / 1e6);
      m.put("allreduce_wait_ms_per_step", waitNanos / s / 1e6);
      m.put("optimizer_ms_per_step", optimizerNanos / s / 1e6);
      m.put("spans_from_executor_replicas", spansFromReplicas);
      m.put("spans_with_a_fetch_from_the_driver", spansWithFetch);
      m.put("span_setup_ms", setupNanos / Math.max(1.0, spans) / 1e6);
      m.put("span_overhead_ms", spanOverheadNanos / Math.max(1.0, spans) / 1e6);
      m.put("span_overhead_in_task_ms", taskOverheadNanos / Math.max(1.0, spans) / 1e6);
      if (!spanOverheadsMs.isEmpty()) {
        List<Double> sorted = new ArrayList<>(spanOverheadsMs);
        sorted.sort(null);
        m.put("span_overhead_ms_median", sorted.get(sorted.size() / 2));
        m.put("span_overhead_ms_min", sorted.get(0));
        m.put("span_overhead_ms_max", sorted.get(sorted.size() - 1));
      }
      Map<String, Object> phases = new LinkedHashMap<>();
      for (Map.Entry<String, List<Double>> e : phasesMs.entrySet()) {
        List<Double> sorted = new ArrayList<>(e.getValue());
        sorted.sort(null);
        phases.put(e.getKey(), sorted.get(sorted.size() / 2));
      }
      if (!phases.isEmpty()) {
        m.put("span_phase_ms_median", phases);
      }
      m.put("bytes_sent_per_step", bytesSent / s);
      if (rowSparseSteps > 0) {
        m.put("row_sparse_steps", rowSparseSteps);
      }
      if (computeNanosByRank.length > 0) {
        double[] c = new double[computeNanosByRank.length];
        double[] w = new double[computeNanosByRank.length];
        for (int i = 0; i < c.length; i++) {
          c[i] = computeNanosByRank[i] / Math.max(1.0, stepsByRank[i]) / 1e6;
          w[i] = waitNanosByRank[i] / Math.max(1.0, stepsByRank[i]) / 1e6;
        }
        m.put("compute_ms_per_step_by_rank", c);
        m.put("allreduce_wait_ms_per_step_by_rank", w);
      }
      return m;
    }
  }

  private final JavaSparkContext jsc;
  private final Network network;
  private final TrainConfig config;
  private final long rows;
  private final long roundsPerEpoch;
  private final JavaRDD<Shard[]> shards;
  private final boolean grouped;
  private final int tasks;
  private final Rendezvous rendezvous;
  private final long token;
  private final Profile profile = new Profile();
  private long nextSpan = 1;
  /** Where the replicas cached on the executors stand after the last good span (round -1: none). */
  private long replicaRound = -1;
  private long replicaParamsSum;
  private long replicaStateSum;
  /**
   * The checksum of the driver's parameter array {@code trackedParams} as the last span left it
   * (kept by rows when a span returned a delta), so that the next span's start is not hashed again:
   * between two spans, the caller changes the parameters only by passing another array.
   */
  private float[] trackedParams;
  private long trackedParamsSum;
  private boolean sparseInputs;

  /**
   * Declares the training blocks sparse (CSR, {@code TrainingData.sparsePartitions() > 0}): the
   * steps then exchange the first kernel's gradient as touched rows when that is smaller than the
   * dense all-reduce. Returns this.
   */
  public CollectiveEngine sparseInputs(boolean sparse) {
    this.sparseInputs = sparse;
    return this;
  }

  /**
   * Prepares the engine for {@code blocks} (one cached block per partition; {@code offsets} are
   * their first global row ids): checks the cluster, groups partitions when needed and starts the
   * rendezvous service. Call {@link #close()} at the end of the run.
   */
  public CollectiveEngine(JavaRDD<Block> blocks, long[] offsets, long rows, Network network, TrainConfig config) {
    this(blocks, offsets, rows, 0, network, config);
  }

  /**
   * As above; {@code roundsPerEpoch} is needed in {@link Mode#AVERAGE}, where a round is each
   * partition's slice of its epoch (local steps) followed by an all-reduce of the deltas.
   */
  public CollectiveEngine(JavaRDD<Block> blocks, long[] offsets, long rows, long roundsPerEpoch, Network network,
      TrainConfig config) {
    this.jsc = JavaSparkContext.fromSparkContext(blocks.context());
    this.network = network;
    this.config = config;
    this.rows = rows;
    this.roundsPerEpoch = roundsPerEpoch;
    if (jsc.getConf().getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new IllegalArgumentException("training.sync_engine: collective runs in Spark's barrier mode, which does"
          + " not work with dynamic allocation (found spark.dynamicAllocation.enabled=true); set it to false, or"
          + " use training.sync_engine: driver");
    }
    int n = blocks.getNumPartitions();
    int slots = slots(jsc, n);
    long[] off = offsets.clone();
    boolean lineageOk = barrierSafe(blocks.rdd(), n);
    if (n <= slots && lineageOk) {
      shards = blocks.mapPartitionsWithIndex((p, it) -> List.<Shard[]>of(new Shard[] {
          new Shard(p, off[p], Block.only(it))}).iterator(), true);
      grouped = false;
      tasks = n;
    } else {
      int k = Math.max(1, Math.min(n, slots));
      LOG.warn("sparktrain: the training data has {} partitions{}; the collective engine groups them into {}"
          + " barrier tasks (one shuffle of the cached blocks, once per run). Repartition the data to {} partitions"
          + " to avoid it.", n, n > slots ? " but the cluster has " + slots + " task slots" : " and a lineage"
          + " Spark's barrier mode refuses (union, coalesce, ...)", k, k);
      int parts = n;
      shards = blocks.mapPartitionsWithIndex((p, it) -> List.of(new Tuple2<>(p, new Shard(p, off[p],
              Block.only(it)))).iterator(), true)
          .mapToPair(t -> t)
          .partitionBy(new GroupPartitioner(parts, k))
          .mapPartitions(it -> {
            List<Shard> list = new ArrayList<>();
            it.forEachRemaining(t -> list.add(t._2()));
            list.sort((a, b) -> Integer.compare(a.partition, b.partition));
            return List.<Shard[]>of(list.toArray(new Shard[0])).iterator();
          }, true)
          .persist(StorageLevel.MEMORY_AND_DISK());
      jsc.setJobDescription("sparktrain: group " + n + " partitions into " + k + " barrier tasks");
      shards.count();
      grouped = true;
      tasks = k;
    }
    token = new SecureRandom().nextLong();
    String host = jsc.getConf().get("spark.driver.host", "127.0.0.1");
    try {
      rendezvous = new Rendezvous(host, token);
    } catch (IOException e) {
      if (grouped) {
        shards.unpersist(false);
      }
      throw new UncheckedIOException("sparktrain: cannot start the collective rendezvous service on " + host, e);
    }
    LOG.info("sparktrain: collective engine: {} barrier tasks ({} task slots), rendezvous at {}:{}", tasks, slots,
        rendezvous.host(), rendezvous.port());
  }

  /** Tasks per span (the ranks of the ring). */
  public int tasks() {
    return tasks;
  }

  public Profile profile() {
    return profile;
  }

  /**
   * The task slots of the cluster: what Spark's own barrier check counts. On a cluster whose
   * executors are still registering, waits up to 10 s for {@code wanted} slots.
   */
  static int slots(JavaSparkContext jsc, int wanted) {
    SparkContext sc = jsc.sc();
    int s = sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    if (!sc.isLocal()) {
      long deadline = System.currentTimeMillis() + 10_000;
      while (s < wanted && System.currentTimeMillis() < deadline) {
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
        s = sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
      }
    }
    return s;
  }

  /**
   * True when Spark's barrier mode accepts a stage over {@code rdd}: every RDD of the stage (up to
   * a shuffle) has the same number of partitions.
   */
  static boolean barrierSafe(RDD<?> rdd, int n) {
    if (rdd.getNumPartitions() != n) {
      return false;
    }
    for (Dependency<?> d : CollectionConverters.asJava(rdd.dependencies())) {
      if (!(d instanceof ShuffleDependency) && !barrierSafe(d.rdd(), n)) {
        return false;
      }
    }
    return true;
  }

  /** Partition p of n goes to task p * k / n: contiguous groups, in order. */
  static final class GroupPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int n;
    private final int k;

    GroupPartitioner(int n, int k) {
      this.n = n;
      this.k = k;
    }

    @Override
    public int numPartitions() {
      return k;
    }

    @Override
    public int getPartition(Object key) {
      return (int) ((long) (Integer) key * k / n);
    }
  }

  /**
   * Runs steps {@code [first, end)} of {@code epoch} (rounds {@code globalRoundStart} + 0.. in the
   * run's count) from {@code params} and {@code server}'s state, which it updates to the span's
   * end. Reports each step to {@code onStep} but the last (whose figures are in the outcome).
   *
   * <p>Between two calls the caller may read {@code params} but not write into it: the engine keeps
   * its checksum from the last span (it decides whether the replicas on the executors are where the
   * next span starts), and hashes it again only for another array. Change the state by passing a
   * new array, or through {@code server}'s methods (its checksum follows them).
   */
  public Outcome run(int epoch, long first, long end, long globalRoundStart, float[] params, Optimizer server,
      StepListener onStep) {
    // The driver leaves params and server alone until the span's result is in (also across reruns), so
    // the start is copied only when a broadcast or a fetch needs it: not in the usual span, which starts
    // from the replicas (a copy and a hash less of every parameter and moment per span).
    StartSource start = new StartSource(params, server);
    long lastRound = globalRoundStart + (end - first);
    long[] delivered = {globalRoundStart};
    String interrupt = jsc.getLocalProperty("spark.job.interruptOnCancel");
    jsc.setLocalProperty("spark.job.interruptOnCancel", "true"); // killed tasks are interrupted, never left hanging
    try {
      for (int attempt = 0; ; attempt++) {
        try {
          return runOnce(epoch, first, end, globalRoundStart, start, params, server, attempt, lastRound, delivered,
              onStep);
        } catch (RuntimeException e) {
          if (attempt >= config.spanRetries()) {
            throw e;
          }
          LOG.warn("sparktrain: collective span epoch {} steps {}-{} failed (attempt {} of {}): {}; rerunning it"
              + " from its start", epoch + 1, first + 1, end, attempt + 1, config.spanRetries() + 1,
              rootMessage(e));
        }
      }
    } finally {
      jsc.setLocalProperty("spark.job.interruptOnCancel", interrupt);
    }
  }

  private Outcome runOnce(int epoch, long first, long end, long globalRoundStart, StartSource start, float[] params,
      Optimizer server, int attempt, long lastRound, long[] delivered, StepListener onStep) {
    SpanPlan plan = new SpanPlan();
    plan.network = network;
    plan.config = config;
    plan.epoch = epoch;
    plan.first = first;
    plan.end = end;
    plan.globalRoundStart = globalRoundStart;
    plan.rows = rows;
    plan.roundsPerEpoch = roundsPerEpoch;
    plan.spanId = nextSpan++;
    plan.attempt = attempt;
    plan.host = rendezvous.host();
    plan.port = rendezvous.port();
    plan.token = token;
    plan.checkEvery = config.replicaCheckEvery();
    plan.sparseInputs = sparseInputs;
    long t0 = System.nanoTime();
    plan.startParamsSum = params == trackedParams ? trackedParamsSum : checksum(params);
    plan.startStateSum = server == null ? 0 : server.stateChecksum();
    // The replicas cached on the executors are where this span starts (the usual case): no broadcast;
    // a task that lacks its replica anyway (a new executor, memory pressure) fetches the start from
    // the rendezvous. Otherwise (the first span, a rerun, a state the driver changed) broadcast it.
    boolean cached = attempt == 0 && replicaRound == globalRoundStart && replicaParamsSum == plan.startParamsSum
        && replicaStateSum == plan.startStateSum;
    Broadcast<SpanStart> bc = cached ? null : jsc.broadcast(start.get());
    long tBroadcast = System.nanoTime();
    Rendezvous.Span span = rendezvous.open(plan.spanId, tasks);
    span.serveStart(() -> toBytes(start.get()));
    replicaRound = -1;
    try {
      ClassTag<SpanResult> tag = ClassTag$.MODULE$.apply(SpanResult.class);
      Function1<Iterator<Shard[]>, Iterator<SpanResult>> f =
          (Function1<Iterator<Shard[]>, Iterator<SpanResult>> & Serializable)
              it -> {
                Shard[] mine = it.next();
                while (it.hasNext()) {
                  it.next(); // drain: the cache releases its lock on the partition
                }
                SpanResult r;
                try {
                  r = task(mine, bc, plan);
                } catch (IOException e) {
                  throw new UncheckedIOException(e.getMessage(), e);
                }
                return CollectionConverters.asScala(List.of(r).iterator());
              };
      RDD<SpanResult> out = shards.rdd().barrier().mapPartitions(f, false, tag);
      JavaFutureAction<List<SpanResult>> future = new JavaRDD<>(out, tag).collectAsync();
      // Listeners run on this thread, as rank 0's records arrive (it flushes every 50 ms). Waking rarely
      // matters: in local mode this thread competes with the tasks for the cores.
      boolean[] ended = {false};
      while (!ended[0] && !future.isDone()) {
        drain(span, 50, delivered, lastRound, onStep, ended);
      }
      List<SpanResult> results;
      try {
        results = future.get();
      } catch (ExecutionException e) {
        Throwable c = e.getCause() == null ? e : e.getCause();
        throw c instanceof RuntimeException ? (RuntimeException) c : new IllegalStateException(c.getMessage(), c);
      }
      // Rank 0 closed its stream (END) before it returned its result, but the rendezvous thread may
      // not have read the last records yet.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      long tDone = System.nanoTime();
      while (!ended[0] && System.nanoTime() < deadline) {
        drain(span, 50, delivered, lastRound, onStep, ended);
      }
      SpanResult zero = rank0(results);
      if (zero != null && zero.params == null && zero.delta == null) {
        byte[] b = span.payload(zero.stageAttempt);
        if (b == null) {
          throw new IllegalStateException("collective span epoch " + (plan.epoch + 1) + ": rank 0 (stage attempt "
              + zero.stageAttempt + ") finished, but its parameters did not reach the driver's rendezvous");
        }
        SpanResult full = fromBytes(b, SpanResult.class, "rank 0's result payload");
        if (!Arrays.equals(full.checksums, zero.checksums) || full.steps != zero.steps) {
          throw new IllegalStateException("collective span epoch " + (plan.epoch + 1) + ": rank 0's payload"
              + " (checksums " + Arrays.toString(full.checksums) + ") does not match its task result ("
              + Arrays.toString(zero.checksums) + ")");
        }
        zero.params = full.params;
        zero.state = full.state;
        zero.delta = full.delta;
      }
      Outcome o = finish(results, params, server, plan, System.nanoTime() - t0);
      if (o.divergedRound < 0) {
        replicaRound = lastRound;
        replicaParamsSum = zero.checksums[zero.checksums.length - 1];
        replicaStateSum = server == null ? 0 : server.stateChecksum();
      }
      if (results.stream().allMatch(r -> r.startFrom == FROM_REPLICA)) {
        profile.spansFromReplicas++;
      }
      if (results.stream().anyMatch(r -> r.startFrom == FROM_DRIVER)) {
        profile.spansWithFetch++;
      }
      profile.phase("broadcast", tBroadcast - t0);
      if (span.registeredNanos() > 0) {
        profile.phase("launch_to_rendezvous", span.registeredNanos() - tBroadcast);
      }
      profile.phase("task_before_steps", rank0(results).preNanos);
      profile.phase("task_after_steps", rank0(results).postNanos);
      if (span.endNanos() > 0) {
        profile.phase("end_of_steps_to_result", Math.max(0, tDone - span.endNanos()));
      }
      profile.phase("driver_finish", System.nanoTime() - tDone);
      return o;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the collective span", e);
    } finally {
      span.close();
      if (bc != null) {
        bc.destroy();
      }
    }
  }

  /** Waits up to {@code millis} for rank 0's records, then delivers all that are there; END sets ended[0]. */
  private static void drain(Rendezvous.Span span, long millis, long[] delivered, long lastRound, StepListener onStep,
      boolean[] ended) throws InterruptedException {
    Rendezvous.Progress p = span.progress().poll(millis, TimeUnit.MILLISECONDS);
    if (p == null) {
      return;
    }
    List<Rendezvous.Progress> batch = new ArrayList<>();
    batch.add(p);
    span.progress().drainTo(batch);
    for (Rendezvous.Progress q : batch) {
      ended[0] |= q == Rendezvous.Progress.END;
      deliver(q, delivered, lastRound, onStep);
    }
  }

  private static void deliver(Rendezvous.Progress p, long[] delivered, long lastRound, StepListener onStep) {
    if (p != Rendezvous.Progress.END && p.round() > delivered[0] && p.round() < lastRound) {
      delivered[0] = p.round();
      onStep.onStep(p.round(), p.loss(), p.rows(), p.seconds());
    }
  }

  private static SpanResult rank0(List<SpanResult> results) {
    for (SpanResult r : results) {
      if (r.rank == 0) {
        return r;
      }
    }
    return null;
  }

  private Outcome finish(List<SpanResult> results, float[] params, Optimizer server, SpanPlan plan, long wallNanos) {
    SpanResult zero = rank0(results);
    if (zero == null || results.size() != tasks) {
      throw new IllegalStateException("collective span: expected results of " + tasks + " ranks, found "
          + results.size());
    }
    for (SpanResult r : results) {
      if (!Arrays.equals(r.checksums, zero.checksums) || r.steps != zero.steps || r.stateSum != zero.stateSum) {
        throw new IllegalStateException("collective span epoch " + (plan.epoch + 1) + ": the replicas diverged:"
            + " rank 0 checksums " + Arrays.toString(zero.checksums) + " (optimizer state " + zero.stateSum
            + ") after " + zero.steps + " steps, rank " + r.rank + " " + Arrays.toString(r.checksums) + " ("
            + r.stateSum + ") after " + r.steps + " (every " + plan.checkEvery + " steps and at the end)");
      }
    }
    trackedParams = null;
    if (zero.delta != null) {
      // params and server hold the span's start: write in what the span changed, and keep their
      // checksums by the written positions (their old terms out, the new in), which must give rank 0's.
      RowSlice rows = zero.delta.rows;
      long sum = plan.startParamsSum + Checksums.unpack(zero.delta.params, params, rows.space(), rows.rows(),
          Checksums.PARAMS);
      if (server != null) {
        server.unpackRows(zero.delta.optimizerSteps, rows, zero.delta.slots);
      }
      long last = zero.checksums[zero.checksums.length - 1];
      if ((sum != last || (server != null && server.stateChecksum() != zero.stateSum))) {
        throw new IllegalStateException("collective span epoch " + (plan.epoch + 1) + ": the driver's copy after"
            + " the span's changes (checksums " + sum + ", " + (server == null ? 0 : server.stateChecksum())
            + ") does not match rank 0's replica (" + last + ", " + zero.stateSum + ")");
      }
      trackedParams = params;
      trackedParamsSum = sum;
    } else {
      System.arraycopy(zero.params, 0, params, 0, params.length);
      if (server != null) {
        server.restore(zero.state);
      }
    }
    Outcome o = new Outcome();
    o.lossSum = zero.lossSum;
    o.weightSum = zero.weightSum;
    o.rows = zero.rows;
    o.lastLoss = zero.lastLoss;
    o.lastRows = zero.lastRows;
    o.lastSeconds = zero.lastSeconds;
    o.divergedRound = zero.divergedRound;
    o.divergedWhat = zero.divergedWhat;
    if (profile.computeNanosByRank.length != results.size()) {
      profile.computeNanosByRank = new long[results.size()];
      profile.waitNanosByRank = new long[results.size()];
      profile.stepsByRank = new long[results.size()];
    }
    for (SpanResult r : results) {
      profile.computeNanosByRank[r.rank] += r.computeNanos;
      profile.waitNanosByRank[r.rank] += r.waitNanos;
      profile.stepsByRank[r.rank] += r.steps;
    }
    profile.spans++;
    profile.steps += zero.steps;
    profile.computeNanos += zero.computeNanos;
    profile.reduceNanos += zero.reduceNanos;
    profile.waitNanos += zero.waitNanos;
    profile.optimizerNanos += zero.optimizerNanos;
    profile.setupNanos += zero.setupNanos;
    profile.taskOverheadNanos += Math.max(0, zero.taskNanos - (zero.computeNanos + zero.reduceNanos
        + zero.optimizerNanos));
    profile.bytesSent += zero.bytesSent;
    profile.rowSparseSteps += zero.rowSparseSteps;
    long overhead = Math.max(0, wallNanos - (zero.computeNanos + zero.reduceNanos + zero.optimizerNanos));
    profile.spanOverheadNanos += overhead;
    profile.spanOverheadsMs.add(overhead / 1e6);
    return o;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m.split("\n", 2)[0]);
  }

  /** A task of the span: rendezvous, ring, then the steps. */
  static SpanResult task(Shard[] shards, Broadcast<SpanStart> bc, SpanPlan plan) throws IOException {
    long s0 = System.nanoTime();
    BarrierTaskContext ctx = BarrierTaskContext.get();
    int rank = ctx.partitionId();
    int size = ctx.getTaskInfos().length;
    BooleanSupplier killed = ctx::isInterrupted;
    long timeout = plan.config.collectiveTimeoutMillis();
    String host = SparkEnv.get().blockManager().blockManagerId().host();
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress(InetAddress.getByName(host), 0), size);
      InetSocketAddress me = (InetSocketAddress) listener.getLocalAddress();
      try (Rendezvous.Client rc = new Rendezvous.Client(plan.host, plan.port, plan.token, plan.spanId,
               ctx.stageAttemptNumber(), rank, size, me, timeout);
           RingAllReduce ring = RingAllReduce.connect(rank, size, plan.spanId << 8 | (ctx.stageAttemptNumber() & 0xff),
               listener, rc.peers().get((rank + 1) % size), timeout, killed)) {
        listener.close();
        long setup = System.nanoTime() - s0;
        Replica replica = takeReplica(plan.token, rank, plan.globalRoundStart, plan.startParamsSum,
            plan.startStateSum);
        SpanStart start = null;
        int from = FROM_REPLICA;
        if (replica == null && bc != null) {
          start = bc.value();
          from = FROM_BROADCAST;
        } else if (replica == null) {
          byte[] b = rc.fetchStart();
          if (b == null) {
            throw new CollectiveException("rank " + rank + ": the driver has no start for span " + plan.spanId, null);
          }
          start = fromBytes(b, SpanStart.class, "the start fetched from the driver");
          from = FROM_DRIVER;
        }
        SpanResult r = steps(shards, replica, start, plan, ring, rank == 0 ? rc : null, killed);
        r.startFrom = from;
        r.preNanos -= s0;
        r.rank = rank;
        r.stageAttempt = ctx.stageAttemptNumber();
        r.setupNanos = setup;
        if (rank == 0) {
          // The parameters and optimizer state go to the driver over the rendezvous socket; the Spark
          // result keeps the small fields (and the checksums the driver compares with the payload's).
          rc.payload(toBytes(r));
        }
        r.params = null;
        r.state = null;
        r.delta = null;
        r.taskNanos = System.nanoTime() - s0;
        return r;
      }
    }
  }

  /**
   * The span's rounds on this task's replica. Sync: a step on the global batch's rows. Average: each
   * partition's local steps on its slice of the epoch, then the example-weighted mean delta, applied
   * as is (plain) or as a pseudo-gradient of the server optimizer.
   */
  static SpanResult steps(Shard[] shards, Replica replica, SpanStart start, SpanPlan plan, RingAllReduce ring,
      Rendezvous.Client progress, BooleanSupplier killed) throws IOException {
    Network net = plan.network;
    TrainConfig cfg = plan.config;
    boolean sync = cfg.mode() == Mode.SYNC;
    int size = net.layout().size();
    float[] params;
    Optimizer opt;
    if (replica != null) {
      params = replica.params;
      opt = replica.opt;
    } else {
      params = start.params.clone();
      opt = start.state == null ? null : cfg.optimizer().create(size);
      if (opt != null) {
        opt.restore(start.state);
      }
    }
    LocalWork work = new LocalWork(net, cfg.l2(), cfg.teacher(), cfg.reconstruction());
    long epochSeed = Seeds.of(cfg.seed(), plan.epoch);
    StepRows[] rows = new StepRows[shards.length];
    int[][] orders = new int[shards.length][];
    for (int i = 0; i < shards.length; i++) {
      Block b = shards[i].block;
      if (sync) {
        rows[i] = StepRows.of(b.rows(), shards[i].offset, plan.rows, epochSeed, cfg.batchSize(), plan.first,
            plan.end);
      } else {
        orders[i] = LocalWork.permutation(b.rows(), Seeds.of(cfg.seed(), plan.epoch, shards[i].partition));
      }
    }
    // A new buffer or the replica's (kept all zeros): no O(parameters) allocation per span.
    float[] grad = replica != null && replica.grad != null ? replica.grad : new float[size];
    // Sparse inputs: the first kernel's touched rows, and two more extras (their count, any dense rank).
    RowSet touched = plan.sparseInputs ? work.newRowSet() : null;
    if (touched != null && touched.offset() != 0) {
      throw new IllegalStateException("collective: expected the first kernel at offset 0, found " + touched);
    }
    boolean dirty = false; // the gradient may hold values outside the touched rows: zero it whole (new: all 0)
    // The rows any step changed, while only those (and everything outside the first kernel) change.
    RowSet spanRows = touched != null && (opt == null || opt.lazy()) ? work.newRowSet() : null;
    // While it does, the replica's checksums are kept by rows from the start's (the cached replica's, or
    // hashed here once from a start the driver sent): O(the span's rows) instead of O(parameters).
    SpanSums sums = spanRows == null ? null : new SpanSums(params, opt, spanRows,
        replica != null ? replica.paramsSum : checksum(params),
        replica != null ? replica.stateSum : opt == null ? 0 : opt.stateChecksum());
    float[] extra = new float[touched == null ? 3 : 5];
    double[] lw = new double[2];
    List<Long> checks = new ArrayList<>();
    SpanResult res = new SpanResult();
    long bytes0 = ring.bytesSent();
    long wait0 = ring.waitNanos();
    TaskHook hook = cfg.taskHook();
    res.preNanos = System.nanoTime();
    for (long r = plan.first; r < plan.end; r++) {
      long t0 = System.nanoTime();
      long round = plan.globalRoundStart + (r - plan.first); // 0-based, as the driver engine's hook sees it
      if (killed.getAsBoolean()) {
        throw new CollectiveException("task killed at round " + (round + 1), null);
      }
      if (hook != null) {
        for (Shard s : shards) hook.beforeWork(round, s.partition, plan.attempt);
      }
      if (touched == null || dirty) {
        Arrays.fill(grad, 0f);
      } else {
        Arrays.fill(grad, touched.end(), size, 0f);
        touched.zeroRows(grad);
      }
      if (touched != null) {
        touched.clear();
      }
      boolean rowSparse = touched != null;
      lw[0] = 0;
      lw[1] = 0;
      long localRows = 0;
      for (int i = 0; i < shards.length; i++) {
        Shard s = shards[i];
        long taskSeed = Seeds.of(cfg.seed(), plan.epoch, r, s.partition);
        if (sync) {
          rowSparse &= work.addGradient(params, s.block, rows[i].rows(), rows[i].start(r), rows[i].end(r),
              cfg.microBatch(), taskSeed, grad, lw, touched);
        } else {
          int n = s.block.rows();
          Update u = work.localSteps(params, s.block, orders[i], (int) (r * n / plan.roundsPerEpoch),
              (int) ((r + 1) * n / plan.roundsPerEpoch), cfg.batchSize(), cfg.localOptimizer(), taskSeed);
          if (!u.isEmpty()) {
            float[] v = u.vector();
            if (rowSparse && u.touched() != null) {
              u.touched().addInto(v, grad);
              touched.addAll(u.touched().rows(), 0, u.touched().rows().length);
            } else {
              for (int j = 0; j < size; j++) grad[j] += v[j];
              rowSparse = false;
            }
            lw[0] += u.lossSum();
            lw[1] += u.weight();
            localRows += u.rows();
          }
        }
      }
      extra[0] = (float) lw[0];
      extra[1] = (float) lw[1];
      extra[2] = localRows;
      long t1 = System.nanoTime();
      RowSet stepRows = null; // the rows of the first kernel the reduced gradient may be nonzero in
      if (touched == null) {
        ring.allReduce(grad, extra);
      } else {
        extra[3] = touched.rowFloats();
        extra[4] = rowSparse ? 0 : 1;
        stepRows = reduceRowSparse(ring, grad, extra, touched) ? touched : null;
        if (stepRows != null) {
          res.rowSparseSteps++;
        }
      }
      dirty = stepRows == null;
      long t2 = System.nanoTime();
      if (spanRows != null) {
        if (stepRows == null) {
          spanRows = null;
        } else {
          sums.beforeChanges(stepRows, spanRows);
          spanRows.addAll(stepRows);
        }
      }
      double weight = extra[1];
      if (!(weight > 0)) {
        throw new IllegalStateException("round " + (round + 1) + ": no partition returned any rows (total weight "
            + weight + ")");
      }
      float inv = (float) (1.0 / weight);
      boolean finite = stepRows != null ? stepRows.allFinite(grad) : allFinite(grad);
      double loss = extra[0] / weight;
      if (!finite || !Double.isFinite(loss)) {
        res.divergedRound = round + 1;
        res.divergedWhat = !finite ? "the aggregated " + (sync ? "gradient" : "update") + " is not finite"
            : "loss is " + loss;
        break;
      }
      // The mean is the optimizer's scale (one pass over the vector fewer); with L2 the gradient is
      // scaled first, as the penalty's gradient is added to the mean. The same bits either way.
      long roundRows;
      if (sync) {
        if (cfg.l2() == 0f) {
          opt.step(params, grad, inv, stepRows);
        } else {
          if (stepRows != null && !opt.lazy()) {
            stepRows = null; // dense L2 gives every row of the first kernel a gradient
            dirty = true;
            spanRows = null;
          }
          scale(grad, inv, stepRows);
          loss += net.addL2(params, grad, cfg.l2(), stepRows);
          opt.step(params, grad, 1f, stepRows);
        }
        roundRows = Math.min(plan.rows, (r + 1) * cfg.batchSize()) - r * cfg.batchSize();
      } else {
        if (opt == null) {
          if (stepRows == null) {
            for (int i = 0; i < size; i++) params[i] += grad[i] * inv;
          } else {
            scale(grad, inv, stepRows);
            stepRows.addRows(grad, params);
            for (int i = stepRows.end(); i < size; i++) params[i] += grad[i];
          }
        } else {
          opt.step(params, grad, -inv, stepRows); // the mean delta, negated: a pseudo-gradient
        }
        roundRows = (long) extra[2];
      }
      if (hook != null) {
        hook.afterStep(ring.rank(), round + 1, params);
      }
      long t3 = System.nanoTime();
      res.steps++;
      res.lossSum += extra[0];
      res.weightSum += weight;
      res.rows += roundRows;
      res.computeNanos += t1 - t0;
      res.reduceNanos += t2 - t1;
      res.optimizerNanos += t3 - t2;
      res.lastLoss = loss;
      res.lastRows = roundRows;
      res.lastSeconds = (t3 - t0) / 1e9;
      if (progress != null) {
        progress.progress(round + 1, loss, roundRows, (t3 - t0) / 1e9);
      }
      if (plan.checkEvery > 0 && res.steps % plan.checkEvery == 0) {
        checks.add(spanRows != null ? sums.params(spanRows) : checksum(params));
      }
    }
    long tEnd = System.nanoTime();
    res.waitNanos = ring.waitNanos() - wait0;
    res.bytesSent = ring.bytesSent() - bytes0;
    if (spanRows != null && res.divergedRound < 0) {
      SpanDelta d = new SpanDelta();
      d.rows = RowSlice.of(spanRows);
      d.params = d.rows.pack(params);
      d.slots = opt == null ? null : opt.packRows(d.rows);
      d.optimizerSteps = opt == null ? 0 : opt.steps();
      res.delta = d;
      // The span's end checksums from the packed copies: read in order and in cache, where the span's
      // rows in the replica are scattered (a cache miss per row and vector).
      checks.add(sums.params(d.rows, d.params));
      res.stateSum = opt == null ? 0 : sums.state(d.rows, d.slots);
    } else {
      res.params = params;
      res.state = opt == null ? null : opt.state();
      checks.add(spanRows != null ? sums.params(spanRows) : checksum(params));
      res.stateSum = opt == null ? 0 : spanRows != null ? sums.state(spanRows) : opt.stateChecksum();
    }
    res.checksums = checks.stream().mapToLong(Long::longValue).toArray();
    if (res.divergedRound < 0) {
      Replica kept = new Replica(plan.token, plan.globalRoundStart + res.steps, res.checksums[
          res.checksums.length - 1], res.stateSum, params, opt);
      if (touched != null && !dirty) { // nonzero only in the last step's rows and the dense rest
        Arrays.fill(grad, touched.end(), size, 0f);
        touched.zeroRows(grad);
        kept.grad = grad;
      }
      keepReplica(ring.rank(), kept);
    }
    res.postNanos = System.nanoTime() - tEnd;
    return res;
  }

  /** Scales {@code v} by {@code c}: whole, or (rows not null) the rows listed and everything after the slice. */
  private static void scale(float[] v, float c, RowSet rows) {
    if (rows == null) {
      for (int i = 0; i < v.length; i++) v[i] *= c;
      return;
    }
    for (int i = rows.end(); i < v.length; i++) v[i] *= c;
    int[] ids = rows.ids();
    for (int k = 0; k < rows.size(); k++) {
      int at = rows.start(ids[k]);
      for (int j = at, e = at + rows.width(ids[k]); j < e; j++) v[j] *= c;
    }
  }

  /**
   * The all-reduce of a step on sparse inputs. The dense rest (everything after the row space: the
   * first kernel and any embedding tables) and the extras go through the ring. Then, when some
   * rank's gradient is dense ({@code extra[4] > 0} after the sum), the row space goes through the
   * ring too and this returns false. Otherwise the step is row-sparse and this returns true, with
   * {@code touched} holding the union of all ranks' rows, sorted (the same list, in the same order,
   * on every rank): each rank's rows are all-gathered with their values when that takes fewer bytes
   * than the ring all-reduce of the row space ({@code extra[3]}, the floats of the ranks' rows and
   * ids summed, says), and summed in rank order on every rank (identical bits everywhere); else only
   * the row ids are gathered and the values go through the ring. Either way the rows outside the
   * union are exactly zero, so a lazy optimizer steps the same rows whichever transport carried them.
   */
  static boolean reduceRowSparse(RingAllReduce ring, float[] grad, float[] extra, RowSet touched)
      throws IOException {
    int end = touched.end();
    ring.allReduce(grad, end, grad.length, extra);
    if (extra[4] != 0f) {
      ring.allReduce(grad, 0, end, new float[0]);
      return false;
    }
    touched.sort();
    if (ring.size() == 1) {
      return true;
    }
    long gatherBytes = 4L + 4L * touched.rowFloats();
    // Decided from the all-reduced extra[3] only (the ranks' rows summed), so that every rank picks the same way.
    boolean withValues = extra[3] < 2.0 * (end - touched.offset()) && 4.0 * extra[3] < Integer.MAX_VALUE / 2;
    int n = touched.size();
    ByteBuffer mine = ByteBuffer.allocate(withValues ? (int) gatherBytes : 4 + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
    mine.putInt(n);
    int[] ids = touched.ids();
    for (int k = 0; k < n; k++) mine.putInt(ids[k]);
    if (withValues) {
      for (int k = 0; k < n; k++) {
        int at = touched.start(ids[k]);
        for (int j = at, e = at + touched.width(ids[k]); j < e; j++) mine.putFloat(grad[j]);
      }
    }
    ByteBuffer[] all = ring.allGather(mine.flip());
    if (withValues) {
      touched.zeroRows(grad);
    } else {
      ring.allReduce(grad, 0, end, new float[0]);
    }
    for (ByteBuffer b : all) {
      int count = b.getInt(0);
      int src = 4 + 4 * count;
      for (int k = 0; k < count; k++) {
        int row = b.getInt(4 + 4 * k);
        touched.add(row);
        if (withValues) {
          int at = touched.start(row);
          int w = touched.width(row);
          for (int j = 0; j < w; j++) grad[at + j] += b.getFloat(src + 4 * j);
          src += 4 * w;
        }
      }
    }
    touched.sort(); // the union in one order on every rank (a clipping norm sums in this order)
    return true;
  }

  /** Java serialization of a span's start or result ({@link JavaBytes}). */
  static byte[] toBytes(Serializable o) {
    return JavaBytes.toBytes(o);
  }

  /** The object {@link #toBytes} wrote; {@code what} names it in the error. */
  static <T> T fromBytes(byte[] b, Class<T> type, String what) {
    return JavaBytes.fromBytes(b, type, "collective span: " + what);
  }

  /**
   * True when no element is infinite or NaN: an exponent of all ones, plus one, carries into the sign
   * bit; an OR over ints, which the JIT vectorizes (Float.isFinite in the loop it does not).
   */
  static boolean allFinite(float[] a) {
    int acc = 0;
    for (float v : a) {
      acc |= (Float.floatToRawIntBits(v) & 0x7f800000) + 0x00800000;
    }
    return acc >= 0;
  }

  /** A 64-bit checksum of the parameters' bits: additive ({@link Checksums}), so it can be kept by rows. */
  static long checksum(float[] p) {
    return Checksums.of(p, Checksums.PARAMS);
  }

  /**
   * A replica's checksums (parameters, optimizer state) kept by rows during a span whose steps change
   * only the rows of a row set (the span's rows) and everything outside the first kernel: before a
   * step changes rows the span has not changed yet, their start terms are taken out; a checksum is
   * then the start's remaining terms plus the current terms of the span's rows and of the dense rest,
   * read from the arrays. O(the span's rows) per checksum instead of O(parameters); any value that
   * differs from another replica's in a row the span changed, or in the dense rest, changes it.
   */
  static final class SpanSums {
    private final float[] params;
    private final Optimizer opt;
    private final RowSpace space;
    private final int from;
    private final int to;
    /** The start's checksums without the terms of the span's rows and of the dense rest. */
    private long paramsBase;
    private long slotsBase;
    private int[] fresh = new int[64];

    SpanSums(float[] params, Optimizer opt, RowSet slice, long paramsSum, long stateSum) {
      this.params = params;
      this.opt = opt;
      this.space = slice.space();
      this.from = slice.offset();
      this.to = slice.end();
      paramsBase = paramsSum - Checksums.outside(params, from, to, Checksums.PARAMS);
      if (opt != null) {
        slotsBase = stateSum - OptimizerState.checksum(opt.steps(), 0L) - opt.slotsChecksumOutside(from, to);
      }
    }

    /** Before a step changes the rows of {@code step}: takes out the start terms of those not in {@code span}. */
    void beforeChanges(RowSet step, RowSet span) {
      int n = 0;
      int[] ids = step.ids();
      for (int k = 0; k < step.size(); k++) {
        if (!span.contains(ids[k])) {
          if (n == fresh.length) {
            fresh = Arrays.copyOf(fresh, 2 * n);
          }
          fresh[n++] = ids[k];
        }
      }
      paramsBase -= Checksums.rows(params, space, fresh, n, Checksums.PARAMS);
      if (opt != null) {
        slotsBase -= opt.slotsChecksum(space, fresh, n);
      }
    }

    /** The parameters' checksum now ({@link #checksum}'s value when the replica's untouched rows are the start's). */
    long params(RowSet span) {
      return paramsBase + Checksums.rows(params, space, span.ids(), span.size(), Checksums.PARAMS)
          + Checksums.outside(params, from, to, Checksums.PARAMS);
    }

    /** The optimizer state's checksum now ({@link Optimizer#stateChecksum()}'s value, as above). */
    long state(RowSet span) {
      return OptimizerState.checksum(opt.steps(), slotsBase + opt.slotsChecksum(space, span.ids(), span.size())
          + opt.slotsChecksumOutside(from, to));
    }

    /** {@link #params(RowSet)} from the parameters packed by the span's rows ({@link RowSlice#pack}). */
    long params(RowSlice rows, float[] packed) {
      return paramsBase + Checksums.packed(packed, space, rows.rows(), params.length, Checksums.PARAMS);
    }

    /** {@link #state(RowSet)} from the slots packed by the span's rows ({@link Optimizer#packRows}). */
    long state(RowSlice rows, float[][] packed) {
      long h = slotsBase;
      for (int i = 0; i < packed.length; i++) {
        h += Checksums.packed(packed[i], space, rows.rows(), params.length, Checksums.slotSeed(i));
      }
      return OptimizerState.checksum(opt.steps(), h);
    }
  }

  /** The Spark UI's name for a span's stage. */
  static String description(Mode mode, int epoch, int epochs, long first, long end) {
    return String.format(Locale.ROOT, "sparktrain epoch %d/%d %s %d-%d (collective)", epoch + 1, epochs,
        mode == Mode.SYNC ? "steps" : "rounds", first + 1, end);
  }

  @Override
  public void close() {
    rendezvous.close();
    if (grouped) {
      shards.unpersist(false);
    }
  }
}
