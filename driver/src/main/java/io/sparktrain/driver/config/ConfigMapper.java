package io.sparktrain.driver.config;

import io.sparktrain.federated.Compression;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.ServerOptimizer;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Loss;
import io.sparktrain.optim.LearningRateSchedule;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.Mode;
import io.sparktrain.train.Pretraining;
import io.sparktrain.train.TrainConfig;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Maps a validated {@link JobConfig} onto the library's configurations: the network's activation and
 * loss, optimizer specs, {@link TrainConfig} and {@link FederatedConfig}. A library builder's own
 * check that fails becomes a {@link ConfigException} (exit 2, before Spark starts).
 */
final class ConfigMapper {
  private ConfigMapper() {
  }

  static Activation activation(JobConfig c) {
    return Activation.parse(c.string("model.activation"));
  }

  /** The loss of the output layer: model.loss, with auto resolved for the task. */
  static Loss loss(JobConfig c) {
    String l = c.string("model.loss").trim();
    if (l.equalsIgnoreCase("auto")) {
      return c.isClassification() ? Loss.SOFTMAX_CROSS_ENTROPY : Loss.MSE;
    }
    return Loss.parse(l);
  }

  /** The optimizer at {@code path} (training.optimizer or training.local_optimizer). */
  static OptimizerSpec optimizer(JobConfig c, String path) {
    try {
      OptimizerSpec.Builder b = OptimizerSpec.builder(c.string(path + ".name"))
          .learningRate(c.number(path + ".learning_rate"))
          .beta1(c.number(path + ".beta1"))
          .beta2(c.number(path + ".beta2"))
          .epsilon(c.number(path + ".epsilon"))
          .momentum(c.number(path + ".momentum"))
          .nesterov(c.bool(path + ".nesterov"))
          .clipNorm(c.number(path + ".clip_norm"));
      if (!c.isNull(path + ".weight_decay")) {
        b.weightDecay(c.number(path + ".weight_decay"));
      }
      String s = path + ".schedule.";
      switch (c.string(s + "name")) {
        case "step": b.schedule(LearningRateSchedule.step(c.longValue(s + "every"), c.number(s + "gamma"))); break;
        case "exponential": b.schedule(LearningRateSchedule.exponential(c.number(s + "gamma"))); break;
        case "cosine":
          b.schedule(LearningRateSchedule.cosine(c.longValue(s + "warmup"), c.longValue(s + "total"),
              c.number(s + "min_factor")));
          break;
        default: b.schedule(LearningRateSchedule.constant());
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(path + ": " + e.getMessage(), e);
    }
  }

  /** The trainer's configuration from the training and checkpoint sections. */
  static TrainConfig trainConfig(JobConfig c) {
    TrainConfig.Builder b = TrainConfig.builder()
        .mode(c.isFederated() ? Mode.SYNC : Mode.valueOf(c.string("training.mode").toUpperCase(Locale.ROOT)))
        .syncEngine(TrainConfig.SyncEngine.valueOf(c.string("training.sync_engine").toUpperCase(Locale.ROOT)))
        .averageEngine(TrainConfig.SyncEngine.valueOf(c.string("training.average_engine").toUpperCase(Locale.ROOT)))
        .collectiveTimeoutMillis(Math.round(c.number("training.collective_timeout_s") * 1000))
        .spanRetries(c.integer("training.span_retries"))
        .epochs(c.integer("training.epochs"))
        .plateau(c.number("training.plateau_tol"), c.integer("training.plateau_patience"))
        // Federated runs do not standardize: the means and variances would be a statistic over every silo's raw
        // data, outside secure aggregation and the DP accounting.
        .standardize(c.bool("data.standardize") && !c.isFederated())
        .maxRounds(c.longValue("training.max_rounds"))
        .batchSize(c.integer("training.batch_size"))
        .localSteps(c.integer("training.local_steps"))
        .seed(c.longValue("training.seed"))
        .l2((float) c.number("training.l2"))
        .aggregationDepth(c.integer("training.aggregation_depth"))
        .logEveryRounds(c.integer("training.log_every_rounds"))
        .validateEveryRounds(c.integer("training.validate_every_rounds"))
        .serverUpdate(TrainConfig.ServerUpdate.valueOf(c.string("training.server_update").toUpperCase(Locale.ROOT)))
        .optimizer(optimizer(c, "training.optimizer"))
        .checkpointDir(c.string("checkpoint.dir"))
        .checkpointEveryRounds(c.integer("checkpoint.every_rounds"))
        .checkpointEveryEpochs(c.integer("checkpoint.every_epochs"))
        .checkpointKeep(c.integer("checkpoint.keep"))
        .resume(c.bool("checkpoint.resume"));
    if (!c.isNull("training.local_optimizer")) {
      b.localOptimizer(optimizer(c, "training.local_optimizer"));
    }
    earlyStopping(c, (metric, patience, minDelta, restore) ->
        b.earlyStopping(metric, patience, minDelta).restoreBestWeights(restore));
    return validated(b::build);
  }

  /** training.pretrain as the library's settings, or null when the section is null. */
  static Pretraining pretraining(JobConfig c) {
    if (c.isNull("training.pretrain")) {
      return null;
    }
    try {
      return Pretraining.denoisingAutoencoder(c.integer("training.pretrain.epochs"),
          Corruption.parse(c.string("training.pretrain.noise")))
          .withBatchSize(c.integer("training.pretrain.batch_size"));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("training.pretrain: " + e.getMessage(), e);
    }
  }

  /** A federated builder from the federated section and training.seed and training.l2. */
  static FederatedConfig.Builder federatedBuilder(JobConfig c) {
    String f = "federated.";
    OptimizerSpec local = OptimizerSpec.builder(c.string(f + "local_optimizer.name"))
        .learningRate(c.number(f + "local_optimizer.learning_rate")).build();
    FederatedConfig.Builder b = FederatedConfig.builder()
        .rounds(c.integer(f + "rounds"))
        .clientFraction(c.number(f + "client_fraction"))
        .sampling(FederatedConfig.Sampling.valueOf(
            c.string(f + "sampling").toUpperCase(Locale.ROOT)))
        .localEpochs(c.integer(f + "local_epochs"))
        .localBatch(c.integer(f + "local_batch"))
        .proxMu((float) c.number(f + "prox_mu"))
        .stragglers(c.number(f + "stragglers"))
        .stragglerPolicy(FederatedConfig.StragglerPolicy.valueOf(
            c.string(f + "straggler_policy").toUpperCase(Locale.ROOT)))
        .localOptimizer(local)
        .server(ServerOptimizer.kind(c.string(f + "server")))
        .serverLr(c.number(f + "server_lr"))
        .serverMomentum(c.number(f + "server_momentum"))
        .beta1(c.number(f + "beta1"))
        .beta2(c.number(f + "beta2"))
        .tau(c.number(f + "tau"))
        .evalEveryRounds(c.integer(f + "eval_every_rounds"))
        .logEveryRounds(c.integer(f + "eval_every_rounds"))
        .evalTrainLoss(c.bool(f + "eval_train_loss"))
        .aggregation(FederatedConfig.Aggregation.valueOf(
            c.string(f + "aggregation").toUpperCase(Locale.ROOT)))
        .secureAggregation(c.bool(f + "secure_aggregation"))
        .compression(Compression.parse(c.string(f + "compression")))
        .seed(c.longValue("training.seed"))
        .l2((float) c.number("training.l2"))
        .aggregationDepth(c.integer(f + "aggregation_depth"));
    if (!c.isNull(f + "dp")) {
      b.differentialPrivacy(c.number(f + "dp.clip_norm"), c.number(f + "dp.noise_multiplier"),
          c.number(f + "dp.delta"));
    }
    return b;
  }

  /**
   * The federated configuration of a {@code train} run: {@link #federatedBuilder(c)} plus the
   * checkpoint section (checkpoint.every_rounds 0 = every federated.eval_every_rounds; every_epochs
   * does not apply) and training.early_stopping (checked at every evaluation round).
   */
  static FederatedConfig federatedTrainConfig(JobConfig c) {
    FederatedConfig.Builder b = federatedBuilder(c);
    if (!c.isNull("checkpoint.dir")) {
      int every = c.integer("checkpoint.every_rounds");
      b.checkpoints(c.string("checkpoint.dir"), every > 0 ? every : c.integer("federated.eval_every_rounds"),
          c.integer("checkpoint.keep"));
    }
    b.resume(c.bool("checkpoint.resume"));
    earlyStopping(c, (metric, patience, minDelta, restore) ->
        b.earlyStopping(metric, patience, minDelta).restoreBestWeights(restore));
    return validated(b::build);
  }

  /** The federated section as a validated FederatedConfig. */
  static FederatedConfig federatedConfig(JobConfig c) {
    return validated(federatedBuilder(c)::build);
  }

  /** The value {@code build} returns; a builder's validation error becomes a ConfigException (exit 2). */
  private static <T> T validated(Supplier<T> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  /** Where training.early_stopping goes: normal and federated training take the same four values. */
  private interface EarlyStoppingTarget {
    void set(String metric, int patience, double minDelta, boolean restoreBestWeights);
  }

  /** Hands training.early_stopping to {@code target} when the section is set. */
  private static void earlyStopping(JobConfig c, EarlyStoppingTarget target) {
    if (!c.isNull("training.early_stopping")) {
      target.set(c.string("training.early_stopping.metric"), c.integer("training.early_stopping.patience"),
          c.number("training.early_stopping.min_delta"), c.bool("training.early_stopping.restore_best_weights"));
    }
  }
}
