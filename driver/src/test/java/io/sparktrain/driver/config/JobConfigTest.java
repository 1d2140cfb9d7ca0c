package io.sparktrain.driver.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.ServerOptimizer;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.Mode;
import io.sparktrain.train.TrainConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobConfigTest {
  private static final String MIN = "data: {train: t.parquet}\n";

  private static JobConfig parse(String yaml, String... sets) {
    return JobConfig.parse(yaml, "test.yaml", List.of(sets));
  }

  private static String error(String yaml, String... sets) {
    return assertThrows(ConfigException.class, () -> parse(yaml, sets)).getMessage();
  }

  @Test
  void defaultsFillEveryKey() {
    JobConfig c = parse(MIN);
    assertEquals("sparktrain", c.name());
    assertEquals("runs/sparktrain", c.outputDir());
    assertEquals("parquet", c.string("data.format"));
    assertEquals(List.of("features"), c.strings("data.features"));
    assertEquals(List.of(256, 128), c.intList("model.hidden"));
    assertEquals(0, c.integer("training.epochs")); // auto: chosen from the data (TrainConfig.resolve)
    assertEquals(0, c.integer("training.batch_size"));
    assertTrue(c.bool("data.standardize"));
    assertEquals("auto", c.string("training.sync_engine"));
    assertEquals(42L, c.longValue("training.seed"));
    assertEquals(0.001, c.number("training.optimizer.learning_rate"));
    assertNull(c.get("training.local_optimizer"));
    assertNull(c.get("training.early_stopping"));
    assertTrue(c.bool("output.overwrite"));
    assertTrue(c.map("data.options").isEmpty());
    TrainConfig t = c.trainConfig();
    assertEquals(Mode.SYNC, t.mode());
    assertEquals(OptimizerSpec.Kind.ADAM, t.optimizer().kind());
    assertEquals(1, t.checkpoint().everyEpochs());
  }

  @Test
  void unknownKeySuggestsTheNearestSibling() {
    assertEquals("training.optimzer: unknown key; did you mean training.optimizer?",
        error(MIN + "training:\n  optimzer: {name: sgd}\n"));
    assertEquals("trainig: unknown key; did you mean training?", error(MIN, "trainig.epochs=2"));
    assertEquals("model.hiden: unknown key; did you mean model.hidden?", error(MIN + "model: {hiden: [3]}\n"));
    String far = error(MIN + "model: {colour: red}\n");
    assertTrue(far.startsWith("model.colour: unknown key; expected one of task, hidden, activation"), far);
  }

  @Test
  void badValuesNameTheKeyTheExpectationAndTheValue() {
    assertEquals("training.batch_size: expected an integer >= 0, found -1",
        error(MIN + "training: {batch_size: -1}\n"));
    assertEquals("training.optimizer.learning_rate: expected a number > 0, found -0.1",
        error(MIN, "training.optimizer.learning_rate=-0.1"));
    assertEquals("model.dropout: expected a number in [0, 1), found 1.0", error(MIN, "model.dropout=1.0"));
    assertEquals("training.mode: expected one of sync, average, federated, found \"avg\"",
        error(MIN, "training.mode=avg"));
    assertEquals("training.optimizer.name: expected one of sgd, adam, adamw, lazy_adam, found \"adma\";"
        + " did you mean adam?",
        error(MIN, "training.optimizer.name=adma"));
    assertEquals("model.activation: expected one of identity, relu, leaky_relu(a), sigmoid, tanh, gelu,"
        + " found \"softmax\"", error(MIN, "model.activation=softmax"));
    assertEquals("model.loss: expected auto or softmax_cross_entropy for task classification, found \"mse\"",
        error(MIN, "model.loss=mse"));
  }

  @Test
  void typeErrorsNameTheKeyPath() {
    assertEquals("training.epochs: expected an integer >= 0, found \"ten\"", error(MIN, "training.epochs=ten"));
    assertEquals("training.epochs: expected an integer >= 0, found 2.5", error(MIN, "training.epochs=2.5"));
    assertEquals("model.hidden: expected a list of integers >= 1, found [64, \"x\"]",
        error(MIN, "model.hidden=[64, x]"));
    assertEquals("output.overwrite: expected true or false, found 3", error(MIN, "output.overwrite=3"));
    assertEquals("data.train: expected a string, found 5", error("data: {train: 5}\n"));
    assertEquals("training: expected a map with keys mode, sync_engine, average_engine, collective_timeout_s,"
        + " span_retries, epochs, plateau_tol, plateau_patience, max_rounds, batch_size, local_steps, seed, l2,"
        + " aggregation_depth, log_every_rounds, validate_every_rounds, server_update, optimizer, local_optimizer,"
        + " early_stopping, distillation, pretrain, found 3", error(MIN + "training: 3\n"));
    assertTrue(error("data: {}\n").startsWith("data.train: missing; expected a string"));
    // several errors: one line
    String two = error(MIN + "training: {epochs: -1, batch_size: -1}\n");
    assertEquals("training.epochs: expected an integer >= 0, found -1; training.batch_size: expected an integer"
        + " >= 0, found -1", two);
  }

  @Test
  void overridesAreYamlValues() {
    JobConfig c = parse(MIN + "training: {epochs: 5}\n", "training.epochs=2", "model.hidden=[64, 32]",
        "training.optimizer.learning_rate=1e-2", "data.options={header: true}", "data.features=[a, b]",
        "name=run-7", "data.validation=v.parquet", "training.early_stopping.patience=5");
    assertEquals(2, c.integer("training.epochs"));
    assertEquals(List.of(64, 32), c.intList("model.hidden"));
    assertEquals(0.01, c.number("training.optimizer.learning_rate"));
    assertEquals("true", c.map("data.options").get("header"));
    assertEquals(List.of("a", "b"), c.strings("data.features"));
    assertEquals("runs/run-7", c.outputDir());
    // a null section set by a key gets the other keys' defaults
    assertEquals(5, c.integer("training.early_stopping.patience"));
    assertEquals("val_loss", c.string("training.early_stopping.metric"));
    assertEquals(5, c.trainConfig().earlyStopping().patience());
    assertEquals("--set training.epochs: expected key.path=value", error(MIN, "training.epochs"));
  }

  @Test
  void crossKeyChecks() {
    assertEquals("training.early_stopping: needs validation data (data.validation or data.validation_fraction > 0),"
        + " found none", error(MIN + "training: {early_stopping: {patience: 2}}\n"));
    assertEquals("data.test_fraction: expected validation_fraction + test_fraction < 1, found 0.5 + 0.5",
        error(MIN, "data.validation_fraction=0.5", "data.test_fraction=0.5"));
    assertEquals("training.optimizer.schedule.every: expected an integer >= 1 for schedule step, found 0",
        error(MIN, "training.optimizer.schedule.name=step"));
    assertEquals("checkpoint.resume: expected a checkpoint.dir to resume from, found none",
        error(MIN, "checkpoint.resume=true"));
  }

  @Test
  void invalidYamlAndMissingFile() {
    String m = error("data: {train: x\nmodel: [\n");
    assertTrue(m.startsWith("test.yaml: invalid YAML at line"), m);
    assertTrue(!m.contains("\n"), m);
    String dup = error("name: a\nname: b\n" + MIN);
    assertTrue(dup.startsWith("test.yaml: invalid YAML"), dup);
    String missing = assertThrows(ConfigException.class,
        () -> JobConfig.load(Path.of("/nonexistent/x.yaml"), List.of())).getMessage();
    assertEquals("/nonexistent/x.yaml: no such config file", missing);
  }

  @Test
  void theSchemaDocumentIsAValidConfigOfTheDefaults() {
    String doc = ConfigSchema.describe();
    JobConfig fromDoc = parse(doc);
    JobConfig defaults = parse("data: {train: \"<required>\"}\n");
    assertEquals(defaults.asMap(), fromDoc.asMap());
    for (String key : List.of("training.optimizer.schedule", "checkpoint", "spark")) {
      assertTrue(doc.contains(key.substring(key.lastIndexOf('.') + 1) + ":"), key);
    }
  }

  @Test
  void editDistance() {
    assertEquals(1, ConfigValidator.editDistance("optimzer", "optimizer"));
    assertEquals(1, ConfigValidator.editDistance("epcohs", "epochs"));
    assertNull(ConfigValidator.nearest("colour", List.of("task", "hidden")));
  }

  @Test
  void federatedSilosAndExperimentSectionsHaveDefaultsAndBuildAFederatedConfig() {
    JobConfig c = parse(MIN);
    assertEquals(100, c.integer("federated.rounds"));
    assertEquals("fedavg", c.string("federated.server"));
    assertNull(c.get("federated.dp"));
    assertEquals("iid", c.string("silos.source"));
    assertEquals(List.of("federated"), c.strings("experiment.algorithms"));
    assertTrue(c.doubleList("experiment.target_accuracy").isEmpty());
    FederatedConfig f = parse(MIN + "federated: {rounds: 7, local_epochs: 5, local_batch: 0,"
        + " server: fedyogi, server_lr: 0.01, dp: {clip_norm: 1.5, noise_multiplier: 1.1},"
        + " compression: int8_error_feedback}\n", "federated.client_fraction=0.5").federatedConfig();
    assertEquals(7, f.rounds());
    assertEquals(0.5, f.clientFraction());
    assertEquals(0, f.localBatch());
    assertEquals(ServerOptimizer.Kind.FEDYOGI, f.server());
    assertEquals(1.5, f.dpClipNorm());
    assertEquals(1e-5, f.dpDelta());
    assertTrue(f.compress() && f.errorFeedback());
    ConfigException secure = assertThrows(ConfigException.class, () -> parse(MIN
        + "federated: {secure_aggregation: true, compression: int8_error_feedback}\n").federatedConfig());
    assertEquals("federated.compression: expected none with secure_aggregation true (masked uploads are not"
        + " compressed), found int8_error_feedback", secure.getMessage());
    JobConfig e = parse(MIN + "experiment: {algorithms: [fedsgd, fedavg, \"fedprox(1)\", \"fedyogi(0.01)\"],"
        + " silos: [iid, \"dirichlet(0.1)\", \"shards(2)\"], client_fraction: [0.1, 1],"
        + " target_accuracy: [0.8, 0.85], seeds: [1, 2]}\n");
    assertEquals(List.of(0.1, 1.0), e.doubleList("experiment.client_fraction"));
    assertEquals(List.of("iid", "dirichlet(0.1)", "shards(2)"), e.strings("experiment.silos"));
    // synthetic silos need no data.train
    assertEquals("synthetic", parse("silos: {source: synthetic}\n").string("silos.source"));
  }

  @Test
  void federatedTrainTakesTheCheckpointAndEarlyStoppingKeys() {
    String fed = "data: {train: t.parquet, validation_fraction: 0.2}\n"
        + "training: {mode: federated, early_stopping: {metric: val_accuracy, patience: 2, min_delta: 0.01,"
        + " restore_best_weights: false}}\n"
        + "federated: {rounds: 30, eval_every_rounds: 5}\n";
    FederatedConfig f = parse(fed, "checkpoint={dir: /tmp/c, keep: 2, resume: true}").federatedTrainConfig();
    assertEquals("/tmp/c", f.checkpoint().dir());
    assertEquals(5, f.checkpoint().everyRounds(), "every_rounds 0: every evaluation round");
    assertEquals(2, f.checkpoint().keep());
    assertTrue(f.checkpoint().resume());
    assertEquals("val_accuracy", f.earlyStopping().metric());
    assertEquals(2, f.earlyStopping().patience());
    assertEquals(0.01, f.earlyStopping().minDelta());
    assertTrue(!f.earlyStopping().restoreBestWeights());
    assertEquals(3, parse(fed, "checkpoint={dir: /tmp/c, every_rounds: 3}").federatedTrainConfig()
        .checkpoint().everyRounds());
    // the experiment grid does not checkpoint (its settings would share one directory)
    assertNull(parse(fed, "checkpoint.dir=/tmp/c").federatedConfig().checkpoint().dir());
    assertNull(parse(fed).federatedTrainConfig().checkpoint().dir());
    // early stopping still needs validation data, in federated mode too
    assertEquals("training.early_stopping: needs validation data (data.validation or data.validation_fraction > 0),"
        + " found none", error(MIN + "training: {mode: federated, early_stopping: {patience: 2}}\n"));
  }

  @Test
  void trainingRoundsPointsToFederatedRounds() {
    assertEquals("training.rounds: unknown key; the rounds of training.mode federated are federated.rounds (sync and"
        + " average: training.epochs, training.max_rounds)", error(MIN, "training.mode=federated",
            "training.rounds=3"));
  }

  @Test
  void stragglerKeysAreValidatedAndBuildTheFederatedConfig() {
    assertEquals("federated.stragglers: expected a number in [0, 1), found 1.0",
        error(MIN, "federated.stragglers=1.0"));
    assertEquals("federated.stragglers: expected a number in [0, 1), found -0.5",
        error(MIN, "federated.stragglers=-0.5"));
    assertEquals("federated.straggler_policy: expected one of auto, drop, partial, found \"dorp\"; did you mean drop?",
        error(MIN, "federated.straggler_policy=dorp"));
    assertEquals("experiment.stragglers: expected a list of numbers in [0, 1), found [0, 0.5, 1]",
        error(MIN, "experiment.stragglers=[0, 0.5, 1]"));
    String policy = error(MIN, "experiment.straggler_policy=[drop, wait]");
    assertTrue(policy.startsWith("experiment.straggler_policy: expected a list of drop, partial"), policy);
    assertTrue(policy.endsWith("found [\"drop\", \"wait\"]"), policy);
    String dp = error(MIN + "federated: {stragglers: 0.5, sampling: poisson, dp: {clip_norm: 1}}\n");
    assertTrue(dp.startsWith("federated.straggler_policy: expected partial with DP and poisson sampling"), dp);
    FederatedConfig none = parse(MIN).federatedConfig();
    assertEquals(0.0, none.stragglers());
    assertEquals(FederatedConfig.StragglerPolicy.AUTO, none.stragglerPolicy());
    FederatedConfig prox = parse(MIN, "federated.stragglers=0.9", "federated.prox_mu=1").federatedConfig();
    assertEquals(0.9, prox.stragglers());
    assertTrue(!prox.dropsStragglers(), "auto: FedProx keeps partial work");
    assertTrue(parse(MIN, "federated.stragglers=0.5").federatedConfig().dropsStragglers(), "auto: FedAvg drops");
    assertTrue(!parse(MIN, "federated.stragglers=0.5", "federated.straggler_policy=partial").federatedConfig()
        .dropsStragglers());
  }

  @Test
  void federatedValidationNamesTheKeyPath() {
    assertEquals("federated.rouds: unknown key; did you mean federated.rounds?",
        error(MIN + "federated: {rouds: 3}\n"));
    assertEquals("silos.sorce: unknown key; did you mean silos.source?", error(MIN, "silos.sorce=iid"));
    assertEquals("federated.client_fraction: expected a number in (0, 1], found 1.5",
        error(MIN + "federated: {client_fraction: 1.5}\n"));
    assertEquals("federated.server: expected one of fedavg, fedavgm, fedadagrad, fedadam, fedyogi, found \"fedyog\";"
        + " did you mean fedyogi?", error(MIN, "federated.server=fedyog"));
    assertEquals("federated.local_batch: expected an integer >= 0, found -1", error(MIN, "federated.local_batch=-1"));
    assertEquals("federated.dp.delta: expected a number in (0, 1), found 2", error(MIN, "federated.dp={delta: 2}"));
    assertEquals("federated.secure_aggregation: expected aggregation mean (the server sees only the masked sum),"
        + " found median", error(MIN + "federated: {secure_aggregation: true, aggregation: median}\n"));
    assertEquals("silos.source: expected one of partitions, paths, column, iid, dirichlet, shards, quantity,"
        + " synthetic, found \"dirichlet(0.1)\"", error(MIN, "silos.source=dirichlet(0.1)"));
    String alg = error(MIN, "experiment.algorithms=[fedavg, fedsdg]");
    assertTrue(alg.startsWith("experiment.algorithms: expected a list of fedsgd, fedavg, fedprox(mu)"), alg);
    assertTrue(alg.endsWith("found [\"fedavg\", \"fedsdg\"]"), alg);
    String silos = error(MIN, "experiment.silos=[iid, \"dirichlet(-1)\"]");
    assertTrue(silos.startsWith("experiment.silos: expected a list of iid, dirichlet(alpha)"), silos);
    assertEquals("experiment.target_accuracy: expected a list of numbers in (0, 1], found [0.5, 80]",
        error(MIN, "experiment.target_accuracy=[0.5, 80]"));
    assertEquals("experiment.local_epochs: expected a list of integers >= 1, found [0]",
        error(MIN, "experiment.local_epochs=[0]"));
    assertEquals("silos.column: expected a column name for silos column, found null",
        error(MIN, "silos.source=column"));
    assertTrue(error("silos: {source: iid}\n").startsWith("data.train: missing; expected a string"));
  }
}
