package io.sparktrain.driver;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.driver.config.JobConfig;
import io.sparktrain.driver.config.Presets;
import io.sparktrain.driver.report.ExperimentReport;
import io.sparktrain.federated.Compression;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedResult;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.federated.ServerOptimizer;
import io.sparktrain.federated.SiloEvaluation;
import io.sparktrain.federated.Silos;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Network;
import io.sparktrain.train.MetricsHistory;
import io.sparktrain.train.TrainConfig;
import io.sparktrain.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparktrain experiment --config conf/fed-x.yaml [--set key.path=value]...}: runs every setting
 * of the experiment grid (silos x algorithms x C x E x B x compression x stragglers x straggler policies x seeds)
 * with {@link FederatedTrainer} in
 * one Spark application, evaluating on the test data every federated.eval_every_rounds rounds, and
 * writes experiment.csv (one row per setting and round), summary.csv (one row per setting),
 * silos.csv (with per-silo test rows: the final model's accuracy on each silo's own held-out rows) and
 * experiment.html into output.dir.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = {"Run a federated experiment grid (the experiment section) in one Spark application and",
        "write experiment.csv, summary.csv, silos.csv (per-silo test rows) and experiment.html into output.dir."})
final class ExperimentCommand implements Callable<Integer> {
  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The job config (YAML).")
  // CHECKSTYLE:QUALIFIED org.apache.hadoop.fs.Path is imported: the output is written through Hadoop
  java.nio.file.Path config;

  @Option(names = "--set", paramLabel = "KEY.PATH=VALUE",
      description = "Override a config key; the value is YAML (e.g. --set federated.rounds=20). Repeatable.")
  List<String> sets = new ArrayList<>();

  /** One point of the grid. */
  static final class Setting {
    int id;
    String silos;
    String algorithm;
    FederatedConfig config;
    double clientFraction;
    int localEpochs;
    int localBatch;
    float proxMu;
    long seed;
    double stragglers;
    /** drop or partial when there are stragglers, else empty. */
    String stragglerPolicy = "";

    /** The setting without its silos: a row of the rounds-to-target table. */
    String row() {
      StringBuilder sb = new StringBuilder(config.algorithmName());
      if (config.server() != ServerOptimizer.Kind.FEDAVG) {
        sb.append(" \u03b7=").append(trim(config.serverLr())); // server rules differ by their learning rate
      }
      if (proxMu > 0 || config.algorithmName().equals("FedProx")) {
        sb.append(" \u03bc=").append(trim(Double.parseDouble(Float.toString(proxMu))));
      }
      sb.append(" E=").append(localEpochs).append(" B=").append(localBatch == 0 ? "\u221e" : localBatch)
          .append(" C=").append(trim(clientFraction));
      if (config.compress()) {
        sb.append(' ').append(config.compression().label());
      }
      if (stragglers > 0) {
        sb.append(" stragglers=").append(trim(stragglers)).append(" (").append(stragglerPolicy).append(')');
      }
      return sb.toString();
    }

    String label() {
      return row() + " seed " + seed + " | " + silos;
    }
  }

  @Override
  public Integer call() throws IOException {
    JobConfig cfg = JobConfig.load(config, sets); // exit 2 on a bad config, before Spark starts
    if (!cfg.isClassification()) {
      throw new ConfigException("model.task: expected classification for sparktrain experiment (it reports"
          + " accuracy), found " + cfg.string("model.task"));
    }
    if (cfg.isNull("data.test") && cfg.number("data.test_fraction") == 0 && cfg.number("silos.test_fraction") == 0) {
      throw new ConfigException("data.test: expected test data for sparktrain experiment (data.test,"
          + " data.test_fraction > 0 or silos.test_fraction > 0), found none");
    }
    List<Setting> grid = grid(cfg);
    for (Setting st : grid) {
      String src = Presets.silos(st.silos).source();
      if (cfg.isNull("data.train") && !src.equals("synthetic")) {
        throw new ConfigException("data.train: missing; expected a string (silos " + st.silos
            + " are built from the training data)");
      }
    }
    PrintStream out = Main.Streams.out();
    try (SparkSupport.Session session = SparkSupport.session("sparktrain experiment " + cfg.name(),
        cfg.string("spark.master"), cfg.map("spark.conf"))) {
      return run(cfg, grid, session, out);
    }
  }

  /**
   * The settings of the grid, in order silos, algorithm, C, E, B, compression, stragglers, straggler
   * policy, seed; duplicates (FedSGD's E, B; the policies without stragglers; fedavg and fedprox(0)
   * without stragglers) dropped.
   */
  static List<Setting> grid(JobConfig cfg) {
    List<String> silos = cfg.isNull("experiment.silos") ? List.of(defaultSilos(cfg)) : cfg.strings("experiment.silos");
    List<Double> cs = orDefault(cfg.doubleList("experiment.client_fraction"), cfg.number("federated.client_fraction"));
    List<Integer> es = orDefault(cfg.intList("experiment.local_epochs"), cfg.integer("federated.local_epochs"));
    List<Integer> bs = orDefault(cfg.intList("experiment.local_batch"), cfg.integer("federated.local_batch"));
    List<String> zs = cfg.isNull("experiment.compression") ? List.of(cfg.string("federated.compression"))
        : cfg.strings("experiment.compression");
    List<Double> ps = orDefault(cfg.doubleList("experiment.stragglers"), cfg.number("federated.stragglers"));
    List<String> policies = cfg.isNull("experiment.straggler_policy") ? Collections.singletonList(null)
        : cfg.strings("experiment.straggler_policy");
    List<Long> seeds = new ArrayList<>();
    for (int s : cfg.intList("experiment.seeds")) seeds.add((long) s);
    if (seeds.isEmpty()) {
      seeds.add(cfg.longValue("training.seed"));
    }
    Map<String, Setting> out = new LinkedHashMap<>();
    for (String s : silos) {
      for (String alg : cfg.strings("experiment.algorithms")) {
        for (double c : cs) {
          for (int e : es) {
            for (int b : bs) {
              for (String z : zs) {
                for (double p : ps) {
                  for (String policy : policies) {
                    for (long seed : seeds) {
                      Setting st = setting(cfg, s.trim(), alg.trim(), c, e, b, z, p, policy, seed);
                      String key = st.silos + "|" + st.row() + "|" + st.config.toMap() + "|" + seed;
                      if (!out.containsKey(key)) {
                        st.id = out.size() + 1;
                        out.put(key, st);
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return new ArrayList<>(out.values());
  }

  private static <T> List<T> orDefault(List<T> l, T def) {
    return l.isEmpty() ? List.of(def) : l;
  }

  /** The silos section as a silo setting string. */
  static String defaultSilos(JobConfig cfg) {
    String src = cfg.string("silos.source");
    switch (src) {
      case "dirichlet": case "quantity": return src + "(" + trim(cfg.number("silos.alpha")) + ")";
      case "shards": return "shards(" + cfg.integer("silos.shards_per_silo") + ")";
      case "synthetic":
        return "synthetic(" + trim(cfg.number("silos.synthetic.alpha")) + "," + trim(cfg.number("silos.synthetic.beta"))
            + ")";
      default: return src;
    }
  }

  /**
   * One setting. {@code policy} (drop, partial) is the experiment.straggler_policy value, or null: then
   * fedavg drops stragglers and fedprox(mu) keeps their partial work, as Li et al. 2020 compare them,
   * and the other presets use federated.straggler_policy.
   */
  private static Setting setting(JobConfig cfg, String silos, String alg, double c, int e, int b, String compression,
      double stragglers, String policy, long seed) {
    Presets.Algorithm preset = Presets.algorithm(alg);
    String name = preset.name();
    double arg = preset.arg();
    FederatedConfig.Builder fb = cfg.federatedBuilder().clientFraction(c).localEpochs(e).localBatch(b).seed(seed)
        .compression(Compression.parse(compression));
    float mu = (float) cfg.number("federated.prox_mu");
    ServerOptimizer.Kind configured = ServerOptimizer.kind(cfg.string("federated.server"));
    switch (name) {
      case "fedsgd":
        e = 1;
        b = 0;
        mu = 0;
        fb.localEpochs(1).localBatch(0).proxMu(0).server(ServerOptimizer.Kind.FEDAVG).serverLr(1.0);
        break;
      case "fedavg":
        mu = 0;
        fb.proxMu(0).server(ServerOptimizer.Kind.FEDAVG).serverLr(1.0);
        break;
      case "fedprox":
        mu = (float) (!Double.isNaN(arg) ? arg : mu > 0 ? mu : 0.01);
        fb.proxMu(mu).server(ServerOptimizer.Kind.FEDAVG).serverLr(1.0);
        break;
      case "federated":
        break;
      default: {
        ServerOptimizer.Kind k = ServerOptimizer.kind(name);
        double lr = !Double.isNaN(arg) ? arg : k == configured ? cfg.number("federated.server_lr")
            : k == ServerOptimizer.Kind.FEDAVGM ? 1.0 : 0.01;
        mu = 0;
        fb.proxMu(0).server(k).serverLr(lr);
      }
    }
    FederatedConfig.StragglerPolicy sp = policy != null
        ? FederatedConfig.StragglerPolicy.valueOf(policy.toUpperCase(Locale.ROOT))
        : name.equals("fedavg") ? FederatedConfig.StragglerPolicy.DROP
        : name.equals("fedprox") ? FederatedConfig.StragglerPolicy.PARTIAL
        : FederatedConfig.StragglerPolicy.valueOf(cfg.string("federated.straggler_policy").toUpperCase(Locale.ROOT));
    fb.stragglers(stragglers).stragglerPolicy(sp);
    Setting st = new Setting();
    st.silos = silos;
    st.algorithm = alg;
    st.clientFraction = c;
    st.localEpochs = e;
    st.localBatch = b;
    st.proxMu = mu;
    st.seed = seed;
    st.stragglers = stragglers;
    try {
      st.config = fb.build();
    } catch (IllegalArgumentException ex) {
      throw new ConfigException("experiment (" + alg + ", " + silos
          + (compression.equals("none") ? "" : ", " + compression) + "): " + ex.getMessage(), ex);
    }
    if (stragglers > 0) {
      st.stragglerPolicy = st.config.dropsStragglers() ? "drop" : "partial";
    }
    return st;
  }

  private int run(JobConfig cfg, List<Setting> grid, SparkSupport.Session session, PrintStream out)
      throws IOException {
    Configuration hconf = session.hadoopConf();
    String outDir = cfg.outputDir();
    Path dir = new Path(outDir);
    if (!cfg.bool("output.overwrite") && dir.getFileSystem(hconf).exists(dir)
        && dir.getFileSystem(hconf).listStatus(dir).length > 0) {
      throw new ConfigException("output.dir: " + outDir + " is not empty and output.overwrite is false");
    }
    String format = cfg.string("data.format");
    Map<String, String> options = cfg.map("data.options");
    long splitSeed = cfg.longValue("training.seed");
    double tf = cfg.number("data.test_fraction");
    // Each silo's own held-out rows (after the silos are built) are the test data: no shared test set.
    double siloTf = cfg.number("silos.test_fraction");
    if (siloTf > 0 && (!cfg.isNull("data.test") || tf > 0)) {
      out.println("silos.test_fraction " + trim(siloTf) + ": the test data is each silo's own held-out rows; "
          + (cfg.isNull("data.test") ? "data.test_fraction" : "data.test") + " is not used");
    }
    Dataset<Row> trainDf = null;
    Dataset<Row> testDf = null;
    if (!cfg.isNull("data.train")) {
      trainDf = SparkSupport.read(session.spark, format, cfg.string("data.train"), options);
      if (siloTf > 0) {
        testDf = null;
      } else if (!cfg.isNull("data.test")) {
        testDf = SparkSupport.read(session.spark, format, cfg.string("data.test"), options);
      } else if (tf > 0) {
        Dataset<Row>[] parts = trainDf.randomSplit(new double[] {1 - tf, tf}, splitSeed);
        trainDf = parts[0];
        testDf = parts[1];
      }
      if (cfg.integer("data.partitions") > 0) {
        trainDf = SparkSupport.repartition(trainDf, cfg.integer("data.partitions"));
      }
    }
    InputSpec spec = TrainCommand.inputSpec(cfg);
    if (!cfg.isNull("data.weight")) {
      spec = spec.withWeightCol(cfg.string("data.weight"));
    }
    if (cfg.integer("model.num_classes") > 0) {
      spec = spec.withNumClasses(cfg.integer("model.num_classes"));
    }

    List<ExperimentReport.Run> runs = new ArrayList<>();
    TrainingData sharedTest = null;
    try {
      Map<String, List<Setting>> bySilos = new LinkedHashMap<>();
      for (Setting s : grid) bySilos.computeIfAbsent(s.silos, k -> new ArrayList<>()).add(s);
      for (Map.Entry<String, List<Setting>> group : bySilos.entrySet()) {
        String source = Presets.silos(group.getKey()).source();
        Dataset<Row> siloDf;
        Dataset<Row> groupTestDf = null;
        double holdOut = 0;
        if (source.equals("synthetic") || source.equals("paths")) {
          siloDf = sourceSilos(cfg, session, group.getKey());
          if (siloTf > 0) {
            holdOut = siloTf;
          } else if (cfg.isNull("data.test") || source.equals("synthetic")) {
            if (tf == 0) {
              throw new ConfigException("data.test_fraction: expected > 0 for silos " + source
                  + " (each silo holds out its test rows), found 0.0");
            }
            holdOut = tf;
          }
        } else {
          siloDf = simulatedSilos(cfg, group.getKey(), trainDf);
          holdOut = siloTf;
        }
        if (holdOut > 0) {
          // randomSplit samples within each partition: every silo keeps its own held-out rows.
          Dataset<Row>[] parts = Silos.holdOut(siloDf, holdOut, splitSeed);
          siloDf = parts[0];
          groupTestDf = parts[1];
        }
        TrainingData train = null;
        TrainingData test = null;
        try {
          train = TrainingData.decode(siloDf, spec);
          if (groupTestDf != null) {
            test = TrainingData.decode(groupTestDf, spec);
          } else {
            if (sharedTest == null) {
              sharedTest = TrainingData.decode(testDf, spec);
            }
            test = sharedTest;
          }
          int outputs = Math.max(cfg.integer("model.num_classes"), Math.max(train.numClasses(), test.numClasses()));
          Network.Builder nb = Network.builder(train.numFeatures());
          spec.categorical().forEach(c -> nb.embedding(c.embedding()));
          Activation act = cfg.activation();
          for (int units : cfg.intList("model.hidden")) nb.dense(units, act, (float) cfg.number("model.dropout"));
          Network net = nb.dense(outputs, Activation.SOFTMAX).loss(cfg.loss()).build();
          out.println(String.format(Locale.ROOT, "silos %s: %d silos, %d training rows, %d test rows%s; %s",
              group.getKey(), train.numPartitions(), train.rows(), test.rows(),
              groupTestDf != null ? " (each silo's own)" : "", net));
          for (Setting s : group.getValue()) {
            runs.add(runOne(s, net, train, test, groupTestDf != null, grid.size(), out));
          }
        } finally {
          if (train != null) {
            train.unpersist();
          }
          if (test != null && test != sharedTest) {
            test.unpersist();
          }
        }
      }
    } finally {
      if (sharedTest != null) {
        sharedTest.unpersist();
      }
    }

    dir.getFileSystem(hconf).mkdirs(dir);
    List<Double> targets = cfg.doubleList("experiment.target_accuracy");
    Path csv = new Path(dir, "experiment.csv");
    Path summary = new Path(dir, "summary.csv");
    Path html = new Path(dir, "experiment.html");
    Path silosCsv = new Path(dir, "silos.csv");
    if (runs.stream().anyMatch(r -> r.siloResults != null)) {
      MetricsHistory.writeAtomically(silosCsv.toString(),
          ExperimentReport.silosCsv(runs).getBytes(StandardCharsets.UTF_8), hconf);
    }
    MetricsHistory.writeAtomically(csv.toString(), ExperimentReport.roundsCsv(runs).getBytes(StandardCharsets.UTF_8),
        hconf);
    MetricsHistory.writeAtomically(summary.toString(),
        ExperimentReport.summaryCsv(runs, targets).getBytes(StandardCharsets.UTF_8), hconf);
    MetricsHistory.writeAtomically(html.toString(),
        ExperimentReport.html(cfg.name(), runs, targets, cfg.asMap()).getBytes(StandardCharsets.UTF_8), hconf);
    out.println("experiment: " + SparkSupport.display(csv.toString(), hconf));
    out.println("summary: " + SparkSupport.display(summary.toString(), hconf));
    if (runs.stream().anyMatch(r -> r.siloResults != null)) {
      out.println("per silo: " + SparkSupport.display(silosCsv.toString(), hconf));
    }
    out.println("report: " + SparkSupport.display(html.toString(), hconf));
    return Main.OK;
  }

  /** Silos that are read or generated: paths (one per path) and synthetic(alpha,beta). */
  static Dataset<Row> sourceSilos(JobConfig cfg, SparkSupport.Session session, String silosSpec) {
    Presets.Silos p = Presets.silos(silosSpec);
    double[] args = p.args();
    if (p.source().equals("paths")) {
      return Silos.fromPaths(session.spark, cfg.string("data.format"), cfg.map("data.options"),
          cfg.strings("silos.paths"));
    }
    return Silos.synthetic(session.spark, args.length == 2 ? args[0] : cfg.number("silos.synthetic.alpha"),
        args.length == 2 ? args[1] : cfg.number("silos.synthetic.beta"), cfg.integer("silos.synthetic.devices"),
        cfg.integer("silos.synthetic.rows"), cfg.longValue("training.seed"));
  }

  /** Silos built from the training rows: partitions (as they are), column, iid, dirichlet, shards, quantity. */
  static Dataset<Row> simulatedSilos(JobConfig cfg, String silosSpec, Dataset<Row> trainDf) {
    Presets.Silos p = Presets.silos(silosSpec);
    String source = p.source();
    double[] args = p.args();
    long seed = cfg.longValue("training.seed");
    String label = cfg.string("data.label");
    switch (source) {
      case "partitions":
        return trainDf;
      case "column":
        return Silos.byColumn(trainDf, cfg.string("silos.column"));
      case "iid":
        return Silos.partition(trainDf, label, Silos.Split.IID, cfg.integer("silos.count"), 0, seed);
      case "dirichlet":
        return Silos.partition(trainDf, label, Silos.Split.DIRICHLET, cfg.integer("silos.count"),
            args.length == 1 ? args[0] : cfg.number("silos.alpha"), seed);
      case "quantity":
        return Silos.partition(trainDf, label, Silos.Split.QUANTITY, cfg.integer("silos.count"),
            args.length == 1 ? args[0] : cfg.number("silos.alpha"), seed);
      case "shards":
        return Silos.partition(trainDf, label, Silos.Split.SHARDS, cfg.integer("silos.count"),
            args.length == 1 ? args[0] : cfg.integer("silos.shards_per_silo"), seed);
      case "synthetic":
      case "paths":
        throw new IllegalArgumentException("silos " + source + " are read or generated, not built from data.train");
      default:
        throw new AssertionError(source);
    }
  }

  /**
   * One setting; {@code siloTest}: partition k of {@code test} is silo k's own held-out rows (the
   * global model is then also evaluated per silo, and the last evaluation's distribution recorded).
   */
  private static ExperimentReport.Run runOne(Setting s, Network net, TrainingData train, TrainingData test,
      boolean siloTest, int total, PrintStream out) {
    out.println(String.format(Locale.ROOT, "setting %d/%d: %s", s.id, total, s.label()));
    FederatedConfig config = s.config.toBuilder().siloValidation(siloTest).build();
    FederatedResult r = new FederatedTrainer(net, config).fit(train, test);
    Map<String, Object> audit = r.audit();
    printAudit(r, out);
    Double acc = r.finalValidation().get("val_accuracy");
    // The final global model's loss on all training rows of all silos (not only the last round's sample):
    // the last round's global_train_loss when the run evaluated it, else one more pass.
    List<Map<String, Object>> rounds = r.history().records("round");
    Object last = rounds.isEmpty() ? null : rounds.get(rounds.size() - 1).get("global_train_loss");
    Double trainLoss = last instanceof Number && ((Number) rounds.get(rounds.size() - 1).get("round")).longValue()
        == r.rounds() ? Double.valueOf(((Number) last).doubleValue()) : new Trainer(net, TrainConfig.builder()
        .aggregationDepth(s.config.aggregationDepth()).build()).validate(train, r.params()).get("val_loss");
    out.println(String.format(Locale.ROOT, "  test accuracy %.4f, training loss %.4f after %d rounds, %.1f s%s",
        acc == null ? Double.NaN : acc, trainLoss == null ? Double.NaN : trainLoss, r.rounds(), r.trainSeconds(),
        Double.isNaN(r.epsilon()) ? "" : String.format(Locale.ROOT, ", (%.3g, %s)-DP", r.epsilon(),
            s.config.toMap().get("dp_delta"))));
    ExperimentReport.Run run = new ExperimentReport.Run();
    run.id = s.id;
    run.silos = s.silos;
    run.row = s.row();
    run.algorithm = s.config.algorithmName();
    run.algorithmPreset = s.algorithm;
    run.clientFraction = s.clientFraction;
    run.localEpochs = s.localEpochs;
    run.localBatch = s.localBatch;
    run.proxMu = s.proxMu;
    run.server = String.valueOf(s.config.toMap().get("server"));
    run.seed = s.seed;
    run.rounds = rounds;
    if (!r.siloValidation().isEmpty()) {
      long[] trainRows = train.partitionRows();
      run.siloResults = new ArrayList<>();
      for (SiloEvaluation e : r.siloValidation()) {
        run.siloResults.add(new ExperimentReport.SiloResult(e.silo(), trainRows[e.silo()], e.rows(), e.loss(),
            e.accuracy()));
      }
    }
    run.audit = audit;
    run.epsilon = r.epsilon();
    run.trainSeconds = r.trainSeconds();
    run.finalAccuracy = acc == null ? Double.NaN : acc;
    run.finalTrainLoss = trainLoss == null ? Double.NaN : trainLoss;
    run.stragglers = s.stragglers;
    run.stragglerPolicy = s.stragglerPolicy;
    run.compression = s.config.compression().label();
    return run;
  }

  /** The locality audit of a federated run, as LocalityAudit.summary words it. */
  static void printAudit(FederatedResult r, PrintStream out) {
    Map<String, Object> audit = r.audit();
    out.println("  rows moved during training: " + audit.get("rows_moved_during_training"));
    out.println("  shuffle bytes in training stages: read " + audit.get("shuffle_read_bytes") + ", written "
        + audit.get("shuffle_write_bytes"));
    out.println("  largest upload of a silo: " + audit.get("largest_upload_bytes") + " bytes");
    out.println("  bytes uploaded per round: " + audit.get("bytes_per_round"));
  }

  static String trim(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }
}
