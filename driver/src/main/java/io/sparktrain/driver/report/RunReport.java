package io.sparktrain.driver.report;

import io.sparktrain.eval.ClassificationMetrics;
import io.sparktrain.eval.RegressionMetrics;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the HTML report ({@link HtmlReport}) shows about one train run. Immutable; the maps and
 * lists are unmodifiable views of copies.
 */
public final class RunReport {
  private final String name;
  private final String task;
  private final Map<String, Object> config;
  private final Map<String, Object> data;
  private final String blas;
  private final Map<String, Double> timings;
  private final List<Map<String, Object>> history;
  private final ClassificationMetrics classification;
  private final RegressionMetrics regression;
  private final List<String> classLabels;

  /**
   * @param name run name (config {@code name})
   * @param task "classification" or "regression"
   * @param config the full resolved job config (nested maps, lists, scalars), as in summary.json
   * @param data data sizes: train_rows, validation_rows, test_rows, num_features, num_classes or outputs
   * @param blas {@code Blas.get().describe()}
   * @param timings seconds: decode_s, train_s, validation_s, test_s, write_s, total_s
   * @param history {@code MetricsHistory.records()}: maps with "type" = "round" or "epoch"
   * @param classification test metrics of a classification run, or null
   * @param regression test metrics of a regression run, or null
   * @param classLabels class names by index; empty for regression
   */
  public RunReport(String name, String task, Map<String, Object> config, Map<String, Object> data, String blas,
      Map<String, Double> timings, List<Map<String, Object>> history, ClassificationMetrics classification,
      RegressionMetrics regression, List<String> classLabels) {
    this.name = name;
    this.task = task;
    this.config = Collections.unmodifiableMap(new LinkedHashMap<>(config == null ? Map.of() : config));
    this.data = Collections.unmodifiableMap(new LinkedHashMap<>(data == null ? Map.of() : data));
    this.blas = blas;
    this.timings = Collections.unmodifiableMap(new LinkedHashMap<>(timings == null ? Map.of() : timings));
    this.history = history == null ? List.of() : List.copyOf(history);
    this.classification = classification;
    this.regression = regression;
    this.classLabels = classLabels == null ? List.of() : List.copyOf(classLabels);
  }

  public String name() { return name; }
  public String task() { return task; }
  public Map<String, Object> config() { return config; }
  public Map<String, Object> data() { return data; }
  public String blas() { return blas; }
  public Map<String, Double> timings() { return timings; }
  public List<Map<String, Object>> history() { return history; }
  /** Test metrics of a classification run; null without test data or for regression. */
  public ClassificationMetrics classification() { return classification; }
  /** Test metrics of a regression run; null without test data or for classification. */
  public RegressionMetrics regression() { return regression; }
  public List<String> classLabels() { return classLabels; }
}
