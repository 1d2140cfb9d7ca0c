package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.ml.NeuralNetClassificationModel;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shaded application jar on a real Spark standalone cluster: scripts/cluster.sh starts a Master
 * and 2 Workers (1 core each, 127.0.0.1 only), scripts/submit.sh submits
 * {@code io.sparktrain.driver.Main train --config job.yaml} to it, and the executors run in their own
 * JVMs, one on each Worker. Then the run's output is checked (model loads and predicts, metrics.jsonl,
 * summary.json) and the Master's and Workers' JSON endpoints must show the finished application with
 * an executor on both workers. Logs of every process are printed when something fails; the run's
 * files stay in driver/target/it/.
 */
class ClusterSubmitIT {
  /** Epochs of the runs: 19 collective steps each (300 rows, batch 16), long enough to kill an executor in. */
  private static final int EPOCHS = 40;
  private static final Duration CLUSTER_UP_TIMEOUT = Duration.ofSeconds(300);
  private static final Duration SUBMIT_TIMEOUT = Duration.ofSeconds(360);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final Path root = Paths.get(System.getProperty("sparktrain.root", "..")).toAbsolutePath().normalize();
  private final Path appJar = Paths.get(System.getProperty("sparktrain.appJar", "target/missing-app.jar"));
  private final Path itDir = Paths.get(System.getProperty("sparktrain.itDir", "target/it")).toAbsolutePath();

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void trainSubmittedToStandaloneCluster() throws Exception {
    assertTrue(Files.isRegularFile(appJar), "no shaded jar at " + appJar + " (failsafe runs after package)");
    try (ZipFile jar = new ZipFile(appJar.toFile())) {
      Assumptions.assumeTrue(jar.getEntry("io/sparktrain/driver/Main.class") != null,
          "the command line (io.sparktrain.driver.Main) is not on this branch yet; nothing to submit");
    }
    Path work = itDir.resolve("cluster-" + System.currentTimeMillis());
    Path state = work.resolve("cluster");
    Files.createDirectories(work);
    // A slow (shared, loaded) machine gets time; a fresh one also assembles target/spark-home first.
    Map<String, String> env = Map.of("SPARKTRAIN_CLUSTER_DIR", state.toString(), "SPARKTRAIN_CLUSTER_TIMEOUT", "240");
    Path upLog = work.resolve("cluster-up.log");
    Path submitLog = work.resolve("submit.log");
    SparkSession spark = null;
    long t0 = System.nanoTime();
    try {
      // The cluster starts while this JVM writes the data.
      Process up = start(List.of("bash", root.resolve("scripts/cluster.sh").toString(), "up"), env, upLog);
      spark = SparkSession.builder().master("local[1]").appName("ClusterSubmitIT")
          .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
      Path train = work.resolve("train.parquet");
      Path test = work.resolve("test.parquet");
      blobs(spark, 300, 1).write().parquet(train.toString());
      blobs(spark, 90, 2).write().parquet(test.toString());
      Path out = work.resolve("out");
      Path yaml = work.resolve("job.yaml");
      Files.writeString(yaml, job("cluster-it", train, test, out));

      int upCode = finish(up, CLUSTER_UP_TIMEOUT, upLog);
      assertEquals(0, upCode, "scripts/cluster.sh up failed:\n" + tail(upLog, 80));
      Properties cluster = new Properties();
      try (var r = Files.newBufferedReader(state.resolve("cluster.env"))) {
        cluster.load(r);
      }
      String masterUrl = cluster.getProperty("MASTER_URL");
      String masterUi = "http://127.0.0.1:" + cluster.getProperty("MASTER_WEBUI_PORT");
      log("cluster up in %.0f s: %s", secondsSince(t0), masterUrl);

      long t1 = System.nanoTime();
      Process submit = submitTrain(masterUrl, yaml, submitLog);
      int code = finish(submit, SUBMIT_TIMEOUT, submitLog);
      String stdout = Files.readString(submitLog);
      assertEquals(0, code, "submit.sh ... train exited " + code + ":\n" + tail(submitLog, 120));
      log("train on the cluster in %.0f s", secondsSince(t1));

      // What the run wrote.
      assertTrue(stdout.contains("test accuracy"), "no 'test accuracy' line in the output:\n" + tail(submitLog, 60));
      assertTrue(Files.isDirectory(out.resolve("model")), "no model/ in " + out);
      List<JsonNode> records = new ArrayList<>();
      for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
        if (!line.isBlank()) records.add(JSON.readTree(line));
      }
      long epochLines = records.stream().filter(r -> "epoch".equals(r.path("type").asText())).count();
      assertEquals(EPOCHS, epochLines, "epoch lines in metrics.jsonl");
      JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
      assertEquals("cluster-it", summary.path("name").asText(), "summary.json name: " + summary);

      // The model loads outside the run and predicts the (well separated) test blobs.
      NeuralNetClassificationModel model = NeuralNetClassificationModel.load(out.resolve("model").toString());
      assertEquals(3, model.getNumClasses());
      Dataset<Row> predicted = model.transform(spark.read().parquet(test.toString()));
      long n = predicted.count();
      long right = predicted.filter("prediction = label").count();
      assertEquals(90, n);
      assertTrue(right >= 0.9 * n, "accuracy " + right + "/" + n);

      // The Master saw one finished application, and each Worker ran an executor of it.
      JsonNode master = pollJson(masterUi + "/json/", m -> m.path("completedapps").size() >= 1, 30);
      assertEquals(1, master.path("completedapps").size(), "completed apps: " + master.path("completedapps"));
      JsonNode app = master.path("completedapps").get(0);
      String appId = app.path("id").asText();
      assertEquals("FINISHED", app.path("state").asText(), "application state: " + app);
      assertEquals(0, master.path("activeapps").size(), "active apps: " + master.path("activeapps"));
      Set<String> workersWithExecutor = new HashSet<>();
      for (JsonNode w : master.path("workers")) {
        String ui = w.path("webuiaddress").asText();
        JsonNode worker = pollJson(ui + "/json/", j -> executorsOf(j, appId) > 0, 20);
        if (executorsOf(worker, appId) > 0) workersWithExecutor.add(w.path("id").asText());
      }
      assertEquals(2, master.path("workers").size(), "workers: " + master.path("workers"));
      assertEquals(2, workersWithExecutor.size(), "workers that ran an executor of " + appId + ": "
          + workersWithExecutor);
      // The sync steps ran on the collective engine: one barrier task per executor JVM, all-reducing
      // over TCP between them.
      JsonNode collective = summary.path("collective");
      assertTrue(collective.path("steps").asLong() == EPOCHS * 19L, "summary.json collective: " + collective);

      // The same run again with one executor JVM killed (kill -9) mid-run. The span that loses its
      // task fails, reruns from its start on a replacement executor, and the final parameters are
      // bit-identical to the undisturbed run's.
      float[] undisturbed = model.parameters();
      float[] survived = killedRun(work, train, masterUrl, masterUi);
      assertArrayEquals(undisturbed, survived,
          "parameters after an executor was killed mid-run differ from an undisturbed run");
      log("checked; %.0f s in all", secondsSince(t0));
    } catch (Throwable e) {
      System.err.println(diagnostics(work));
      throw e;
    } finally {
      if (spark != null) spark.stop();
      Path downLog = work.resolve("cluster-down.log");
      Process down = start(List.of("bash", root.resolve("scripts/cluster.sh").toString(), "down"), env, downLog);
      int downCode = finish(down, Duration.ofSeconds(90), downLog);
      if (downCode != 0) System.err.println("cluster.sh down exited " + downCode + ":\n" + tail(downLog, 40));
    }
  }

  /**
   * The job: the blobs for {@link #EPOCHS} epochs of sync steps on the collective engine, evaluated on
   * {@code test} when given. Every run of this test trains exactly this (a test set changes nothing
   * in training), so their parameters must agree bit for bit.
   */
  private static String job(String name, Path train, Path test, Path out) {
    return String.join("\n",
        "name: " + name,
        "data: {format: parquet, train: " + train + (test == null ? "" : ", test: " + test)
            + ", features: features, label: label, partitions: 2}",
        "model: {task: classification, hidden: [16], activation: relu}",
        "training: {mode: sync, sync_engine: collective, epochs: " + EPOCHS + ", batch_size: 16, seed: 7,"
            + " optimizer: {name: adam, learning_rate: 0.01}, collective_timeout_s: 20}",
        "output: {dir: " + out + ", overwrite: true}",
        "");
  }

  /**
   * The job again, killing one executor of the application with SIGKILL a few seconds into training;
   * checks that the application got a replacement executor and returns the model's parameters.
   */
  private float[] killedRun(Path work, Path train, String masterUrl, String masterUi) throws Exception {
    String name = "killed";
    Path out = work.resolve(name);
    Path yaml = work.resolve(name + ".yaml");
    Files.writeString(yaml, job(name, train, null, out));
    Path log = work.resolve(name + ".log");
    long t0 = System.nanoTime();
    Process submit = submitTrain(masterUrl, yaml, log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (!Files.readString(log).contains("collective engine: 2 barrier tasks") && submit.isAlive()
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    Thread.sleep(3_000); // some spans in
    JsonNode active = pollJson(masterUi + "/json/", m -> m.path("activeapps").size() >= 1, 10);
    String appId = active.path("activeapps").get(0).path("id").asText();
    Process pgrep = new ProcessBuilder("pgrep", "-f", "CoarseGrainedExecutorBackend.*" + appId).start();
    String pids = new String(pgrep.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    pgrep.waitFor();
    assertTrue(!pids.isEmpty(), "no executor process of " + appId + " to kill");
    String victim = pids.split("\\s+")[0];
    new ProcessBuilder("kill", "-9", victim).start().waitFor();
    log("killed executor pid %s of %s %.0f s into the run", victim, appId, secondsSince(t0));
    int code = finish(submit, SUBMIT_TIMEOUT, log);
    assertEquals(0, code, "submit.sh ... train (" + name + ") exited " + code + ":\n" + tail(log, 120));
    String text = Files.readString(log);
    log("%s: %s", name, text.contains("rerunning it from its start") ? "a span failed and was rerun"
        : "the executor was lost between spans");
    JsonNode master = pollJson(masterUi + "/json/", m -> m.toString().contains(appId), 10);
    int executors = 0;
    for (JsonNode w : master.path("workers")) {
      executors += executorsOf(pollJson(w.path("webuiaddress").asText() + "/json/", j -> true, 10), appId);
    }
    assertTrue(executors >= 3, "the killed executor must have been replaced; executors of " + appId + ": "
        + executors);
    log("%s run in %.0f s", name, secondsSince(t0));
    return NeuralNetClassificationModel.load(out.resolve("model").toString()).parameters();
  }

  /** {@code scripts/submit.sh ... -- train --config yaml} on the cluster's 2 executors of 1 core. */
  private Process submitTrain(String masterUrl, Path yaml, Path log) throws IOException {
    return start(List.of("bash", root.resolve("scripts/submit.sh").toString(),
        "--master", masterUrl,
        "--conf", "spark.executor.cores=1",
        "--conf", "spark.cores.max=2",
        "--conf", "spark.executor.memory=768m",
        // Start training only when both executors are there (else a fast run may use one).
        "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
        "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=60s",
        // After a lost executor, recheck a barrier stage's slots every second (default 15 s).
        "--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.interval=1s",
        "--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures=120",
        "--conf", "spark.ui.enabled=false",
        "--driver-memory", "1g",
        "--",
        "train", "--config", yaml.toString()),
        Map.of("SPARKTRAIN_JAR", appJar.toString()), log);
  }

  /** Three Gaussian blobs in 4 dimensions, features as an ml Vector, label 0..2 as a double. */
  private static Dataset<Row> blobs(SparkSession spark, int rows, long seed) {
    double[][] centers = {{2, 0, 0, 1}, {-2, 1, 0, -1}, {0, -2, 2, 0}};
    Random rnd = new Random(seed);
    List<Row> data = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      int k = i % 3;
      double[] x = new double[4];
      for (int j = 0; j < 4; j++) x[j] = centers[k][j] + 0.5 * rnd.nextGaussian();
      data.add(RowFactory.create(Vectors.dense(x), (double) k));
    }
    StructType schema = new StructType(new StructField[] {
        new StructField("features", SQLDataTypes.VectorType(), false, Metadata.empty()),
        new StructField("label", DataTypes.DoubleType, false, Metadata.empty())});
    return spark.createDataFrame(data, schema).repartition(2);
  }

  private static int executorsOf(JsonNode worker, String appId) {
    int n = 0;
    for (String list : new String[] {"executors", "finishedexecutors"}) {
      for (JsonNode e : worker.path(list)) {
        if (appId.equals(e.path("appid").asText())) n++;
      }
    }
    return n;
  }

  private static JsonNode pollJson(String url, Predicate<JsonNode> done, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    JsonNode last = null;
    Exception lastError = null;
    while (true) {
      try {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        last = JSON.readTree(r.body());
        if (done.test(last)) return last;
      } catch (IOException e) {
        lastError = e;
      }
      if (System.nanoTime() > deadline) {
        if (last != null) return last;
        throw new AssertionError("no JSON from " + url, lastError);
      }
      Thread.sleep(500);
    }
  }

  private Process start(List<String> cmd, Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Waits for the process; on timeout kills it and what it started and returns -1. */
  private static int finish(Process p, Duration timeout, Path log) throws InterruptedException {
    if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) return p.exitValue();
    System.err.println("timed out after " + timeout.toSeconds() + " s: " + p.info().commandLine().orElse("?")
        + "; log " + log);
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    p.waitFor(10, TimeUnit.SECONDS);
    return -1;
  }

  /** The logs of the cluster (Master, Workers, executors) and of the scripts, their last lines each. */
  private static String diagnostics(Path work) {
    StringBuilder sb = new StringBuilder("===== ClusterSubmitIT failed; logs under " + work + "\n");
    try (Stream<Path> files = Files.walk(work)) {
      for (Path f : files.filter(Files::isRegularFile).filter(ClusterSubmitIT::isLog).sorted()
          .collect(Collectors.toList())) {
        sb.append("----- ").append(f).append('\n').append(tail(f, 60)).append('\n');
      }
    } catch (IOException e) {
      sb.append("(could not list ").append(work).append(": ").append(e).append(")\n");
    }
    return sb.toString();
  }

  private static boolean isLog(Path f) {
    String name = f.getFileName().toString();
    return name.endsWith(".log") || name.equals("stderr") || name.equals("stdout");
  }

  private static String tail(Path f, int lines) {
    try {
      List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + f + ": " + e + ")";
    }
  }

  private static double secondsSince(long t) {
    return (System.nanoTime() - t) / 1e9;
  }

  private static void log(String fmt, Object... args) {
    System.out.println("ClusterSubmitIT: " + String.format(fmt, args));
  }
}
