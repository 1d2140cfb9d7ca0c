package io.sparktrain.federated;

import io.sparktrain.nn.Corruption;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.CheckpointSettings;
import io.sparktrain.train.ConfigChecks;
import io.sparktrain.train.Defaults;
import io.sparktrain.train.EarlyStoppingSettings;
import io.sparktrain.train.TaskHook;
import io.sparktrain.train.Teacher;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A federated run: client sampling, local work, server rule, privacy and robustness options.
 * Immutable; defaults stated once in {@link Builder} (FedAvg's: C = 0.1, E = 1, B = 10, client SGD;
 * Reddi et al.'s server defaults); {@link Builder#build()} validates with messages naming the key.
 */
public final class FederatedConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How silos are sampled each round. */
  public enum Sampling { UNIFORM, POISSON }

  /** How the server combines the sampled silos' updates. */
  public enum Aggregation { MEAN, MEDIAN, TRIMMED_MEAN, MULTI_KRUM }

  /**
   * What the server does with simulated stragglers ({@link Stragglers}): DROP waits only for the
   * silos that finished E epochs (Li et al. 2020's FedAvg); PARTIAL averages the stragglers' partial
   * work in as well (their FedProx, with mu = 0 or mu > 0); AUTO = DROP when mu = 0, else PARTIAL.
   */
  public enum StragglerPolicy { AUTO, DROP, PARTIAL }

  private final int rounds;
  private final double clientFraction;
  private final Sampling sampling;
  private final int localEpochs;
  private final int localBatch;
  private final float proxMu;
  private final OptimizerSpec localOptimizer;
  private final ServerOptimizer.Kind server;
  private final double serverLr;
  private final double serverMomentum;
  private final double beta1;
  private final double beta2;
  private final double tau;
  private final float l2;
  private final long seed;
  private final int aggregationDepth;
  private final int evalEveryRounds;
  private final int logEveryRounds;
  private final boolean evalTrainLoss;
  private final boolean siloValidation;
  private final double dpClipNorm;
  private final double dpNoiseMultiplier;
  private final double dpDelta;
  private final Aggregation aggregation;
  private final double trimFraction;
  private final int krumByzantine;
  private final int krumSelect;
  private final boolean secureAggregation;
  private final Compression compression;
  // Checkpoints and early stopping (driver side only; silos never see them).
  private final CheckpointSettings checkpoint;
  private final EarlyStoppingSettings earlyStopping;
  private final double stragglers;
  private final StragglerPolicy stragglerPolicy;
  private final TaskHook taskHook;
  private final Teacher teacher;
  private final Corruption reconstruction;

  private FederatedConfig(Builder b) {
    rounds = b.rounds;
    clientFraction = b.clientFraction;
    sampling = b.sampling;
    localEpochs = b.localEpochs;
    localBatch = b.localBatch;
    proxMu = b.proxMu;
    localOptimizer = b.localOptimizer;
    server = b.server;
    serverLr = b.serverLr;
    serverMomentum = b.serverMomentum;
    beta1 = b.beta1;
    beta2 = b.beta2;
    tau = b.tau;
    l2 = b.l2;
    seed = b.seed;
    aggregationDepth = b.aggregationDepth;
    evalEveryRounds = b.evalEveryRounds;
    logEveryRounds = b.logEveryRounds;
    evalTrainLoss = b.evalTrainLoss;
    siloValidation = b.siloValidation;
    dpClipNorm = b.dpClipNorm;
    dpNoiseMultiplier = b.dpNoiseMultiplier;
    dpDelta = b.dpDelta;
    aggregation = b.aggregation;
    trimFraction = b.trimFraction;
    krumByzantine = b.krumByzantine;
    krumSelect = b.krumSelect;
    secureAggregation = b.secureAggregation;
    compression = b.compression;
    checkpoint = b.checkpoint;
    earlyStopping = b.earlyStopping;
    stragglers = b.stragglers;
    stragglerPolicy = b.stragglerPolicy;
    taskHook = b.taskHook;
    teacher = b.teacher;
    reconstruction = b.reconstruction;
  }

  /**
   * This configuration distilling from {@code t} instead (null: none): the trainer's copy with the
   * teacher broadcast.
   */
  public FederatedConfig withTeacher(Teacher t) {
    Builder b = toBuilder();
    b.teacher = t;
    return new FederatedConfig(b);
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.rounds = rounds;
    b.clientFraction = clientFraction;
    b.sampling = sampling;
    b.localEpochs = localEpochs;
    b.localBatch = localBatch;
    b.proxMu = proxMu;
    b.localOptimizer = localOptimizer;
    b.server = server;
    b.serverLr = serverLr;
    b.serverMomentum = serverMomentum;
    b.beta1 = beta1;
    b.beta2 = beta2;
    b.tau = tau;
    b.l2 = l2;
    b.seed = seed;
    b.aggregationDepth = aggregationDepth;
    b.evalEveryRounds = evalEveryRounds;
    b.logEveryRounds = logEveryRounds;
    b.evalTrainLoss = evalTrainLoss;
    b.siloValidation = siloValidation;
    b.dpClipNorm = dpClipNorm;
    b.dpNoiseMultiplier = dpNoiseMultiplier;
    b.dpDelta = dpDelta;
    b.aggregation = aggregation;
    b.trimFraction = trimFraction;
    b.krumByzantine = krumByzantine;
    b.krumSelect = krumSelect;
    b.secureAggregation = secureAggregation;
    b.compression = compression;
    b.checkpoint = checkpoint;
    b.earlyStopping = earlyStopping;
    b.stragglers = stragglers;
    b.stragglerPolicy = stragglerPolicy;
    b.taskHook = taskHook;
    b.teacher = teacher;
    b.reconstruction = reconstruction;
    return b;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Knowledge distillation: the teacher the silos learn from besides their labels, or null. */
  public Teacher teacher() {
    return teacher;
  }

  /**
   * A reconstruction run (pretraining, {@code io.sparktrain.train.Pretraining}): each silo learns to
   * reconstruct its own rows' features from corrupted copies, reading no labels; null = supervised.
   */
  public Corruption reconstruction() {
    return reconstruction;
  }

  /** The fault-injection hook of tests ({@link TaskHook}), or null. */
  public TaskHook taskHook() {
    return taskHook;
  }

  public int rounds() { return rounds; }
  /** C: the fraction of silos sampled per round (at least one silo). */
  public double clientFraction() { return clientFraction; }
  public Sampling sampling() { return sampling; }
  /** E: local epochs per round. */
  public int localEpochs() { return localEpochs; }
  /** B: local mini-batch; 0 = the whole silo (full batch). */
  public int localBatch() { return localBatch; }
  /** FedProx mu (0 = FedAvg). */
  public float proxMu() { return proxMu; }
  public OptimizerSpec localOptimizer() { return localOptimizer; }
  public ServerOptimizer.Kind server() { return server; }
  public double serverLr() { return serverLr; }
  public float l2() { return l2; }
  public long seed() { return seed; }
  /**
   * treeAggregate depth of a round; 1 (the default) sends the sampled silos' updates straight to
   * the driver. Deeper trees make Spark shuffle partial aggregates (model-sized, never rows) between
   * executors when there are many silos, which the locality audit then reports as shuffles.
   */
  public int aggregationDepth() { return aggregationDepth; }
  public int evalEveryRounds() { return evalEveryRounds; }
  public int logEveryRounds() { return logEveryRounds; }
  /**
   * At every evaluation round, also the global model's loss (and, for a classifier, accuracy) over
   * all silos' training rows, evaluated where they are: round history keys {@code global_train_loss}
   * and {@code global_train_accuracy}. Li et al. 2020 plot this curve. It costs one forward pass over
   * the training rows per evaluation round, nothing in the other rounds.
   */
  public boolean evalTrainLoss() { return evalTrainLoss; }
  /**
   * The validation data holds each silo's own held-out rows, partition k = silo k (as
   * {@link Silos#holdOut} makes them): each evaluation then also reports the global model's accuracy
   * per silo ({@code val_accuracy_silo_min/_median/_max}), and the result the full distribution of the
   * last one ({@link FederatedResult#siloValidation()}).
   */
  public boolean siloValidation() { return siloValidation; }
  /** DP-FedAvg clipping norm S (0 = no DP). */
  public double dpClipNorm() { return dpClipNorm; }
  /** DP-FedAvg noise multiplier z: noise N(0, (z S)^2) on the sum of clipped deltas. */
  public double dpNoiseMultiplier() { return dpNoiseMultiplier; }
  public double dpDelta() { return dpDelta; }
  public boolean dp() { return dpClipNorm > 0; }
  public Aggregation aggregation() { return aggregation; }
  public double trimFraction() { return trimFraction; }
  public int krumByzantine() { return krumByzantine; }
  public int krumSelect() { return krumSelect; }
  public boolean secureAggregation() { return secureAggregation; }
  /** True when uploads are compressed (anything but float32). */
  public boolean compress() { return compression.compresses(); }
  /** True when the silos keep error-feedback residuals ({@link Compression#errorFeedback()}). */
  public boolean errorFeedback() { return compression.errorFeedback(); }
  /** How the silos compress their uploads. */
  public Compression compression() { return compression; }
  /**
   * Checkpoints: every {@code everyRounds} rounds (and after the last round and an early stop);
   * epochs do not apply.
   */
  public CheckpointSettings checkpoint() { return checkpoint; }
  /**
   * Early stopping, checked at every evaluation (every {@link #evalEveryRounds()} rounds); patience
   * counts evaluations.
   */
  public EarlyStoppingSettings earlyStopping() { return earlyStopping; }
  /** The fraction of each round's sampled silos that straggle (0 = none); see {@link Stragglers}. */
  public double stragglers() { return stragglers; }
  /** The policy as configured (AUTO included). */
  public StragglerPolicy stragglerPolicy() { return stragglerPolicy; }
  /** True when stragglers' updates are dropped: policy DROP, or AUTO with mu = 0. */
  public boolean dropsStragglers() {
    return stragglerPolicy == StragglerPolicy.DROP || (stragglerPolicy == StragglerPolicy.AUTO && proxMu == 0);
  }

  /** A fresh server optimizer. */
  public ServerOptimizer newServerOptimizer() {
    return new ServerOptimizer(server, serverLr, serverMomentum, beta1, beta2, tau);
  }

  /** The algorithm's usual name: FedSGD, FedAvg, FedProx, or the server rule's. */
  public String algorithmName() {
    if (server != ServerOptimizer.Kind.FEDAVG) {
      return server.name().replace("FED", "Fed").replace("AVGM", "AvgM").replace("ADAGRAD", "Adagrad")
          .replace("ADAM", "Adam").replace("YOGI", "Yogi");
    }
    if (proxMu > 0 || (stragglers > 0 && !dropsStragglers())) {
      return "FedProx"; // Li et al. 2020: FedProx with mu = 0 is FedAvg that keeps the stragglers' partial work
    }
    return localEpochs == 1 && localBatch == 0 ? "FedSGD" : "FedAvg";
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("algorithm", algorithmName());
    m.put("rounds", rounds);
    m.put("client_fraction", clientFraction);
    m.put("sampling", sampling.name().toLowerCase(Locale.ROOT));
    m.put("local_epochs", localEpochs);
    m.put("local_batch", localBatch);
    m.put("prox_mu", proxMu);
    m.put("local_optimizer", localOptimizer.toString());
    m.put("server", newServerOptimizer().toString());
    m.put("l2", l2);
    m.put("seed", seed);
    m.put("dp_clip_norm", dpClipNorm);
    m.put("dp_noise_multiplier", dpNoiseMultiplier);
    m.put("dp_delta", dpDelta);
    m.put("aggregation", aggregation.name().toLowerCase(Locale.ROOT));
    m.put("secure_aggregation", secureAggregation);
    m.put("compression", compression.reportName());
    if (stragglers > 0) {
      m.put("stragglers", stragglers);
      m.put("straggler_policy", dropsStragglers() ? "drop" : "partial");
    }
    if (teacher != null) {
      m.put("distillation", teacher.toMap());
    }
    if (reconstruction != null) {
      m.put("reconstruction", reconstruction.toString());
    }
    return m;
  }

  @Override
  public String toString() {
    return "FederatedConfig" + toMap();
  }

  /** Defaults: FedAvg with C = 0.1, E = 1, B = 10, client SGD lr 0.05, server lr 1. */
  public static final class Builder {
    private TaskHook taskHook;
    private Teacher teacher;
    private Corruption reconstruction;
    private int rounds = Defaults.FEDERATED_ROUNDS;
    private double clientFraction = Defaults.CLIENT_FRACTION;
    private Sampling sampling = Sampling.UNIFORM;
    private int localEpochs = Defaults.LOCAL_EPOCHS;
    private int localBatch = Defaults.LOCAL_BATCH;
    private float proxMu = 0f;
    private OptimizerSpec localOptimizer = OptimizerSpec.sgd().learningRate(0.05).build();
    private ServerOptimizer.Kind server = ServerOptimizer.Kind.FEDAVG;
    private double serverLr = 1.0;
    private double serverMomentum = 0.9;
    private double beta1 = 0.9;
    private double beta2 = 0.99;
    private double tau = 1e-3;
    private float l2 = 0f;
    private long seed = Defaults.SEED;
    private int aggregationDepth = Defaults.FEDERATED_AGGREGATION_DEPTH;
    private int evalEveryRounds = Defaults.EVAL_EVERY_ROUNDS;
    private int logEveryRounds = Defaults.EVAL_EVERY_ROUNDS;
    private boolean evalTrainLoss = false;
    private boolean siloValidation = false;
    private double dpClipNorm = 0;
    private double dpNoiseMultiplier = 0;
    private double dpDelta = 1e-5;
    private Aggregation aggregation = Aggregation.MEAN;
    private double trimFraction = 0.1;
    private int krumByzantine = 1;
    private int krumSelect = 0;
    private boolean secureAggregation = false;
    private Compression compression = Compression.none();
    private CheckpointSettings checkpoint = CheckpointSettings.none().withEveryRounds(10);
    private EarlyStoppingSettings earlyStopping = EarlyStoppingSettings.off();
    private double stragglers = 0;
    private StragglerPolicy stragglerPolicy = StragglerPolicy.AUTO;

    /** Tests only: runs in each silo's task before its work ({@link TaskHook}); not part of {@link #toMap}. */
    public Builder taskHook(TaskHook v) { taskHook = v; return this; }
    /** Distills from {@code v} in every silo (null: none); see {@link Teacher}. */
    public Builder teacher(Teacher v) { teacher = v; return this; }
    /** A reconstruction run with this noise (null: supervised); see {@link FederatedConfig#reconstruction()}. */
    public Builder reconstruction(Corruption v) { reconstruction = v; return this; }
    public Builder rounds(int v) { rounds = v; return this; }
    public Builder clientFraction(double v) { clientFraction = v; return this; }
    public Builder sampling(Sampling v) { sampling = v; return this; }
    public Builder localEpochs(int v) { localEpochs = v; return this; }
    /** 0 = full batch. */
    public Builder localBatch(int v) { localBatch = v; return this; }
    public Builder proxMu(float v) { proxMu = v; return this; }
    public Builder localOptimizer(OptimizerSpec v) { localOptimizer = v; return this; }
    public Builder server(ServerOptimizer.Kind v) { server = v; return this; }
    public Builder serverLr(double v) { serverLr = v; return this; }
    public Builder serverMomentum(double v) { serverMomentum = v; return this; }
    public Builder beta1(double v) { beta1 = v; return this; }
    public Builder beta2(double v) { beta2 = v; return this; }
    public Builder tau(double v) { tau = v; return this; }
    public Builder l2(float v) { l2 = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder aggregationDepth(int v) { aggregationDepth = v; return this; }
    public Builder evalEveryRounds(int v) { evalEveryRounds = v; return this; }
    public Builder logEveryRounds(int v) { logEveryRounds = v; return this; }
    /** See {@link FederatedConfig#evalTrainLoss()} (default false). */
    public Builder evalTrainLoss(boolean v) { evalTrainLoss = v; return this; }
    /** See {@link FederatedConfig#siloValidation()} (default false). */
    public Builder siloValidation(boolean v) { siloValidation = v; return this; }
    /** DP-FedAvg: clip each silo's delta to {@code clipNorm}, add N(0, (z clipNorm)^2) to the sum. */
    public Builder differentialPrivacy(double clipNorm, double noiseMultiplier, double delta) {
      dpClipNorm = clipNorm;
      dpNoiseMultiplier = noiseMultiplier;
      dpDelta = delta;
      return this;
    }
    public Builder aggregation(Aggregation v) { aggregation = v; return this; }
    public Builder trimFraction(double v) { trimFraction = v; return this; }
    /** Multi-Krum: f Byzantine silos tolerated, m updates averaged (0 = n - f). */
    public Builder krum(int f, int m) { krumByzantine = f; krumSelect = m; return this; }
    public Builder secureAggregation(boolean v) { secureAggregation = v; return this; }
    /**
     * Uploads as 8-bit stochastic quantization ({@link QuantizedUpdate}), optionally with error
     * feedback ({@link ErrorFeedback}: each silo keeps what quantization lost and adds it to its next
     * upload; the residuals stay on the executors, see {@link SiloResiduals}). Error feedback needs
     * {@code int8}; neither goes with secure aggregation.
     */
    public Builder compression(boolean int8, boolean errorFeedback) {
      compression = (int8 ? Compression.quantized(8) : Compression.none()).withErrorFeedback(errorFeedback);
      return this;
    }
    /**
     * Uploads compressed by {@code v} ({@link Compression}: int8/int4/int2 quantization, scaled sign,
     * top-k; with error feedback when {@code v} says so). Not with secure aggregation.
     */
    public Builder compression(Compression v) {
      compression = v;
      return this;
    }
    /**
     * Checkpoints into {@code dir} (any Hadoop FS URI; null = none) every {@code everyRounds}
     * rounds, after the last round and when early stopping ends the run; the newest {@code keep} are
     * kept. They hold the global parameters, the server optimizer's state, the round, the DP
     * accountant, early stopping's state, the seed and the configuration.
     */
    public Builder checkpoints(String dir, int everyRounds, int keep) {
      checkpoint = checkpoint.withDir(dir).withEveryRounds(everyRounds).withKeep(keep);
      return this;
    }
    /** Continue from the newest checkpoint in the checkpoint dir (a fresh start when there is none). */
    public Builder resume(boolean v) { checkpoint = checkpoint.withResume(v); return this; }
    /** The whole checkpoint section. */
    public Builder checkpoint(CheckpointSettings v) { checkpoint = v; return this; }
    /** The whole early-stopping section. */
    public Builder earlyStopping(EarlyStoppingSettings v) { earlyStopping = v; return this; }
    /**
     * Early stopping on a validation metric, checked at every evaluation round: stop when it has
     * not improved by more than {@code minDelta} for {@code patience} evaluations.
     */
    public Builder earlyStopping(String metric, int patience, double minDelta) {
      earlyStopping = earlyStopping.withMetric(metric, patience, minDelta);
      return this;
    }
    /** Early stopping: end with the parameters of the best evaluation (default true). */
    public Builder restoreBestWeights(boolean v) {
      earlyStopping = earlyStopping.withRestoreBestWeights(v);
      return this;
    }

    /** The fraction of the sampled silos that straggle each round, in [0, 1) (Li et al. 2020: 0, 0.5, 0.9). */
    public Builder stragglers(double v) { stragglers = v; return this; }
    public Builder stragglerPolicy(StragglerPolicy v) { stragglerPolicy = v; return this; }

    public FederatedConfig build() {
      require(rounds >= 1, "federated.rounds", ">= 1", rounds);
      require(clientFraction > 0 && clientFraction <= 1, "federated.client_fraction", "0 < C <= 1", clientFraction);
      require(localEpochs >= 1, "federated.local_epochs", ">= 1", localEpochs);
      require(localBatch >= 0, "federated.local_batch", ">= 0 (0 = full batch)", localBatch);
      require(proxMu >= 0, "federated.prox_mu", ">= 0", proxMu);
      require(aggregationDepth >= 1, "federated.aggregation_depth", ">= 1", aggregationDepth);
      require(evalEveryRounds >= 0, "federated.eval_every_rounds", ">= 0", evalEveryRounds);
      require(dpClipNorm >= 0, "federated.dp.clip_norm", ">= 0 (0 = off)", dpClipNorm);
      require(dpNoiseMultiplier >= 0, "federated.dp.noise_multiplier", ">= 0", dpNoiseMultiplier);
      require(dpDelta > 0 && dpDelta < 1, "federated.dp.delta", "0 < delta < 1", dpDelta);
      require(trimFraction >= 0 && trimFraction < 0.5, "federated.trim_fraction", "0 <= beta < 0.5", trimFraction);
      require(krumByzantine >= 0, "federated.krum_f", ">= 0", krumByzantine);
      require(krumSelect >= 0, "federated.krum_m", ">= 0", krumSelect);
      require(stragglers >= 0 && stragglers < 1, "federated.stragglers", "a fraction in [0, 1)", stragglers);
      require(stragglerPolicy != null, "federated.straggler_policy", "one of auto, drop, partial", stragglerPolicy);
      if (stragglers > 0 && dpClipNorm > 0 && sampling == Sampling.POISSON
          && (stragglerPolicy == StragglerPolicy.DROP || (stragglerPolicy == StragglerPolicy.AUTO && proxMu == 0))) {
        throw new IllegalArgumentException("federated.straggler_policy: expected partial with DP and poisson"
            + " sampling (dropping stragglers changes the expected number of contributions the DP mean divides"
            + " by), found drop");
      }
      if (secureAggregation && aggregation != Aggregation.MEAN) {
        throw new IllegalArgumentException("federated.secure_aggregation: expected aggregation mean (the server"
            + " sees only the masked sum), found " + aggregation.name().toLowerCase(Locale.ROOT));
      }
      require(compression != null, "federated.compression", Compression.FORMS, null);
      if (compression.errorFeedback() && !compression.compresses()) {
        throw new IllegalArgumentException("federated.compression: expected a compression method with error"
            + " feedback, e.g. int8_error_feedback (error feedback corrects what compression loses), found error"
            + " feedback without compression");
      }
      if (compression.compresses() && secureAggregation) {
        throw new IllegalArgumentException("federated.compression: expected none with secure_aggregation true"
            + " (masked uploads are not compressed), found " + compression);
      }
      checkpoint.validate(true);
      earlyStopping.validate(false);
      if (earlyStopping.enabled()) {
        require(evalEveryRounds >= 1, "federated.eval_every_rounds", ">= 1 with early stopping", evalEveryRounds);
      }
      newServerOptimizerCheck();
      if (reconstruction != null) {
        require(teacher == null, "training.distillation", "null in a reconstruction run (pretraining reads no"
            + " labels)", teacher);
        require(dpClipNorm == 0, "federated.dp", "null in a pretraining run (its rounds would need their own"
            + " privacy accounting, which is not combined with the supervised run's)", "clip_norm " + dpClipNorm);
        require(!earlyStopping.enabled(), "training.early_stopping", "off in a reconstruction run (it takes no"
            + " validation data)", earlyStopping.metric());
        require(!evalTrainLoss, "federated.eval_train_loss", "false in a reconstruction run (its silos' rows"
            + " have no labels to score)", evalTrainLoss);
      }
      return new FederatedConfig(this);
    }

    private void newServerOptimizerCheck() {
      new ServerOptimizer(server, serverLr, serverMomentum, beta1, beta2, tau);
    }

    private static void require(boolean ok, String key, String expected, Object found) {
      ConfigChecks.require(ok, key, expected, found);
    }
  }
}
