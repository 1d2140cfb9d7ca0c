package io.sparktrain.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Which columns of a DataFrame feed training, and what the labels mean.
 *
 * <p>Features: one column (an ml {@code Vector}, dense or sparse, or {@code array<float|double>}),
 * or a list of numeric columns. Label: a class index 0..K-1 of any numeric type
 * ({@link Task#CLASSIFICATION}), or a double target, or an array/Vector of targets
 * ({@link Task#REGRESSION}). Weight: an optional non-negative numeric column.
 * {@code numFeatures} and {@code numClasses} (or {@code numOutputs}) are inferred when 0.
 *
 * <p>Categorical columns ({@link CategoricalColumn}) feed embedding tables beside the numeric
 * features; with at least one, the numeric features may be left out ({@link #withFeatureColumns()}
 * with no names).
 *
 * <p>{@link #unlabeled()} reads the features alone (no label, no weight column): the unlabeled rows of
 * self-supervised pretraining.
 */
public final class InputSpec implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What the label column holds. */
  public enum Task { CLASSIFICATION, REGRESSION }

  private final List<String> featureCols;
  private final String labelCol;
  private final String weightCol;
  private final Task task;
  private final int numFeatures;
  private final int numClasses;
  private final List<CategoricalColumn> categorical;

  private InputSpec(List<String> featureCols, List<CategoricalColumn> categorical, String labelCol, String weightCol,
      Task task, int numFeatures, int numClasses) {
    if (featureCols.isEmpty() && categorical.isEmpty()) {
      throw new IllegalArgumentException("features: expected a column name or a list of columns (or categorical"
          + " columns), found none");
    }
    this.categorical = List.copyOf(categorical);
    this.featureCols = List.copyOf(featureCols);
    this.labelCol = labelCol; // null: unlabeled()
    this.weightCol = weightCol == null || weightCol.isEmpty() ? null : weightCol;
    this.task = task;
    this.numFeatures = numFeatures;
    this.numClasses = numClasses;
  }

  /** Class labels from {@code labelCol}, features from one Vector/array column. */
  public static InputSpec classification(String featuresCol, String labelCol) {
    return new InputSpec(List.of(featuresCol), List.of(), Objects.requireNonNull(labelCol, "labelCol"), null,
        Task.CLASSIFICATION, 0, 0);
  }

  /** Regression targets from {@code labelCol}, features from one Vector/array column. */
  public static InputSpec regression(String featuresCol, String labelCol) {
    return new InputSpec(List.of(featuresCol), List.of(), Objects.requireNonNull(labelCol, "labelCol"), null,
        Task.REGRESSION, 0, 0);
  }

  /** Features from several numeric columns instead of one vector column. */
  public InputSpec withFeatureColumns(String... cols) {
    return new InputSpec(Arrays.asList(cols), categorical, labelCol, weightCol, task, numFeatures, numClasses);
  }

  /** Categorical columns, each into its own embedding table, in this order. */
  public InputSpec withCategorical(List<CategoricalColumn> cols) {
    return new InputSpec(featureCols, cols, labelCol, weightCol, task, numFeatures, numClasses);
  }

  public InputSpec withWeightCol(String col) {
    return new InputSpec(featureCols, categorical, labelCol, col, task, numFeatures, numClasses);
  }

  /**
   * The same features without the label and weight columns: decoding then reads neither (the data
   * need not have them) and gives blocks of label width 0, for pretraining on unlabeled rows.
   */
  public InputSpec unlabeled() {
    return new InputSpec(featureCols, categorical, null, null, task, numFeatures, 0);
  }

  /** Whether a label column is read (false after {@link #unlabeled()}). */
  public boolean labeled() { return labelCol != null; }

  /** Expected feature count (checked against the data); 0 = infer. */
  public InputSpec withNumFeatures(int n) {
    return new InputSpec(featureCols, categorical, labelCol, weightCol, task, n, numClasses);
  }

  /** Expected class count (labels must lie in 0..n-1); 0 = infer from the largest label. */
  public InputSpec withNumClasses(int n) {
    return new InputSpec(featureCols, categorical, labelCol, weightCol, task, numFeatures, n);
  }

  public List<String> featureCols() { return featureCols; }
  /** The categorical columns (empty when none). */
  public List<CategoricalColumn> categorical() { return categorical; }
  /** True when features come from one Vector/array column. */
  public boolean vectorFeatures() { return featureCols.size() == 1; }
  /** The label column, or null when {@link #unlabeled()}. */
  public String labelCol() { return labelCol; }
  /** The weight column or null. */
  public String weightCol() { return weightCol; }
  public Task task() { return task; }
  public int numFeatures() { return numFeatures; }
  public int numClasses() { return numClasses; }

  @Override
  public String toString() {
    return "InputSpec(features=" + featureCols + (categorical.isEmpty() ? "" : ", categorical=" + categorical)
        + ", label=" + labelCol + ", weight=" + weightCol + ", task="
        + task + ", numFeatures=" + numFeatures + ", numClasses=" + numClasses + ")";
  }
}
