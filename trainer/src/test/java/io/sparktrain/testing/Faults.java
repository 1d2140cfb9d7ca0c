package io.sparktrain.testing;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counters that fault-injection hooks ({@code TaskHook}) bump from inside tasks. A hook travels to
 * its task serialized, so a counter it captured would be a copy; it captures a key instead and bumps
 * the counter here, which in local mode is the test's own JVM.
 */
public final class Faults {
  private static final Map<String, AtomicInteger> COUNTS = new ConcurrentHashMap<>();

  private Faults() {
  }

  /** A new counter at 0; its key is what a hook captures. */
  public static String counter() {
    String key = UUID.randomUUID().toString();
    COUNTS.put(key, new AtomicInteger());
    return key;
  }

  /** Adds one; returns the new count. */
  public static int increment(String key) {
    return COUNTS.get(key).incrementAndGet();
  }

  /** True for exactly one caller, the first (for hooks of tasks that run at the same time). */
  public static boolean first(String key) {
    return COUNTS.get(key).compareAndSet(0, 1);
  }

  public static int count(String key) {
    return COUNTS.get(key).get();
  }
}
