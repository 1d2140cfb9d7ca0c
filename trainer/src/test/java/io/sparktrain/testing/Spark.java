package io.sparktrain.testing;

import org.apache.spark.sql.SparkSession;

/** A real local SparkSession for tests: bound to 127.0.0.1, UI off, few shuffle partitions. */
public final class Spark {
  private Spark() {
  }

  /** A session on {@code master} (e.g. local[2], or local[2,4] to allow task retries). */
  public static SparkSession session(String master, String app) {
    return builder(master, app).getOrCreate();
  }

  /** A session as {@link #session}, with Spark's KryoSerializer, as conf/spark-defaults.conf sets it. */
  public static SparkSession kryoSession(String master, String app) {
    return builder(master, app).config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .getOrCreate();
  }

  private static SparkSession.Builder builder(String master, String app) {
    return SparkSession.builder()
        .master(master)
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2");
  }
}
