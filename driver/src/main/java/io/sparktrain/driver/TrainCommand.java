package io.sparktrain.driver;

import io.sparktrain.data.InputScaling;
import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.driver.config.JobConfig;
import io.sparktrain.driver.report.HtmlReport;
import io.sparktrain.driver.report.RunReport;
import io.sparktrain.eval.ClassificationMetrics;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.eval.RegressionMetrics;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedPretraining;
import io.sparktrain.federated.FederatedResult;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.linalg.Blas;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetModel;
import io.sparktrain.ml.NeuralNetRegressionModel;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Network;
import io.sparktrain.train.MemoryPlan;
import io.sparktrain.train.MetricsHistory;
import io.sparktrain.train.Pretraining;
import io.sparktrain.train.RunResult;
import io.sparktrain.train.Teacher;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.TrainResult;
import io.sparktrain.train.Trainer;
import io.sparktrain.train.TrainingListener;
import io.sparktrain.util.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * {@code sparktrain train --config x.yaml [--set key.path=value]...}: reads and decodes the data,
 * trains, and writes model/, metrics.jsonl, test_metrics.json, report.html and summary.json into
 * output.dir.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = {"Train a network as the job config says and write the run into output.dir:",
        "model/, metrics.jsonl, summary.json, test_metrics.json (with test data), report.html.",
        "See 'sparktrain info --schema' for every config key."})
final class TrainCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The job config (YAML).")
  // CHECKSTYLE:QUALIFIED org.apache.hadoop.fs.Path is imported: the output is written through Hadoop
  java.nio.file.Path config;

  @Option(names = "--set", paramLabel = "KEY.PATH=VALUE",
      description = "Override a config key; the value is YAML (e.g. --set training.epochs=2"
          + " --set model.hidden=[64,32]). Repeatable.")
  List<String> sets = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    JobConfig cfg = JobConfig.load(config, sets); // exit 2 on a bad config, before Spark starts
    if (cfg.isNull("data.train") && !cfg.isFederated()) {
      throw new ConfigException("data.train: missing; expected a string (silos.source synthetic needs training.mode"
          + " federated)");
    }
    if (cfg.number("silos.test_fraction") > 0) {
      throw new ConfigException("silos.test_fraction: expected 0 for sparktrain train (sparktrain experiment holds"
          + " out each silo's test rows; here synthetic and paths silos hold out data.validation_fraction and"
          + " data.test_fraction per silo), found " + cfg.number("silos.test_fraction"));
    }
    TrainConfig trainConfig = cfg.trainConfig();
    PrintStream out = Main.Streams.out();
    long t0 = System.nanoTime();
    try (SparkSupport.Session session = SparkSupport.session("sparktrain " + cfg.name(), cfg.string("spark.master"),
        cfg.map("spark.conf"))) {
      return run(cfg, trainConfig, session, out, t0);
    }
  }

  /**
   * Whether the federated run's evaluation data is each silo's own held-out rows, partition k = silo k:
   * synthetic or paths silos (generated or read one partition per silo, not repartitioned) whose
   * validation rows (else test rows) were split off by data.validation_fraction (data.test_fraction)
   * within each partition.
   */
  static boolean siloValidation(JobConfig cfg, TrainingData train, TrainingData eval) {
    String source = cfg.string("silos.source");
    boolean split = cfg.number("data.validation_fraction") > 0
        || (cfg.isNull("data.validation") && cfg.number("data.test_fraction") > 0);
    return eval != null && split && (source.equals("synthetic") || source.equals("paths"))
        && cfg.integer("data.partitions") == 0 && eval.numPartitions() == train.numPartitions();
  }

  private int run(JobConfig cfg, TrainConfig trainConfig, SparkSupport.Session session, PrintStream out, long t0)
      throws IOException {
    Configuration hconf = session.hadoopConf();
    String outDir = cfg.outputDir();
    checkOutputDir(cfg, outDir, hconf);
    if (!cfg.isNull("training.distillation")) { // the teacher is read before the data: a bad one fails first
      trainConfig = trainConfig.toBuilder().teacher(teacher(cfg, session)).build();
    }

    // ---- read and split
    String format = cfg.string("data.format");
    Map<String, String> options = cfg.map("data.options");
    boolean federated = cfg.isFederated();
    String silosSpec = federated ? ExperimentCommand.defaultSilos(cfg) : null;
    Dataset<Row> trainDf = federated && (cfg.string("silos.source").equals("synthetic")
        || cfg.string("silos.source").equals("paths"))
        ? ExperimentCommand.sourceSilos(cfg, session, silosSpec)
        : SparkSupport.read(session.spark, format, cfg.string("data.train"), options, "training");
    Dataset<Row> valDf = cfg.isNull("data.validation") ? null
        : SparkSupport.read(session.spark, format, cfg.string("data.validation"), options, "validation");
    Dataset<Row> testDf = cfg.isNull("data.test") ? null
        : SparkSupport.read(session.spark, format, cfg.string("data.test"), options, "test");
    boolean testIsValidation = testDf != null && valDf != null
        && cfg.string("data.test").equals(cfg.string("data.validation"));
    double vf = cfg.number("data.validation_fraction");
    double tf = cfg.number("data.test_fraction");
    if (vf > 0 || tf > 0) {
      Dataset<Row>[] parts = trainDf.randomSplit(new double[] {1 - vf - tf, vf, tf}, cfg.longValue("training.seed"));
      trainDf = parts[0];
      if (vf > 0) {
        valDf = parts[1];
      }
      if (tf > 0) {
        testDf = parts[2];
      }
    }
    int partitions = cfg.integer("data.partitions");
    if (partitions > 0) {
      trainDf = SparkSupport.repartition(trainDf, partitions);
    }
    if (federated && !cfg.string("silos.source").equals("synthetic") && !cfg.string("silos.source").equals("paths")) {
      // randomSplit above samples within partitions; the silos are built from what is left for training
      trainDf = ExperimentCommand.simulatedSilos(cfg, silosSpec, trainDf);
    }

    // ---- decode
    InputSpec spec = inputSpec(cfg);
    if (!cfg.isNull("data.weight")) {
      spec = spec.withWeightCol(cfg.string("data.weight"));
    }
    if (cfg.isClassification() && cfg.integer("model.num_classes") > 0) {
      spec = spec.withNumClasses(cfg.integer("model.num_classes"));
    }
    long d0 = System.nanoTime();
    TrainingData train = null;
    TrainingData val = null;
    TrainingData test = null;
    TrainingData unlabeled = null;
    try {
      train = TrainingData.decode(trainDf, spec);
      val = valDf == null ? null : TrainingData.decode(valDf, spec, "validation");
      test = testDf == null ? null : testIsValidation ? val : TrainingData.decode(testDf, spec, "test");
      if (!cfg.isNull("training.pretrain") && !cfg.isNull("training.pretrain.data")) {
        // Pretraining's own rows: read like data.train, features only (no label or weight column needed).
        Dataset<Row> pre = SparkSupport.read(session.spark, format, cfg.string("training.pretrain.data"), options,
            "pretraining");
        if (partitions > 0) {
          pre = SparkSupport.repartition(pre, partitions);
        }
        unlabeled = TrainingData.decode(pre, spec.unlabeled().withNumFeatures(train.numFeatures()), "pretraining");
      }
      double decodeSeconds = seconds(d0);
      return trainAndWrite(cfg, trainConfig, session, out, t0, outDir, train, val, test, unlabeled, decodeSeconds);
    } finally {
      if (unlabeled != null) {
        unlabeled.unpersist();
      }
      if (train != null) {
        train.unpersist();
      }
      if (val != null) {
        val.unpersist();
      }
      if (test != null && test != val) {
        test.unpersist();
      }
    }
  }

  /** training.distillation's teacher: the saved classification model, its temperature and alpha. */
  private static Teacher teacher(JobConfig cfg, SparkSupport.Session session) {
    String dir = cfg.string("training.distillation.teacher");
    NeuralNetModel<?> m = ModelInput.load(session.spark, dir);
    if (!(m instanceof NeuralNetClassificationModel)) {
      throw new ConfigException("training.distillation.teacher: expected a classification model, found a "
          + m.getClass().getSimpleName() + " in " + dir);
    }
    try {
      return Teacher.of(m.network(), m.parameters(), m.inputScaling(),
          (float) cfg.number("training.distillation.temperature"), (float) cfg.number("training.distillation.alpha"),
          dir);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  private int trainAndWrite(JobConfig cfg, TrainConfig trainConfig, SparkSupport.Session session, PrintStream out,
      long t0, String outDir, TrainingData train, TrainingData val, TrainingData test, TrainingData unlabeled,
      double decodeSeconds) throws IOException {
    Configuration hconf = session.hadoopConf();
    boolean classification = cfg.isClassification();
    int outputs;
    if (classification) {
      outputs = cfg.integer("model.num_classes") > 0 ? cfg.integer("model.num_classes")
          : Math.max(train.numClasses(), Math.max(val == null ? 0 : val.numClasses(),
              test == null ? 0 : test.numClasses()));
    } else {
      outputs = train.labelWidth();
    }

    // ---- network and training
    Network.Builder nb = Network.builder(train.numFeatures());
    for (CategoricalColumn c : train.spec().categorical()) nb.embedding(c.embedding());
    Activation act = cfg.activation();
    float dropout = (float) cfg.number("model.dropout");
    for (int units : cfg.intList("model.hidden")) nb.dense(units, act, dropout);
    nb.dense(outputs, classification ? Activation.SOFTMAX : Activation.IDENTITY).loss(cfg.loss());
    Network net = nb.build();
    if (trainConfig.teacher() != null) {
      try {
        trainConfig.teacher().check(net); // before training: a misfit is a config error (exit 2)
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage(), e);
      }
    }
    // The progress bar reports epochs and rounds; the library's own progress log lines would break it.
    Configurator.setLevel("io.sparktrain.progress", Level.WARN);

    // ---- pretraining (training.pretrain): the hidden layers, as a denoising autoencoder
    Pretraining pretraining = cfg.pretraining();
    Pretraining.Result pre = null;
    long p0 = System.nanoTime();
    if (pretraining != null) {
      TrainingListener[] progress = Listeners.forRun(cfg, Main.Streams.err()).toArray(new TrainingListener[0]);
      pre = cfg.isFederated()
          ? FederatedPretraining.run(pretraining, net, cfg.federatedTrainConfig(), train, progress)
          : pretraining.run(net, trainConfig, unlabeled != null ? unlabeled : train, progress);
      if (unlabeled != null) {
        unlabeled.unpersist(); // the usual case is many unlabeled rows: not kept cached through the supervised run
      }
    }
    double pretrainSeconds = pre == null ? 0 : seconds(p0);
    long f0 = System.nanoTime();
    Map<String, Object> collective = null;
    Map<String, Object> traffic = null;
    MemoryPlan memoryPlan;
    FederatedResult fed = null;
    RunResult result;
    TrainConfig resolved = null;
    if (cfg.isFederated()) {
      // Federated: each partition of train is a silo; validation (else test) data every eval_every_rounds;
      // checkpoints, resume and early stopping from the checkpoint and training.early_stopping sections.
      if (cfg.bool("data.standardize")) {
        LOG.info("sparktrain: data.standardize does not apply to federated runs (the global means and variances"
            + " would be a statistic over every silo's raw data); the silos' features are used as they are");
      }
      FederatedConfig fedConfig = cfg.federatedTrainConfig().withTeacher(trainConfig.teacher()).toBuilder()
          .siloValidation(siloValidation(cfg, train, val != null ? val : test)).build();
      FederatedTrainer trainer = new FederatedTrainer(net, fedConfig);
      for (TrainingListener l : Listeners.forRun(cfg, Main.Streams.err())) trainer.addListener(l);
      fed = trainer.fit(train, val != null ? val : test, pre == null ? null : pre.initialParams());
      memoryPlan = trainer.memoryPlan();
      ExperimentCommand.printAudit(fed, out);
      result = fed;
    } else {
      Trainer trainer = new Trainer(net, trainConfig);
      for (TrainingListener l : Listeners.forRun(cfg, Main.Streams.err())) trainer.addListener(l);
      // After pretraining: its hidden layers, and the scaling they learned on (a resumed checkpoint's wins).
      result = pre == null ? trainer.fit(train, val) : trainer.fit(train, val, pre.initialParams(),
          pre.inputScaling());
      collective = trainer.collectiveProfile();
      traffic = trainer.traffic();
      memoryPlan = trainer.memoryPlan();
      resolved = trainer.config();
    }
    InputScaling scaling = result instanceof TrainResult ? ((TrainResult) result).inputScaling() : null;
    float[] params = result.params();
    MetricsHistory history = result.history();
    long resultRounds = result.rounds();
    int resultEpochs = result.epochs();
    String stopReason = result.stopReason();
    Map<String, Double> finalValidation = result.finalValidation();
    // Training time without validation: the last epoch's train_s (data-parallel), the run's own (federated).
    List<Map<String, Object>> epochs = history.records("epoch");
    double trainSeconds = fed != null ? fed.trainSeconds() : epochs.isEmpty() ? seconds(f0)
        : ((Number) epochs.get(epochs.size() - 1).get("train_s")).doubleValue();
    double fitSeconds = seconds(f0);

    // ---- test
    long e0 = System.nanoTime();
    ClassificationMetrics cm = null;
    RegressionMetrics rm = null;
    int depth = trainConfig.aggregationDepth();
    if (test != null) {
      TrainingData scored = scaling == null ? test : test.scaled(scaling);
      try {
        if (classification) {
          cm = Evaluator.classification(scored.blocks(), net, params, depth);
        } else {
          rm = Evaluator.regression(scored.blocks(), net, params, depth);
        }
      } finally {
        if (scored != test) {
          scored.unpersist();
        }
      }
    }
    double testSeconds = test == null ? 0 : seconds(e0);

    // ---- write
    long w0 = System.nanoTime();
    Path dir = new Path(outDir);
    dir.getFileSystem(hconf).mkdirs(dir);
    Path modelPath = new Path(dir, "model");
    NeuralNetModel<?> model = classification ? NeuralNetClassificationModel.of(net, params, scaling)
        : NeuralNetRegressionModel.of(net, params, scaling);
    model.withCategoricalColumns(train.spec().categorical());
    if (cfg.numericFeatures().size() == 1) {
      model.setFeaturesCol(cfg.numericFeatures().get(0));
    }
    Path tmpModel = SparkSupport.tempSibling(modelPath);
    model.write().save(tmpModel.toString());
    SparkSupport.replace(tmpModel, modelPath, hconf);
    history.writeJsonLines(new Path(dir, "metrics.jsonl").toString(), hconf);
    String testJson = cm != null ? cm.toJson() : rm != null ? rm.toJson() : null;
    Path testMetricsPath = new Path(dir, "test_metrics.json");
    if (testJson != null) {
      MetricsHistory.writeAtomically(testMetricsPath.toString(), (testJson + "\n").getBytes(StandardCharsets.UTF_8),
          hconf);
    } else {
      FileSystem fs = testMetricsPath.getFileSystem(hconf);
      if (fs.exists(testMetricsPath)) {
        fs.delete(testMetricsPath, false); // from an earlier run; this one has no test data
      }
    }
    double writeSeconds = seconds(w0);

    Map<String, Object> data = new LinkedHashMap<>();
    data.put("train_rows", train.rows());
    data.put("validation_rows", val == null ? 0L : val.rows());
    data.put("test_rows", test == null ? 0L : test.rows());
    data.put("train_partitions", train.numPartitions());
    data.put("num_features", train.numFeatures());
    data.put("train_cached_bytes", train.cachedBytes());
    if (!train.spec().categorical().isEmpty()) {
      List<Map<String, Object>> tables = new ArrayList<>();
      for (CategoricalColumn c : train.spec().categorical()) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("column", c.column());
        t.put("buckets", c.buckets());
        t.put("dim", c.dim());
        t.put("combiner", c.combiner().toString());
        tables.add(t);
      }
      data.put("categorical", tables);
    }
    data.put("standardized", scaling == null ? "no" : scaling.scaleOnly() ? "scale only (sparse)" : "mean and std");
    if (train.sparsePartitions() > 0) {
      // SparseVector features are cached in CSR form: the size follows the nonzeros, not the dimension.
      data.put("train_sparse_partitions", train.sparsePartitions());
      data.put("train_nonzeros", train.nonzeros());
    }
    if (classification) {
      data.put("num_classes", outputs);
    } else {
      data.put("outputs", outputs);
    }
    Map<String, Double> timings = new LinkedHashMap<>();
    timings.put("decode_s", decodeSeconds);
    if (pre != null) {
      timings.put("pretrain_s", pretrainSeconds);
    }
    timings.put("train_s", trainSeconds);
    timings.put("validation_s", Math.max(0, fitSeconds - trainSeconds));
    timings.put("test_s", testSeconds);
    timings.put("write_s", writeSeconds);
    timings.put("total_s", seconds(t0));
    String blas = Blas.get().describe();
    List<String> labels = new ArrayList<>();
    if (classification) {
      for (int k = 0; k < outputs; k++) labels.add(Integer.toString(k));
    }
    Path reportPath = new Path(dir, "report.html");
    RunReport report = new RunReport(cfg.name(), cfg.string("model.task"), cfg.asMap(), data, blas, timings,
        history.records(), cm, rm, labels);
    HtmlReport.write(report, reportPath.toString(), hconf);
    timings.put("total_s", seconds(t0));

    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("name", cfg.name());
    summary.put("task", cfg.string("model.task"));
    summary.put("sparktrain_version", Main.version());
    summary.put("spark_version", Main.sparkVersion());
    summary.put("spark_master", session.spark.sparkContext().master());
    summary.put("config", cfg.asMap());
    summary.put("network", net.toString());
    summary.put("parameters", net.layout().size());
    summary.put("data", data);
    summary.put("blas", blas);
    if (collective != null) {
      summary.put("collective", collective); // where the sync steps' time went (compute, all-reduce, optimizer)
    }
    if (traffic != null) {
      summary.put("traffic", traffic); // the driver engine's upload bytes per round, row-sparse or dense
    }
    summary.put("memory_plan", memoryPlan.toMap()); // the estimate checked before round 1 (MemoryPlan)
    if (pre != null) {
      Map<String, Object> p = new LinkedHashMap<>(pre.toMap());
      p.put("data", cfg.isNull("training.pretrain.data") ? "the training rows" : cfg.string("training.pretrain.data"));
      summary.put("pretraining", p);
    }
    if (resolved != null) {
      // What the automatic settings (epochs, batch_size, sync_engine 0/auto) came to for this data.
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("epochs", resolved.epochs());
      r.put("epochs_auto", resolved.autoEpochs());
      r.put("batch_size", resolved.batchSize());
      r.put("sync_engine", resolved.syncEngine().name().toLowerCase(Locale.ROOT));
      summary.put("training_resolved", r);
    }
    summary.put("timings", timings);
    summary.put("rounds", resultRounds);
    summary.put("epochs", resultEpochs);
    summary.put("stop_reason", stopReason);
    summary.put("final_validation", finalValidation);
    if (fed != null) {
      summary.put("locality_audit", fed.audit());
      summary.put("dp_epsilon", Double.isNaN(fed.epsilon()) ? null : fed.epsilon());
    }
    summary.put("test", cm != null ? cm.toMap() : rm != null ? rm.toMap() : null);
    summary.put("model", SparkSupport.display(modelPath.toString(), hconf));
    summary.put("report", SparkSupport.display(reportPath.toString(), hconf));
    MetricsHistory.writeAtomically(new Path(dir, "summary.json").toString(),
        (Json.object(summary) + "\n").getBytes(StandardCharsets.UTF_8), hconf);

    if (cm != null) {
      out.println(String.format(Locale.ROOT, "test accuracy %.4f", cm.accuracy()));
    } else if (rm != null) {
      out.println(String.format(Locale.ROOT, "test rmse %.4g", rm.rmse()));
    } else {
      out.println("no test data (set data.test or data.test_fraction for test metrics)");
    }
    out.println("model: " + SparkSupport.display(modelPath.toString(), hconf));
    out.println("report: " + SparkSupport.display(reportPath.toString(), hconf));
    return Main.OK;
  }

  /**
   * The columns data.features names (numeric, then categorical), the label and the task: without
   * weight or class count.
   */
  static InputSpec inputSpec(JobConfig cfg) {
    List<String> features = cfg.numericFeatures();
    String first = features.isEmpty() ? "features" : features.get(0);
    InputSpec spec = cfg.isClassification() ? InputSpec.classification(first, cfg.string("data.label"))
        : InputSpec.regression(first, cfg.string("data.label"));
    spec = spec.withCategorical(cfg.categoricalFeatures());
    if (features.size() != 1) {
      spec = spec.withFeatureColumns(features.toArray(new String[0]));
    }
    return spec;
  }

  /** With output.overwrite false, a non-empty output.dir is a config error. */
  private static void checkOutputDir(JobConfig cfg, String outDir, Configuration hconf) throws IOException {
    if (cfg.bool("output.overwrite")) {
      return;
    }
    Path dir = new Path(outDir);
    FileSystem fs = dir.getFileSystem(hconf);
    if (fs.exists(dir)) {
      FileStatus[] files = fs.listStatus(dir);
      if (files.length > 0) {
        throw new ConfigException("output.dir: " + outDir + " is not empty and output.overwrite is false");
      }
    }
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
