package io.sparktrain.util;

import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Minimal JSON writing for metrics lines, summaries, metrics and checkpoint metadata (no parser).
 * Non-finite numbers are written as null, which JSON has instead of NaN.
 */
public final class Json {
  private Json() {
  }

  /** A JSON object of the map's entries, in the map's order. */
  public static String object(Map<String, ?> m) {
    StringBuilder sb = new StringBuilder("{");
    Iterator<? extends Map.Entry<String, ?>> it = m.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, ?> e = it.next();
      sb.append(string(e.getKey())).append(':').append(value(e.getValue()));
      if (it.hasNext()) {
        sb.append(',');
      }
    }
    return sb.append('}').toString();
  }

  /** A JSON value: null, number (non-finite as null), boolean, string, map, collection or array. */
  public static String value(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      return Double.isFinite(d) ? (d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) + ".0"
          : Double.toString(d)) : "null";
    }
    if (v instanceof Number || v instanceof Boolean) {
      return v.toString();
    }
    if (v instanceof Map) {
      @SuppressWarnings("unchecked")
      Map<String, ?> m = (Map<String, ?>) v;
      return object(m);
    }
    if (v instanceof Collection) {
      StringBuilder sb = new StringBuilder("[");
      Iterator<?> it = ((Collection<?>) v).iterator();
      while (it.hasNext()) {
        sb.append(value(it.next()));
        if (it.hasNext()) sb.append(',');
      }
      return sb.append(']').toString();
    }
    if (v instanceof double[]) {
      double[] a = (double[]) v;
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < a.length; i++) sb.append(i > 0 ? "," : "").append(value(a[i]));
      return sb.append(']').toString();
    }
    if (v instanceof long[]) {
      return Arrays.toString((long[]) v).replace(" ", "");
    }
    if (v instanceof double[][]) {
      StringBuilder sb = new StringBuilder("[");
      double[][] a = (double[][]) v;
      for (int i = 0; i < a.length; i++) sb.append(i > 0 ? "," : "").append(value(a[i]));
      return sb.append(']').toString();
    }
    return string(v.toString());
  }

  /** A JSON string literal. */
  public static String string(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }
}
