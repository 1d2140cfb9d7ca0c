/**
 * Spark ML integration: {@link io.sparktrain.ml.NeuralNetClassifier} and
 * {@link io.sparktrain.ml.NeuralNetRegressor} are {@code Estimator}s that train with
 * {@code io.sparktrain.train.Trainer}; they produce {@link io.sparktrain.ml.NeuralNetClassificationModel}
 * and {@link io.sparktrain.ml.NeuralNetRegressionModel}, which score partitions in chunks of up to
 * 1024 rows through BLAS.
 *
 * <p>Output columns: the classifier appends {@code rawPrediction} (Vector of logits),
 * {@code probability} (Vector, softmax) and {@code prediction} (double, argmax class). The
 * regressor appends {@code prediction}: a double for a numeric label (one output), a Vector for an
 * array/Vector label (multi-output).
 *
 * <p>All four classes are {@code MLWritable} with static {@code read()}/{@code load(path)}, so they
 * work in {@code Pipeline}/{@code PipelineModel} save and load, and with {@code CrossValidator}.
 * Estimators save DefaultParamsWriter metadata only; models add {@code data/network.bin}
 * (architecture and parameters). Training summaries ({@code model.summary()}) are not saved.
 *
 * <p>Params are declared once in {@link io.sparktrain.ml.NeuralNetParamSet} (validators and
 * defaults) and exposed through the accessor interfaces {@link io.sparktrain.ml.NeuralNetParams},
 * {@link io.sparktrain.ml.NeuralNetClassifierParams} and {@link io.sparktrain.ml.NeuralNetRegressorParams},
 * shared by estimators and models.
 */
package io.sparktrain.ml;
