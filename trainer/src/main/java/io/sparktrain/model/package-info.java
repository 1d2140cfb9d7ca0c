/**
 * The saved-model format without Spark: {@link io.sparktrain.model.NetworkFile} reads and writes the
 * bytes of {@code data/network.bin}. Nothing here may use a Spark, Scala or Hadoop type: the
 * Spark-free {@code io.sparktrain.serve.Predictor} loads models through it.
 */
package io.sparktrain.model;
