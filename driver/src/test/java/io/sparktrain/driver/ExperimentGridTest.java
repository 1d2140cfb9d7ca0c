package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.driver.config.JobConfig;
import io.sparktrain.federated.Compression;
import io.sparktrain.federated.ServerOptimizer;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The experiment grid from the shipped configs and from presets (no Spark). */
class ExperimentGridTest {
  private static Path conf(String name) {
    Path p = Path.of("conf", name);
    return p.toFile().exists() ? p : Path.of("..", "conf", name);
  }

  @Test
  void fashionMnistConfigIsThreeAlgorithmsByThreeSiloSettings() {
    JobConfig cfg = JobConfig.load(conf("fed-fashion-mnist.yaml"), List.of());
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    assertEquals(9, grid.size());
    ExperimentCommand.Setting sgd = grid.get(0);
    assertEquals("iid", sgd.silos);
    assertEquals("FedSGD", sgd.config.algorithmName());
    assertEquals(1, sgd.config.localEpochs());
    assertEquals(0, sgd.config.localBatch());
    assertEquals("FedAvg E=5 B=10 C=0.1", grid.get(1).row());
    assertEquals(ServerOptimizer.Kind.FEDYOGI, grid.get(2).config.server());
    assertEquals(0.01, grid.get(2).config.serverLr());
    assertEquals("FedYogi \u03b7=0.01 E=5 B=10 C=0.1", grid.get(2).row());
    assertEquals("shards(2)", grid.get(8).silos);
    assertEquals(100, cfg.integer("silos.count"));
  }

  @Test
  void syntheticConfigComparesFedProxMuZeroAndOne() {
    JobConfig cfg = JobConfig.load(conf("fed-synthetic.yaml"), List.of());
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    assertEquals(2, grid.size());
    assertEquals("synthetic(1,1)", grid.get(0).silos);
    assertEquals(0f, grid.get(0).config.proxMu());
    assertEquals("FedAvg", grid.get(0).config.algorithmName());
    assertEquals(1f, grid.get(1).config.proxMu());
    assertEquals("FedProx \u03bc=1 E=20 B=10 C=0.34", grid.get(1).row());
  }

  @Test
  void stragglerConfigIsFedAvgDropAgainstFedProxPartialAtThreeFractions() {
    JobConfig cfg = JobConfig.load(conf("fed-synthetic-stragglers.yaml"), List.of());
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    // 3 algorithms x 3 fractions, less FedProx mu 0 without stragglers (that is FedAvg, run once)
    assertEquals(8, grid.size());
    assertEquals("FedAvg E=20 B=10 C=0.34", grid.get(0).row());
    assertEquals("FedAvg E=20 B=10 C=0.34 stragglers=0.5 (drop)", grid.get(1).row());
    assertTrue(grid.get(1).config.dropsStragglers());
    assertEquals(0.5, grid.get(1).config.stragglers());
    assertEquals("FedAvg E=20 B=10 C=0.34 stragglers=0.9 (drop)", grid.get(2).row());
    assertEquals("FedProx \u03bc=0 E=20 B=10 C=0.34 stragglers=0.5 (partial)", grid.get(3).row());
    assertEquals(0f, grid.get(3).config.proxMu());
    assertTrue(!grid.get(3).config.dropsStragglers());
    assertEquals("FedProx \u03bc=1 E=20 B=10 C=0.34", grid.get(5).row());
    assertEquals("FedProx \u03bc=1 E=20 B=10 C=0.34 stragglers=0.9 (partial)", grid.get(7).row());
    assertEquals("partial", grid.get(7).stragglerPolicy);
    assertEquals("", grid.get(0).stragglerPolicy);
  }

  @Test
  void stragglerPoliciesAreAGridAxis() {
    JobConfig cfg = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of("experiment.algorithms=[fedavg, fedyogi]",
        "experiment.stragglers=[0, 0.9]", "experiment.straggler_policy=[drop, partial]"));
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    // per algorithm: stragglers 0 (the policy does not matter: once), 0.9 x {drop, partial}
    assertEquals(6, grid.size());
    assertEquals("FedAvg E=1 B=10 C=0.1", grid.get(0).row());
    assertEquals("FedAvg E=1 B=10 C=0.1 stragglers=0.9 (drop)", grid.get(1).row());
    assertEquals("FedProx \u03bc=0 E=1 B=10 C=0.1 stragglers=0.9 (partial)", grid.get(2).row());
    assertEquals("FedYogi \u03b7=0.01 E=1 B=10 C=0.1 stragglers=0.9 (partial)", grid.get(5).row());
    // without the axis the other presets follow federated.straggler_policy (auto: drop with mu 0)
    JobConfig auto = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of("experiment.algorithms=[fedyogi]",
        "federated.stragglers=0.5"));
    assertTrue(ExperimentCommand.grid(auto).get(0).config.dropsStragglers());
  }

  @Test
  void fedSgdCollapsesTheEAndBListsAndSeedsMultiply() {
    JobConfig cfg = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of("experiment.algorithms=[fedsgd, fedavg]",
        "experiment.local_epochs=[1, 5]", "experiment.local_batch=[0, 10]", "experiment.seeds=[1, 2]"));
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    // FedSGD: one per seed; FedAvg: 4 (E, B) x 2 seeds, less E=1 B=0, which is FedSGD and runs once
    assertEquals(2 + 6, grid.size());
    for (int i = 0; i < grid.size(); i++) assertEquals(i + 1, grid.get(i).id);
    assertTrue(grid.stream().filter(s -> s.config.algorithmName().equals("FedSGD")).count() == 2);
  }

  @Test
  void compressionIsAGridAxisAndBadCombinationsNameTheKey() {
    JobConfig cfg = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of("experiment.algorithms=[fedavg]",
        "experiment.compression=[none, int8, int8_error_feedback]"));
    List<ExperimentCommand.Setting> grid = ExperimentCommand.grid(cfg);
    assertEquals(3, grid.size());
    assertEquals("FedAvg E=1 B=10 C=0.1", grid.get(0).row());
    assertTrue(!grid.get(0).config.compress());
    assertEquals("FedAvg E=1 B=10 C=0.1 int8", grid.get(1).row());
    assertTrue(grid.get(1).config.compress() && !grid.get(1).config.errorFeedback());
    assertEquals("FedAvg E=1 B=10 C=0.1 int8+EF", grid.get(2).row());
    assertTrue(grid.get(2).config.compress() && grid.get(2).config.errorFeedback());
    // null (the default): the federated section's value.
    JobConfig one = JobConfig.parse("data: {train: x}\n", "t.yaml",
        List.of("federated.compression=int8_error_feedback"));
    assertTrue(ExperimentCommand.grid(one).get(0).config.errorFeedback());
    ConfigException bad = assertThrows(ConfigException.class, () -> JobConfig.parse("data: {train: x}\n", "t.yaml",
        List.of("experiment.compression=[int8, int9]")));
    assertEquals("experiment.compression: expected a list of none, int8, int4, int2, sign, topk(k) with 0 < k <= 1;"
        + " each but none optionally with the suffix _error_feedback or null, found [\"int8\", \"int9\"]",
        bad.getMessage());
    // The coarse methods, with and without error feedback.
    List<ExperimentCommand.Setting> coarse = ExperimentCommand.grid(JobConfig.parse("data: {train: x}\n", "t.yaml",
        List.of("experiment.algorithms=[fedavg]",
            "experiment.compression=[int4, int2_error_feedback, sign_error_feedback, \"topk(0.01)\","
            + " \"topk(0.01)_error_feedback\"]")));
    assertEquals(List.of("FedAvg E=1 B=10 C=0.1 int4", "FedAvg E=1 B=10 C=0.1 int2+EF", "FedAvg E=1 B=10 C=0.1 sign+EF",
        "FedAvg E=1 B=10 C=0.1 topk(0.01)", "FedAvg E=1 B=10 C=0.1 topk(0.01)+EF"),
        coarse.stream().map(ExperimentCommand.Setting::row).collect(Collectors.toList()));
    assertEquals(Compression.topK(0.01).withErrorFeedback(true), coarse.get(4).config.compression());
    assertEquals(Compression.quantized(4), coarse.get(0).config.compression());
    for (String v : new String[] {"topk(0)", "topk(2)", "int3", "sign_ef", "none_error_feedback"}) {
      ConfigException e = assertThrows(ConfigException.class, () -> JobConfig.parse("data: {train: x}\n",
          "t.yaml", List.of("federated.compression=" + v)));
      assertEquals("federated.compression: expected none, int8, int4, int2, sign, topk(k) with 0 < k <= 1; each but"
          + " none optionally with the suffix _error_feedback, found \"" + v + "\"", e.getMessage());
    }
    JobConfig secure = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of("federated.secure_aggregation=true",
        "experiment.compression=[none, int8_error_feedback]"));
    ConfigException both = assertThrows(ConfigException.class, () -> ExperimentCommand.grid(secure));
    assertEquals("experiment (federated, iid, int8_error_feedback): federated.compression: expected none with"
        + " secure_aggregation true (masked uploads are not compressed), found int8_error_feedback", both.getMessage());
  }

  @Test
  void perSiloTestRowsAndTheTrainingLossCurveAreConfigKeys() {
    JobConfig cfg = JobConfig.parse("data: {train: x}\nfederated: {eval_train_loss: true}\n"
        + "silos: {test_fraction: 0.2}\n", "t.yaml", List.of());
    assertTrue(cfg.federatedConfig().evalTrainLoss());
    assertEquals(0.2, cfg.number("silos.test_fraction"));
    JobConfig defaults = JobConfig.parse("data: {train: x}\n", "t.yaml", List.of());
    assertTrue(!defaults.federatedConfig().evalTrainLoss(), "off by default");
    // sparktrain train does not hold out per silo: a clear error before Spark starts.
    MainTest.Run run = MainTest.run("train", "--config", "/dev/null", "--set", "data.train=x", "--set",
        "silos.test_fraction=0.2");
    assertEquals(2, run.code, run.err + run.out);
    assertTrue(run.err.contains("silos.test_fraction: expected 0 for sparktrain train"), run.err);
    ConfigException bad = assertThrows(ConfigException.class,
        () -> JobConfig.parse("silos: {test_fraction: 1}\n", "t.yaml", List.of()));
    assertTrue(bad.getMessage().contains("silos.test_fraction"), bad.getMessage());
  }
}
