/**
 * Serving without Spark: {@link io.sparktrain.serve.Predictor} scores rows with a saved model or an
 * ONNX file sparktrain exported in any JVM, with no Spark, Scala or Hadoop class on the classpath;
 * {@link io.sparktrain.serve.PredictCsv} is its command line. Nothing here may use those types,
 * directly or through the classes it loads (io.sparktrain.model, nn, linalg, eval.Predictions,
 * data.InputScaling, export.OnnxExport and the ONNX protobuf classes, for ONNX files only);
 * {@code PredictorTest} runs it in a JVM without them.
 */
package io.sparktrain.serve;
