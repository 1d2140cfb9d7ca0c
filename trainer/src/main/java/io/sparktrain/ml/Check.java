package io.sparktrain.ml;

import java.io.Serializable;
import java.util.Arrays;
import scala.runtime.AbstractFunction1;

/**
 * A serializable param validator that, instead of returning false (which makes Spark say only
 * "given invalid value"), throws an {@link IllegalArgumentException} naming the owner, the param,
 * what was expected and what was found.
 */
final class Check<T> extends AbstractFunction1<T, Object> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A serializable predicate. */
  interface Test<T> extends Serializable {
    boolean ok(T value);
  }

  private final String owner;
  private final String param;
  private final String expected;
  private final Test<T> test;

  Check(String owner, String param, String expected, Test<T> test) {
    this.owner = owner;
    this.param = param;
    this.expected = expected;
    this.test = test;
  }

  @Override
  public Object apply(T value) {
    boolean ok;
    String detail = null;
    try {
      ok = value != null && test.ok(value);
    } catch (IllegalArgumentException e) {
      ok = false;
      detail = e.getMessage();
    }
    if (!ok) {
      throw new IllegalArgumentException(owner + " param '" + param + "': expected " + expected + ", found "
          + show(value) + (detail == null ? "" : " (" + detail + ")"));
    }
    return Boolean.TRUE;
  }

  static String show(Object v) {
    if (v instanceof int[]) {
      return Arrays.toString((int[]) v);
    }
    if (v instanceof String) {
      return "'" + v + "'";
    }
    return String.valueOf(v);
  }
}
