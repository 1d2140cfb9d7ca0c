package io.sparktrain.train;

import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * A run's memory plan, made before round 1: about how many bytes the driver JVM and each executor
 * JVM will hold at their peak, and whether that fits their heaps. A run whose plan does not fit
 * stops with an {@link IllegalArgumentException} naming the figures, instead of an
 * {@code OutOfMemoryError} deep in a task (or in the driver's aggregation) after the data was read.
 *
 * <p><b>What is counted.</b> Everything model-sized that the round loop keeps or ships, in floats
 * of P = the network's parameter count (4 bytes each):
 * <ul>
 *   <li>driver: the parameters, the server optimizer's slots (Adam: 2, SGD with momentum: 1), the
 *       broadcast's serialized copy, the task results the aggregation holds (the last level of the
 *       ordered tree aggregation, worst case all at once) and the mean, or the collective engine's
 *       span start, its broadcast and rank 0's returned parameters and state (bytes and objects);
 *       checkpoints' serialized copy and early stopping's best parameters;
 *   <li>per concurrent task: the parameter copy, the gradient or delta, a local optimizer's slots,
 *       the partial sum and the serialized result (driver engine), or the collective replica
 *       (parameters, optimizer state, gradient, the end-of-span state snapshot); the activation
 *       workspace (rows per pass x the layers' widths x 3, x 5 with dropout) and the mini-batch;
 *   <li>per executor: the broadcast (deserialized and its pieces; on a cluster only, as in local
 *       mode the tasks read the driver's object), rank 0's serialized span result (collective);
 *   <li>cached blocks: the training (and validation) data as decoded ({@link TrainingData#cachedBytes}),
 *       spread over the executors with a 25% skew margin (at least the largest partition). They are
 *       cached by Spark (MEMORY_AND_DISK) in its storage memory, so at most the unified region
 *       ({@code spark.memory.fraction} of the heap less 300 MB) of them stays in memory; the rest
 *       spills to disk, and then each task holds its block while it reads it back.
 * </ul>
 * Plus Spark's own reserved 300 MB per JVM. The float arrays live in what Spark calls user memory,
 * which it does not manage; the plan fits when reserved + arrays + cached-in-memory stays within
 * the heap.
 *
 * <p><b>Limits.</b> The driver: {@code Runtime.maxMemory()} of this JVM. An executor:
 * {@code spark.executor.memory} (default 1g). In local mode the executors are threads of the
 * driver JVM: one heap holds both, and the plan sums them.
 *
 * <p>The estimate is coarse (transient garbage, Spark's own buffers and off-heap memory are not in
 * it) and the check refuses only when the estimate is over the limit. Set
 * {@code spark.sparktrain.memoryCheck=false} to log the plan without checking it.
 */
public final class MemoryPlan {
  private static final Logger LOG = LoggerFactory.getLogger(MemoryPlan.class);

  /** The Spark conf that switches the check off ({@code false}); the plan is still logged. */
  public static final String CHECK_CONF = "spark.sparktrain.memoryCheck";
  /** Spark's reserved system memory per JVM (UnifiedMemoryManager.RESERVED_SYSTEM_MEMORY_BYTES). */
  public static final long SPARK_RESERVED = 300L << 20;
  /** Cached bytes per executor: the even share times this, for partitions of unequal size. */
  static final double SKEW = 1.25;

  /** The JVMs of a run: local or a cluster, their heaps, executors and task slots. */
  public record Cluster(boolean local, long driverHeap, long executorHeap, String executorMemory, int executors,
      int slotsPerExecutor, double memoryFraction, long reserved) {

    /** The figures of {@code jsc}'s application (registered executors, conf, this JVM's heap). */
    public static Cluster of(JavaSparkContext jsc) {
      SparkContext sc = jsc.sc();
      SparkConf conf = jsc.getConf();
      long driverHeap = Runtime.getRuntime().maxMemory();
      double fraction = conf.getDouble("spark.memory.fraction", 0.6);
      long reserved = conf.getLong("spark.testing.reservedMemory", SPARK_RESERVED);
      int slots = Math.max(1, sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile()));
      if (sc.isLocal()) {
        return new Cluster(true, driverHeap, driverHeap, null, 1, slots, fraction, reserved);
      }
      String mem = conf.get("spark.executor.memory", "1g");
      long executorHeap = conf.getSizeAsBytes("spark.executor.memory", "1g");
      int registered = Math.max(0, sc.getExecutorMemoryStatus().size() - 1); // without the driver's
      int executors = Math.max(1, Math.max(registered, conf.getInt("spark.executor.instances", 0)));
      int taskCpus = Math.max(1, conf.getInt("spark.task.cpus", 1));
      int perExecutor = conf.contains("spark.executor.cores")
          ? Math.max(1, conf.getInt("spark.executor.cores", 1) / taskCpus)
          : Math.max(1, (slots + executors - 1) / executors);
      return new Cluster(false, driverHeap, executorHeap, mem, executors, perExecutor, fraction, reserved);
    }

    /** Spark's unified region (storage and execution) of a heap: fraction x (heap - reserved). */
    public long unified(long heap) {
      return (long) (Math.max(0, heap - reserved) * memoryFraction);
    }
  }

  /** What the plan needs of the data: cached bytes, the largest partition's, rows and nonzeros. */
  public record Data(long cachedBytes, long largestPartitionBytes, int partitions, long rows,
      double nonzerosPerRow, long largestPartitionRows) {

    /** The figures of decoded training data and (may be null) validation data, both cached. */
    public static Data of(TrainingData train, TrainingData validation) {
      long[] parts = train.partitionRows();
      long max = 0;
      for (long r : parts) max = Math.max(max, r);
      long rows = Math.max(1, train.rows());
      long cached = train.cachedBytes() + (validation == null ? 0 : validation.cachedBytes());
      long largest = (long) Math.ceil((double) train.cachedBytes() * max / rows);
      double nnz = train.sparsePartitions() > 0 ? (double) train.nonzeros() / rows : -1;
      return new Data(cached, largest, parts.length, train.rows(), nnz, max);
    }
  }

  /** One line of the plan: what, and its bytes. */
  public record Item(String what, long bytes) {
  }

  private final Cluster cluster;
  private final String run;
  private final long parameters;
  private final List<Item> driver;
  private final List<Item> perTask;
  private final List<Item> perExecutor;
  private final int tasks;
  private final long cachedShare;
  private final long cachedInMemory;

  /**
   * A plan from its parts: {@code driver} items, {@code perTask} items (times {@code tasks}
   * concurrent tasks per executor), {@code perExecutor} items and {@code cachedShare}, the cached
   * bytes on one executor (local: all of them). When those exceed the unified region, each task
   * also holds its block read back from disk ({@code blockBytes}).
   */
  public MemoryPlan(Cluster cluster, String run, long parameters, List<Item> driver, List<Item> perTask,
      List<Item> perExecutor, int tasks, long cachedShare, long blockBytes) {
    this.cluster = cluster;
    this.run = run;
    this.parameters = parameters;
    this.driver = List.copyOf(driver);
    List<Item> task = new ArrayList<>(perTask);
    long capacity = cluster.unified(cluster.executorHeap());
    this.cachedInMemory = Math.min(cachedShare, capacity);
    if (cachedShare > capacity && blockBytes > 0) {
      task.add(new Item("its block read back from disk", blockBytes));
    }
    this.perTask = List.copyOf(task);
    this.perExecutor = List.copyOf(perExecutor);
    this.tasks = Math.max(1, tasks);
    this.cachedShare = cachedShare;
  }

  /**
   * The plan of {@link Trainer#fit}: mode {@code sync} or {@code average}, engine {@code driver} or
   * {@code collective}, on {@code data} in {@code cluster}.
   */
  public static MemoryPlan forTrainer(Network net, TrainConfig cfg, Data data, Cluster cluster) {
    long p = 4L * net.layout().size();
    boolean sync = cfg.mode() == Mode.SYNC;
    boolean collective = (sync ? cfg.syncEngine() : cfg.averageEngine()) == TrainConfig.SyncEngine.COLLECTIVE;
    boolean server = sync || cfg.serverUpdate() == TrainConfig.ServerUpdate.OPTIMIZER;
    int s = server ? slots(cfg.optimizer()) : 0;
    int sl = sync ? 0 : slots(cfg.localOptimizer());
    int n = Math.max(1, data.partitions());
    int tasks = Math.min(n, cluster.slotsPerExecutor());

    List<Item> d = new ArrayList<>();
    d.add(new Item("parameters", p));
    add(d, "optimizer state (" + s + " slots)", s * p);
    List<Item> t = new ArrayList<>();
    List<Item> e = new ArrayList<>();
    if (collective) {
      d.add(new Item("span start copy", (1 + s) * p));
      d.add(new Item("span broadcast", (1 + s) * p));
      d.add(new Item("rank 0's span result (bytes and objects)", 2 * (1 + s) * p));
      t.add(new Item("replica parameters", p));
      add(t, "replica optimizer state", s * p);
      t.add(new Item(sync ? "gradient" : "delta sum", p));
      add(t, "state snapshot", s * p);
      if (!sync) {
        t.add(new Item("local copy", p));
        t.add(new Item("local gradient", p));
        add(t, "local optimizer state", sl * p);
      }
      if (!cluster.local()) {
        e.add(new Item("span broadcast (object and pieces)", 2 * (1 + s) * p));
      }
      e.add(new Item("rank 0's serialized span result", 3 * (1 + s) * p));
    } else {
      int last = lastLevel(n, cfg.aggregationDepth());
      d.add(new Item("broadcast pieces", p));
      d.add(new Item(last + " task results", last * p));
      d.add(new Item("aggregate and mean", 2 * p));
      if (sync) {
        t.add(new Item("gradient", p));
      } else {
        t.add(new Item("local copy", p));
        t.add(new Item("local gradient", p));
        add(t, "local optimizer state", sl * p);
      }
      t.add(new Item("partial sum", p));
      t.add(new Item("serialized result", p));
      if (!cluster.local()) {
        e.add(new Item("broadcast (object and pieces)", 2 * p));
      }
    }
    boolean local = sync && cfg.syncEngine() == TrainConfig.SyncEngine.LOCAL;
    if (local) {
      // The local engine collects the blocks to the driver and sums each partition's gradient there.
      d.add(new Item("collected blocks", data.cachedBytes()));
      d.add(new Item(n + " partition gradients", n * p));
    }
    if (cfg.checkpoint().dir() != null) {
      d.add(new Item("checkpoint bytes", (1 + s) * p));
    }
    if (cfg.earlyStopping().metric() != null) {
      d.add(new Item("best parameters", p));
    }
    int rows = sync ? Math.min(cfg.microBatch(), cfg.batchSize()) : cfg.batchSize();
    t.add(new Item("workspace (" + rows + " rows)", workspaceBytes(net, rows, data.nonzerosPerRow())));
    addTeacher(cfg.teacher(), rows, data.nonzerosPerRow(), cluster.local(), d, t, e);
    long share = cachedShare(data, cluster);
    if (collective && n > cluster.slotsPerExecutor() * cluster.executors()) {
      share *= 2; // the collective engine's grouped copy of the blocks (persisted too)
    }
    String run = (sync ? "sync" : "average") + "/" + (collective ? "collective" : local ? "local" : "driver");
    return new MemoryPlan(cluster, run, net.layout().size(), d, t, e, tasks, share, data.largestPartitionBytes());
  }

  /**
   * Distillation's teacher ({@link Teacher}), when there is one: on the driver the loaded copy, the
   * folded copy and the broadcast's object and pieces; on each executor the broadcast (object and
   * pieces); in each task the teacher's workspace for {@code rows} rows.
   */
  public static void addTeacher(Teacher teacher, int rows, double nonzerosPerRow, boolean local, List<Item> driver,
      List<Item> task, List<Item> executor) {
    if (teacher == null) {
      return;
    }
    Network tn = teacher.network();
    long tp = 4L * tn.layout().size();
    driver.add(new Item("teacher parameters (loaded, folded, broadcast pieces)", 3 * tp));
    task.add(new Item("teacher workspace (" + rows + " rows)", workspaceBytes(tn, rows, nonzerosPerRow)));
    if (!local) {
      executor.add(new Item("teacher broadcast (object and pieces)", 2 * tp));
    }
  }

  /** The cached bytes on one executor: all in local mode, else the even share with a skew margin. */
  public static long cachedShare(Data data, Cluster cluster) {
    if (cluster.local() || cluster.executors() <= 1) {
      return data.cachedBytes();
    }
    long even = (long) Math.ceil(SKEW * data.cachedBytes() / cluster.executors());
    return Math.min(data.cachedBytes(), Math.max(even, data.largestPartitionBytes()));
  }

  /**
   * Bytes of one task's activation workspace for {@code rows} rows per pass: z, activation and delta
   * per layer (5 with dropout: the mask and the dropped copy), and the mini-batch's features
   * (dense: rows x inputs; CSR: rows x nonzeros per row x 2 for values and column indices).
   */
  public static long workspaceBytes(Network net, int rows, double nonzerosPerRow) {
    int[] sizes = net.sizes();
    long floats = nonzerosPerRow >= 0 ? (long) Math.ceil(2 * rows * nonzerosPerRow) + rows + 1
        : (long) rows * sizes[0];
    for (int l = 0; l < net.depth(); l++) {
      floats += (long) rows * sizes[l + 1] * (net.layer(l).dropout() > 0f ? 5 : 3);
    }
    floats += (long) rows * net.labelWidth();
    return 4 * floats;
  }

  /** Slot vectors of an optimizer of {@code spec} (SGD 0 or 1, Adam and AdamW 2, ...). */
  public static int slots(OptimizerSpec spec) {
    return spec.create(1).state().slotCount();
  }

  /** How many partial results reach the driver in {@link OrderedAggregate} of {@code n} partitions. */
  public static int lastLevel(int n, int depth) {
    int scale = Math.max((int) Math.ceil(Math.pow(n, 1.0 / depth)), 2);
    while (depth > 1 && n > scale + (int) Math.ceil((double) n / scale)) {
      n = (int) Math.ceil((double) n / scale);
    }
    return n;
  }

  private static void add(List<Item> list, String what, long bytes) {
    if (bytes > 0) {
      list.add(new Item(what, bytes));
    }
  }

  private static long sum(List<Item> items) {
    long s = 0;
    for (Item i : items) s += i.bytes();
    return s;
  }

  /** The model's parameter count P. */
  public long parameters() { return parameters; }
  /** Concurrent tasks per executor (local: the tasks running at once in this JVM). */
  public int tasks() { return tasks; }
  public Cluster cluster() { return cluster; }
  public List<Item> driverItems() { return driver; }
  public List<Item> perTaskItems() { return perTask; }
  public List<Item> perExecutorItems() { return perExecutor; }
  /** Cached bytes on one executor (local: all). */
  public long cachedShare() { return cachedShare; }
  /** Of those, what stays in memory: at most Spark's unified region. */
  public long cachedInMemory() { return cachedInMemory; }

  /** One task's bytes. */
  public long taskBytes() {
    return sum(perTask);
  }

  /** What the executors' tasks, per-executor copies and in-memory cached blocks take in one executor. */
  private long executorArrays() {
    return tasks * taskBytes() + sum(perExecutor) + cachedInMemory;
  }

  /**
   * The driver JVM's bytes: Spark's reserved memory and the driver's items; in local mode also
   * the executors' (the same heap).
   */
  public long driverBytes() {
    return cluster.reserved() + sum(driver) + (cluster.local() ? executorArrays() : 0);
  }

  /** One executor's bytes (local mode: the executors' part of the one heap, without the reserved memory). */
  public long executorBytes() {
    return (cluster.local() ? 0 : cluster.reserved()) + executorArrays();
  }

  public long driverLimit() { return cluster.driverHeap(); }
  public long executorLimit() { return cluster.local() ? cluster.driverHeap() : cluster.executorHeap(); }

  /** Whether the driver (and, on a cluster, each executor) fits its heap. */
  public boolean fits() {
    return driverFits() && executorFits();
  }

  private boolean driverFits() {
    return driverBytes() <= driverLimit();
  }

  private boolean executorFits() {
    return cluster.local() || executorBytes() <= executorLimit();
  }

  /** For summary.json: the figures in bytes. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("driver_bytes", driverBytes());
    m.put("executor_bytes", executorBytes());
    m.put("driver_limit", driverLimit());
    m.put("executor_limit", executorLimit());
    m.put("local", cluster.local());
    m.put("run", run);
    m.put("parameters", parameters);
    m.put("executors", cluster.executors());
    m.put("tasks_per_executor", tasks);
    m.put("task_bytes", taskBytes());
    m.put("cached_bytes_per_executor", cachedShare);
    m.put("cached_bytes_in_memory", cachedInMemory);
    m.put("fits", fits());
    return m;
  }

  /** The one log line. */
  public String describe() {
    if (cluster.local()) {
      return String.format(Locale.ROOT, "memory plan (%s, local mode, %,d parameters): this JVM needs about %s of"
          + " its %s heap: %s", run, parameters, bytes(driverBytes()), bytes(driverLimit()), localParts());
    }
    return String.format(Locale.ROOT, "memory plan (%s, %,d parameters): driver about %s of %s (%s); each of %d"
        + " executors about %s of %s (%s)", run, parameters, bytes(driverBytes()), bytes(driverLimit()),
        list(driver), cluster.executors(), bytes(executorBytes()), bytes(executorLimit()), executorParts());
  }

  private String localParts() {
    return "driver " + bytes(sum(driver)) + " (" + list(driver) + "); " + executorParts() + "; Spark's reserved "
        + bytes(cluster.reserved());
  }

  private String executorParts() {
    StringBuilder b = new StringBuilder();
    b.append(tasks).append(tasks == 1 ? " task x " : " tasks x ").append(bytes(taskBytes())).append(" (")
        .append(list(perTask)).append(")");
    if (!perExecutor.isEmpty()) {
      b.append("; once per executor: ").append(list(perExecutor));
    }
    b.append("; cached blocks ").append(bytes(cachedShare));
    if (cachedInMemory < cachedShare) {
      b.append(", at most ").append(bytes(cachedInMemory)).append(" of it in memory, the rest on disk");
    }
    return b.toString();
  }

  private static String list(List<Item> items) {
    StringBuilder b = new StringBuilder();
    for (Item i : items) {
      if (b.length() > 0) {
        b.append(", ");
      }
      b.append(i.what()).append(' ').append(bytes(i.bytes()));
    }
    return b.toString();
  }

  /**
   * The error of a plan that does not fit: what needs how much, the limit, and what to change;
   * null when it fits.
   */
  public String failure() {
    if (fits()) {
      return null;
    }
    String skip = " (or set " + CHECK_CONF + "=false to skip this check)";
    if (cluster.local()) {
      return String.format(Locale.ROOT, "memory plan: this JVM (the driver, which runs the local-mode executors"
          + " too) needs about %s (%s) but its heap is %s (Runtime.maxMemory: -Xmx, spark.driver.memory; %s for"
          + " Spark's storage and execution). Raise the heap, use fewer local task threads, or use a smaller"
          + " model%s", bytes(driverBytes()), localParts(), bytes(driverLimit()),
          bytes(cluster.unified(driverLimit())), skip);
    }
    StringBuilder m = new StringBuilder("memory plan: ");
    if (!executorFits()) {
      long heap = executorLimit();
      long unified = cluster.unified(heap);
      m.append(String.format(Locale.ROOT, "the executors need about %s each (%s; Spark's reserved %s) but"
          + " spark.executor.memory is %s (%s heap: %s reserved, %s for Spark's storage and execution, %s user"
          + " memory). Raise spark.executor.memory, use more partitions/executors (or fewer cores per"
          + " executor), or use a smaller model", bytes(executorBytes()), executorParts(),
          bytes(cluster.reserved()), cluster.executorMemory(), bytes(heap), bytes(cluster.reserved()),
          bytes(unified), bytes(Math.max(0, heap - cluster.reserved() - unified))));
    }
    if (!driverFits()) {
      if (!executorFits()) {
        m.append("; and ");
      }
      m.append(String.format(Locale.ROOT, "the driver needs about %s (%s; Spark's reserved %s) but its heap is %s"
          + " (spark.driver.memory). Raise spark.driver.memory or use a smaller model", bytes(driverBytes()),
          list(driver), bytes(cluster.reserved()), bytes(driverLimit())));
    }
    return m.append(skip).toString();
  }

  /**
   * Logs the plan (INFO, one line) and, unless {@link #CHECK_CONF} is false, throws when it does not
   * fit. Returns the plan.
   */
  public MemoryPlan check(JavaSparkContext jsc) {
    LOG.info("sparktrain: {}", describe());
    String f = failure();
    if (f != null) {
      if (!checkEnabled(jsc)) {
        LOG.warn("sparktrain: {} is false: training anyway, although {}", CHECK_CONF, f);
        return this;
      }
      throw new IllegalArgumentException(f);
    }
    return this;
  }

  /** False when {@link #CHECK_CONF} is false in the SparkContext's conf or the active session's. */
  public static boolean checkEnabled(JavaSparkContext jsc) {
    String v = jsc.getConf().get(CHECK_CONF, null);
    if (v == null) {
      Option<SparkSession> s = SparkSession.getActiveSession();
      if (s.isDefined()) {
        v = s.get().conf().get(CHECK_CONF, null);
      }
    }
    return v == null || !v.trim().equalsIgnoreCase("false");
  }

  /** Plans and checks a {@link Trainer#fit} run; see {@link #check}. */
  static MemoryPlan checkTrainer(Network net, TrainConfig cfg, TrainingData train, TrainingData validation) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(train.blocks().context());
    return forTrainer(net, cfg, Data.of(train, validation), Cluster.of(jsc)).check(jsc);
  }

  /** 1.5 GiB, 67.1 MiB, 12.0 KiB, 512 B. */
  public static String bytes(long b) {
    if (b >= 1L << 30) {
      return String.format(Locale.ROOT, "%.1f GiB", b / (double) (1L << 30));
    }
    if (b >= 1L << 20) {
      return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
    }
    if (b >= 1L << 10) {
      return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    }
    return b + " B";
  }

  @Override
  public String toString() {
    return describe();
  }
}
