/**
 * Evaluation metrics computed by aggregation over partitions.
 *
 * <p>{@link io.sparktrain.eval.ClassificationAccumulator} and
 * {@link io.sparktrain.eval.RegressionAccumulator} hold small, mergeable sufficient statistics
 * (a weighted confusion matrix, log-loss and score histograms; weighted sums per output); their
 * {@code result()} gives {@link io.sparktrain.eval.ClassificationMetrics} or
 * {@link io.sparktrain.eval.RegressionMetrics}. {@link io.sparktrain.eval.Predictions} turns a
 * network's outputs into class probabilities, and {@link io.sparktrain.eval.Evaluator} runs the
 * whole thing over a {@code JavaRDD<Block>} with a broadcast of the parameters and
 * {@code treeAggregate}. Definitions follow Spark ML's evaluators and sklearn; the class comments
 * say where they differ.
 */
package io.sparktrain.eval;
