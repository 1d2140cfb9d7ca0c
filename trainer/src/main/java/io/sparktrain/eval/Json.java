package io.sparktrain.eval;

/** Minimal JSON writing for the metrics classes: numbers, arrays and matrices. */
final class Json {
  private Json() {
  }

  /** A JSON number; NaN and infinities, which JSON cannot represent, become {@code null}. */
  static String num(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return "null";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v) + ".0";
    }
    return Double.toString(v);
  }

  static void field(StringBuilder sb, String name, double v) {
    key(sb, name).append(num(v));
  }

  static void field(StringBuilder sb, String name, double[] v) {
    key(sb, name);
    array(sb, v);
  }

  static void field(StringBuilder sb, String name, double[][] m) {
    key(sb, name).append('[');
    for (int i = 0; i < m.length; i++) {
      if (i > 0) sb.append(',');
      array(sb, m[i]);
    }
    sb.append(']');
  }

  static StringBuilder key(StringBuilder sb, String name) {
    char last = sb.length() == 0 ? 0 : sb.charAt(sb.length() - 1);
    if (last != '{' && last != 0) {
      sb.append(',');
    }
    return sb.append('"').append(name).append("\":");
  }

  private static void array(StringBuilder sb, double[] v) {
    sb.append('[');
    for (int i = 0; i < v.length; i++) {
      if (i > 0) sb.append(',');
      sb.append(num(v[i]));
    }
    sb.append(']');
  }
}
