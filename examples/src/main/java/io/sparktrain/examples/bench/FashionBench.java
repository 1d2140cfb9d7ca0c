package io.sparktrain.examples.bench;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.examples.FashionMnist;
import io.sparktrain.linalg.Blas;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.Mode;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.TrainResult;
import io.sparktrain.train.Trainer;
import io.sparktrain.util.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Fashion-MNIST, 784-256-128-10: sparktrain against Spark MLlib's MultilayerPerceptronClassifier
 * (l-bfgs, 100 iterations, blockSize 128) in one Spark application. Prints JSON lines. Run by
 * {@code scripts/bench.sh fashion [options]}.
 *
 * <p>Options: {@code --data DIR --master local[2] --partitions 2 --mode average|sync --epochs 10
 * --batch 128 --local-steps 235 --lr 0.001 --validate-every 1 --mllib-iterations 100 --skip-mllib
 * --warmup-epochs 10 --engine collective|driver --hidden 256,128}.
 *
 * <p>With {@code --mode sync} (and without {@code --no-compare}) one invocation measures, in the
 * same JVM: the collective engine at {@code --batch}; the driver engine at the same batch for
 * {@code --driver-rounds} rounds; the collective engine at global batch {@code --large-batch} (for
 * {@code --average-epochs} after 2 warm-up epochs, as average mode); and
 * {@code average} mode with the bench defaults (local steps 235, batch 128) for
 * {@code --average-epochs}; one epoch cut into spans of 25 steps (by validation), for the spans'
 * fixed cost; then prints a comparison line of ratios. Steady state is the median
 * epoch of the second half (rows / training seconds of the epoch, validation excluded).
 *
 * <p>Warm-up: before the measured run, the same training runs for {@code --warmup-epochs} epochs
 * on a throwaway model, so that the measured run sees a JVM whose JIT has compiled Spark's per-round
 * machinery (task and result serialization, scheduling, closure cleaning) and ours, as
 * {@code scripts/bench.sh core} drops its first repetition. Without it the C2 compiler takes about half
 * a core during the first 20 rounds, from the very tasks being measured. 0 disables it.
 */
public final class FashionBench {
  private static final double[] LEVELS = {0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.885, 0.89};

  private FashionBench() {
  }

  public static void main(String[] args) {
    Map<String, String> opt = new LinkedHashMap<>();
    opt.put("data", "data/fashion-mnist");
    opt.put("master", "local[2]");
    opt.put("partitions", "2");
    opt.put("mode", "average");
    opt.put("epochs", "10");
    opt.put("batch", "128");
    opt.put("local-steps", "235");
    opt.put("lr", "0.001");
    opt.put("validate-every", "1");
    opt.put("mllib-iterations", "100");
    opt.put("skip-mllib", "false");
    opt.put("warmup-epochs", "10");
    opt.put("engine", "collective"); // sync_engine or average_engine
    opt.put("hidden", "256,128");
    opt.put("no-compare", "false");
    opt.put("driver-rounds", "200");
    opt.put("large-batch", "1024");
    opt.put("average-epochs", "4");
    opt.put("micro-batch", String.valueOf(LocalWork.DEFAULT_MICRO_BATCH));
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--") || !opt.containsKey(a.substring(2))) {
        System.err.println("unknown option " + a + "; known: " + opt.keySet());
        System.exit(2);
      }
      String key = a.substring(2);
      opt.put(key, key.equals("skip-mllib") || key.equals("no-compare") ? "true" : args[++i]);
    }
    SparkSession spark = SparkSession.builder().master(opt.get("master")).appName("sparktrain-fashion-bench")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", opt.get("partitions")).getOrCreate();
    try {
      int parts = Integer.parseInt(opt.get("partitions"));
      Dataset<Row> train = FashionMnist.load(spark, opt.get("data"), "train").coalesce(parts);
      Dataset<Row> test = FashionMnist.load(spark, opt.get("data"), "test").coalesce(parts);
      // The single-thread figure of scripts/bench.sh core (median of 7 x 200 batches), measured in this
      // run for the scaling ratio.
      int[] hidden = Arrays.stream(opt.get("hidden").split(",")).mapToInt(Integer::parseInt).toArray();
      double single = CoreBench.singleThread(200, 7, 128, hidden);
      Map<String, Object> ours = runSparktrain(train, test, opt);
      ours.put("single_thread_samples_per_s", single);
      ours.put("scaling_vs_single_thread", (Double) ours.get("samples_per_s_steady") / single);
      ours.put("scaling_vs_single_thread_whole_run", (Double) ours.get("samples_per_s") / single);
      List<double[]> oursCurve = curve(ours);
      System.out.println(Json.object(ours));
      if (opt.get("mode").equals("sync") && !Boolean.parseBoolean(opt.get("no-compare"))) {
        compareSync(train, test, opt, ours, single);
      }
      if (!Boolean.parseBoolean(opt.get("skip-mllib"))) {
        Map<String, Object> mllib = runMllib(train, test, Integer.parseInt(opt.get("mllib-iterations")));
        System.out.println(Json.object(mllib));
        double target = (Double) mllib.get("test_accuracy");
        Double oursAtTarget = timeTo(oursCurve, target);
        Map<String, Object> cmp = new LinkedHashMap<>();
        cmp.put("bench", "fashion");
        cmp.put("comparison", "speedup_vs_mllib");
        cmp.put("mllib_test_accuracy", target);
        cmp.put("mllib_train_seconds", mllib.get("train_seconds"));
        cmp.put("sparktrain_seconds_to_mllib_accuracy", oursAtTarget);
        cmp.put("speedup_vs_mllib", oursAtTarget == null ? null : (Double) mllib.get("train_seconds") / oursAtTarget);
        System.out.println(Json.object(cmp));
      }
    } finally {
      spark.stop();
    }
  }

  /** The sync comparison runs (see the class comment) and their ratios, as JSON lines. */
  private static void compareSync(Dataset<Row> train, Dataset<Row> test, Map<String, String> opt,
      Map<String, Object> collective, double single) {
    Map<String, Object> d = variant(train, test, opt, "engine", "driver", "epochs", "1", "max-rounds",
        opt.get("driver-rounds"), "warmup-epochs", "0", "warmup-rounds", "100");
    // Global batch 1024 against average mode: the same epochs, warm-up and steady-state rule (the median
    // epoch of the second half) for both, so that one noisy epoch does not decide the ratio.
    Map<String, Object> l = variant(train, test, opt, "batch", opt.get("large-batch"), "epochs",
        opt.get("average-epochs"), "warmup-epochs", "2");
    // The spans' fixed cost: one epoch cut into spans of 25 steps by validation (about 19 spans).
    Map<String, Object> probe = variant(train, test, opt, "epochs", "1", "warmup-epochs", "0",
        "sync-validate-every", "25");
    Map<String, Object> a = variant(train, test, opt, "mode", "average", "batch", "128", "local-steps", "235",
        "epochs", opt.get("average-epochs"), "warmup-epochs", "2", "engine", "collective");
    Map<String, Object> cmp = new LinkedHashMap<>();
    cmp.put("bench", "fashion");
    cmp.put("comparison", "sync_engines");
    cmp.put("model", collective.get("model"));
    cmp.put("single_thread_samples_per_s", single);
    cmp.put("collective_samples_per_s_steady", collective.get("samples_per_s_steady"));
    cmp.put("driver_samples_per_s_steady", d.get("samples_per_s_steady"));
    cmp.put("collective_vs_driver", (Double) collective.get("samples_per_s_steady")
        / (Double) d.get("samples_per_s_steady"));
    cmp.put("collective_vs_single_thread", (Double) collective.get("samples_per_s_steady") / single);
    cmp.put("collective_step_profile", collective.get("collective_profile"));
    cmp.put("span_probe_profile", probe.get("collective_profile"));
    cmp.put("collective_test_accuracy", collective.get("test_accuracy"));
    cmp.put("collective_large_batch", l.get("batch"));
    cmp.put("collective_large_batch_samples_per_s_steady", l.get("samples_per_s_steady"));
    cmp.put("average_samples_per_s_steady", a.get("samples_per_s_steady"));
    cmp.put("collective_large_batch_vs_average", (Double) l.get("samples_per_s_steady")
        / (Double) a.get("samples_per_s_steady"));
    System.out.println(Json.object(cmp));
  }

  /** Runs sparktrain with {@code opt} changed by the (key, value) pairs and prints its JSON line. */
  private static Map<String, Object> variant(Dataset<Row> train, Dataset<Row> test, Map<String, String> opt,
      String... keyValues) {
    Map<String, String> o = new LinkedHashMap<>(opt);
    for (int i = 0; i < keyValues.length; i += 2) o.put(keyValues[i], keyValues[i + 1]);
    Map<String, Object> run = runSparktrain(train, test, o);
    curve(run);
    System.out.println(Json.object(run));
    return run;
  }

  @SuppressWarnings("unchecked")
  private static List<double[]> curve(Map<String, Object> run) {
    return (List<double[]>) run.remove("_curve");
  }

  private static Map<String, Object> runSparktrain(Dataset<Row> train, Dataset<Row> test, Map<String, String> opt) {
    long d0 = System.nanoTime();
    InputSpec spec = InputSpec.classification("features", "label").withNumClasses(10);
    TrainingData tr = TrainingData.decode(train, spec);
    TrainingData te = TrainingData.decode(test, spec);
    double decodeSeconds = (System.nanoTime() - d0) / 1e9;
    Network.Builder nb = Network.builder(784);
    String model = "784";
    for (String h : opt.get("hidden").split(",")) {
      nb.dense(Integer.parseInt(h.trim()), Activation.RELU);
      model += "-" + h.trim();
    }
    model += "-10";
    Network net = nb.dense(10, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Mode mode = Mode.valueOf(opt.get("mode").toUpperCase(Locale.ROOT));
    String engineName = opt.get("engine");
    TrainConfig.SyncEngine engine = TrainConfig.SyncEngine.valueOf(engineName.toUpperCase(Locale.ROOT));
    OptimizerSpec adam = OptimizerSpec.adam().learningRate(Double.parseDouble(opt.get("lr"))).build();
    long maxRounds = Long.parseLong(opt.getOrDefault("max-rounds", "0"));
    // Sync validates after each epoch (every round would be one validation per step).
    int validateEvery = mode == Mode.SYNC ? Integer.parseInt(opt.getOrDefault("sync-validate-every", "0"))
        : Integer.parseInt(opt.get("validate-every"));
    TrainConfig cfg = TrainConfig.builder().mode(mode).syncEngine(engine).averageEngine(engine)
        .epochs(Integer.parseInt(opt.get("epochs"))).maxRounds(maxRounds).batchSize(Integer.parseInt(opt.get("batch")))
        .localSteps(Integer.parseInt(opt.get("local-steps"))).optimizer(adam).localOptimizer(adam).seed(1)
        .microBatch(Integer.parseInt(opt.get("micro-batch"))).validateEveryRounds(validateEvery).build();
    int warmup = Integer.parseInt(opt.get("warmup-epochs"));
    long warmupRounds = Long.parseLong(opt.getOrDefault("warmup-rounds", "0"));
    if (warmup > 0 || warmupRounds > 0) {
      long w0 = System.nanoTime();
      TrainConfig warm = TrainConfig.builder().mode(mode).syncEngine(engine).averageEngine(engine)
          .epochs(Math.max(1, warmup)).maxRounds(warmupRounds).batchSize(cfg.batchSize())
          .localSteps(cfg.localSteps()).optimizer(adam).localOptimizer(adam).seed(2)
          .validateEveryRounds(cfg.validateEveryRounds()).build();
      new Trainer(net, warm).fit(tr, te);
      System.err.printf(Locale.ROOT, "fashion bench: warm-up (%s) took %.1f s (not measured)%n",
          warmupRounds > 0 ? warmupRounds + " rounds" : warmup + " epochs", (System.nanoTime() - w0) / 1e9);
    }
    RoundProfile profile = new RoundProfile();
    train.sparkSession().sparkContext().addSparkListener(profile);
    Trainer trainer = new Trainer(net, cfg);
    TrainResult r = trainer.fit(tr, te);
    try {
      train.sparkSession().sparkContext().listenerBus().waitUntilEmpty(10_000);
    } catch (TimeoutException e) {
      System.err.println("fashion bench: Spark's listener bus did not drain; the round profile may be short");
    }
    train.sparkSession().sparkContext().removeSparkListener(profile);
    List<double[]> curve = new ArrayList<>(); // (train seconds, accuracy)
    List<Double> roundRates = new ArrayList<>();
    List<Double> epochRates = new ArrayList<>();
    long rows = 0;
    long epochRows = 0;
    double lastTrainS = 0;
    for (Map<String, Object> rec : r.history().records()) {
      if ("round".equals(rec.get("type"))) {
        rows += ((Number) rec.get("rows")).longValue();
        epochRows += ((Number) rec.get("rows")).longValue();
        roundRates.add(((Number) rec.get("samples_per_s")).doubleValue());
      }
      if ("epoch".equals(rec.get("type"))) {
        double ts = ((Number) rec.get("train_s")).doubleValue();
        epochRates.add(epochRows / (ts - lastTrainS));
        lastTrainS = ts;
        epochRows = 0;
      }
      Object acc = rec.get("val_accuracy");
      if (acc != null) {
        curve.add(new double[] {((Number) rec.get("train_s")).doubleValue(), ((Number) acc).doubleValue()});
      }
    }
    double trainSeconds = curve.isEmpty() ? r.trainSeconds() : curve.get(curve.size() - 1)[0];
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("bench", "fashion");
    out.put("system", "sparktrain");
    out.put("model", model);
    out.put("master", opt.get("master"));
    out.put("partitions", tr.numPartitions());
    out.put("mode", opt.get("mode"));
    out.put("sync_engine", mode == Mode.SYNC ? engineName : null);
    out.put("average_engine", mode == Mode.AVERAGE ? engineName : null);
    out.put("batch", cfg.batchSize());
    out.put("local_steps", mode == Mode.AVERAGE ? cfg.localSteps() : null);
    out.put("optimizer", adam.toString());
    out.put("epochs", r.epochs());
    out.put("rounds", r.rounds());
    out.put("blas", Blas.get().describe());
    out.put("test_accuracy", r.finalValidation().get("val_accuracy"));
    out.put("test_loss", r.finalValidation().get("val_loss"));
    out.put("train_seconds", trainSeconds);
    out.put("decode_seconds", decodeSeconds);
    out.put("warmup_epochs", warmup);
    out.put("samples_per_s", rows / trainSeconds);
    // Steady state, like the single-thread core benchmark (which drops its warm-up repetition): the
    // median round of the second half of training, after the JIT has compiled Spark's and our code.
    // (For sync with the collective engine a "round" rate is rank 0's step time, without the spans'
    // fixed cost; the epoch figure below includes everything but validation.)
    List<Double> late = new ArrayList<>(roundRates.subList(roundRates.size() / 2, roundRates.size()));
    late.sort(null);
    roundRates.sort(null);
    out.put("samples_per_s_median_round", roundRates.get(roundRates.size() / 2));
    // Steady state: the median epoch of the second half (a partial last epoch, e.g. max_rounds, counts).
    List<Double> lateEpochs = new ArrayList<>(epochRates.subList(epochRates.size() / 2, epochRates.size()));
    lateEpochs.sort(null);
    out.put("samples_per_s_steady", lateEpochs.isEmpty() ? late.get(late.size() / 2)
        : lateEpochs.get(lateEpochs.size() / 2));
    out.put("samples_per_s_per_epoch", epochRates);
    out.put("collective_profile", trainer.collectiveProfile());
    // Where a steady-state round's time goes: tasks computing, the slowest task's extra, the rest
    // (broadcast, scheduling, task (de)serialization, results, the driver's step).
    double roundSeconds = rows / (double) r.rounds() / late.get(late.size() / 2);
    Map<String, Object> prof = profile.steadyState(rows / r.rounds() / Math.max(1, tr.numPartitions()));
    prof.put("round_seconds", roundSeconds);
    prof.put("share_computing", (Double) prof.get("task_run_seconds_mean") / roundSeconds);
    prof.put("share_waiting_for_slowest_task",
        ((Double) prof.get("task_run_seconds_max") - (Double) prof.get("task_run_seconds_mean")) / roundSeconds);
    prof.put("share_spark_and_driver", 1 - (Double) prof.get("task_run_seconds_max") / roundSeconds);
    out.put("round_profile", prof);
    out.put("seconds_to_accuracy", levels(curve));
    out.put("_curve", curve);
    tr.unpersist();
    te.unpersist();
    return out;
  }

  private static Map<String, Object> runMllib(Dataset<Row> train, Dataset<Row> test, int iterations) {
    MultilayerPerceptronClassifier mlp = new MultilayerPerceptronClassifier()
        .setLayers(new int[] {784, 256, 128, 10}).setSolver("l-bfgs").setMaxIter(iterations).setBlockSize(128)
        .setSeed(1L);
    long t0 = System.nanoTime();
    MultilayerPerceptronClassificationModel model = mlp.fit(train);
    double secs = (System.nanoTime() - t0) / 1e9;
    double acc = new MulticlassClassificationEvaluator().setMetricName("accuracy")
        .evaluate(model.transform(test));
    int its = model.summary().totalIterations();
    long n = train.count();
    List<double[]> curve = List.of(new double[] {secs, acc});
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("bench", "fashion");
    out.put("system", "mllib");
    out.put("model", "784-256-128-10");
    out.put("solver", "l-bfgs");
    out.put("iterations", its);
    out.put("block_size", 128);
    out.put("test_accuracy", acc);
    out.put("train_seconds", secs);
    out.put("samples_per_s", n * (double) its / secs);
    out.put("seconds_to_accuracy", levels(curve));
    return out;
  }

  private static Map<String, Object> levels(List<double[]> curve) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (double level : LEVELS) m.put(String.format(Locale.ROOT, "%.3f", level), timeTo(curve, level));
    return m;
  }

  /** The first train time at which accuracy reached {@code level}, or null. */
  private static Double timeTo(List<double[]> curve, double level) {
    for (double[] p : curve) {
      if (p[1] >= level) {
        return p[0];
      }
    }
    return null;
  }
}
