package io.sparktrain.train;

/** The one form of a config error: the key, what it expects, what it found. */
public final class ConfigChecks {
  private ConfigChecks() {
  }

  /** Throws {@code IllegalArgumentException("key: expected E, found F")} unless {@code ok}. */
  public static void require(boolean ok, String key, String expected, Object found) {
    if (!ok) {
      throw new IllegalArgumentException(key + ": expected " + expected + ", found " + found);
    }
  }
}
