package io.sparktrain.driver.config;

import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.nn.Embedding;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.Pretraining;
import io.sparktrain.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A validated job config: the YAML file plus {@code --set key.path=value} overrides, checked against
 * {@link ConfigSchema} with defaults filled in. Every value has the type of its key (integers as
 * Integer or Long, numbers as Double, lists as List, maps as Map of strings), so the typed getters
 * cannot fail on a config that was built. Errors are {@link ConfigException}s naming the key path.
 */
public final class JobConfig {
  private final Map<String, Object> tree;

  private JobConfig(Map<String, Object> tree) {
    this.tree = tree;
  }

  // ---------------------------------------------------------------- loading

  /** Reads {@code file} (a local path), applies the overrides and validates. */
  public static JobConfig load(Path file, List<String> overrides) {
    return fromMap(ConfigLoader.read(file, overrides));
  }

  /** Parses YAML {@code text} (named {@code source} in messages), applies the overrides and validates. */
  public static JobConfig parse(String text, String source, List<String> overrides) {
    return fromMap(ConfigLoader.parse(text, source, overrides));
  }

  /** Validates an already-parsed config (nested maps, lists and scalars). */
  public static JobConfig fromMap(Map<String, Object> raw) {
    JobConfig cfg = new JobConfig(Collections.unmodifiableMap(ConfigValidator.validate(raw)));
    cfg.trainConfig(); // what the library checks on top of the schema
    cfg.federatedConfig();
    if (cfg.isFederated()) {
      cfg.federatedTrainConfig();
    }
    return cfg;
  }

  // ---------------------------------------------------------------- access

  /** The whole resolved config as nested maps (unmodifiable at the top), e.g. for summary.json. */
  public Map<String, Object> asMap() {
    return tree;
  }

  /** The value at a dotted key path (null for null values); an exception for a path not in the schema. */
  public Object get(String path) {
    if (ConfigSchema.find(path) == null) {
      throw new IllegalArgumentException(path + ": not a config key");
    }
    return ConfigValidator.at(tree, path);
  }

  public boolean isNull(String path) {
    return get(path) == null;
  }

  public String string(String path) {
    return (String) get(path);
  }

  public int integer(String path) {
    return (Integer) get(path);
  }

  public long longValue(String path) {
    return (Long) get(path);
  }

  public double number(String path) {
    return (Double) get(path);
  }

  public boolean bool(String path) {
    return (Boolean) get(path);
  }

  @SuppressWarnings("unchecked")
  public List<Integer> intList(String path) {
    return (List<Integer>) get(path);
  }

  @SuppressWarnings("unchecked")
  public List<String> strings(String path) {
    return (List<String>) get(path);
  }

  @SuppressWarnings("unchecked")
  public Map<String, String> map(String path) {
    return (Map<String, String>) get(path);
  }

  public String name() {
    return string("name");
  }

  /** output.dir, or runs/&lt;name&gt; when null. */
  public String outputDir() {
    String d = string("output.dir");
    return d != null ? d : "runs/" + name();
  }

  /** training.mode federated: train with the federated and silos sections. */
  public boolean isFederated() {
    return "federated".equals(string("training.mode"));
  }

  /** The numeric feature columns of data.features (empty when only categorical columns are given). */
  @SuppressWarnings("unchecked")
  public List<String> numericFeatures() {
    Object v = get("data.features");
    return v instanceof Map ? (List<String>) ((Map<String, Object>) v).get("numeric") : (List<String>) v;
  }

  /** The categorical columns of data.features (empty unless given in its map form). */
  @SuppressWarnings("unchecked")
  public List<CategoricalColumn> categoricalFeatures() {
    Object v = get("data.features");
    List<CategoricalColumn> out = new ArrayList<>();
    if (v instanceof Map) {
      for (Map<String, Object> c : (List<Map<String, Object>>) ((Map<String, Object>) v).get("categorical")) {
        out.add(new CategoricalColumn((String) c.get("column"), (Integer) c.get("buckets"), (Integer) c.get("dim"),
            Embedding.Combiner.parse((String) c.get("combiner"))));
      }
    }
    return out;
  }

  public boolean isClassification() {
    return "classification".equals(string("model.task"));
  }

  /** The activation of the hidden layers. */
  public Activation activation() {
    return ConfigMapper.activation(this);
  }

  /** The loss of the output layer: model.loss, with auto resolved for the task. */
  public Loss loss() {
    return ConfigMapper.loss(this);
  }

  /** The optimizer at {@code path} (training.optimizer or training.local_optimizer). */
  public OptimizerSpec optimizer(String path) {
    return ConfigMapper.optimizer(this, path);
  }

  /** The trainer's configuration from the training and checkpoint sections. */
  public TrainConfig trainConfig() {
    return ConfigMapper.trainConfig(this);
  }

  /** training.pretrain's settings, or null when it is null. */
  public Pretraining pretraining() {
    return ConfigMapper.pretraining(this);
  }

  /** A federated builder from the federated section and training.seed and training.l2. */
  public FederatedConfig.Builder federatedBuilder() {
    return ConfigMapper.federatedBuilder(this);
  }

  /** The federated configuration of a {@code train} run (the checkpoint and early-stopping sections too). */
  public FederatedConfig federatedTrainConfig() {
    return ConfigMapper.federatedTrainConfig(this);
  }

  /** The federated section as a validated FederatedConfig. */
  public FederatedConfig federatedConfig() {
    return ConfigMapper.federatedConfig(this);
  }

  @SuppressWarnings("unchecked")
  public List<Double> doubleList(String path) {
    return (List<Double>) get(path);
  }


  @Override
  public String toString() {
    return "JobConfig" + tree;
  }
}
