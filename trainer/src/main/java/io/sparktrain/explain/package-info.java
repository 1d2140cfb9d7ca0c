/**
 * Feature attributions of a trained network over a whole DataFrame, computed per partition on the
 * cached blocks and merged with a tree aggregation: permutation importance, integrated gradients and
 * gradient x input.
 *
 * <p>Start at {@link io.sparktrain.explain.Explainer} (or {@code NeuralNetModel.explain(dataset,
 * options)}), configure with {@link io.sparktrain.explain.ExplainOptions}, read the
 * {@link io.sparktrain.explain.Explanation}. The per-partition work ({@code GradientAttribution},
 * {@code PermutationImportance}) is plain Java over a block's arrays with the network's own forward
 * and backward passes ({@code Network.inputGradient}).
 */
package io.sparktrain.explain;
