package io.sparktrain.driver.config;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The experiment grid's named settings, parsed from their config spelling: an algorithm preset
 * ({@code fedavg}, {@code fedprox(0.01)}, {@code fedyogi(0.01)}, ...) and a silo setting
 * ({@code iid}, {@code dirichlet(0.1)}, {@code shards(2)}, {@code synthetic(1, 1)}, ...).
 */
public final class Presets {
  private static final Pattern CALL = Pattern.compile("\\s*([a-z_]+)\\s*(?:\\(([^)]*)\\))?\\s*");
  private static final List<String> ALGORITHMS = List.of("fedsgd", "fedavg", "fedprox", "fedavgm", "fedadagrad",
      "fedadam", "fedyogi", "federated");

  private Presets() {
  }

  /** An algorithm preset: its name and its numeric parameter (NaN when it has none). */
  public record Algorithm(String name, double arg) {
    public boolean hasArg() {
      return !Double.isNaN(arg);
    }
  }

  /** A silo setting: its source and parameters (none, one or two numbers). */
  public record Silos(String source, double[] args) { }

  /** {@code name} or {@code name(1, 2.5)}. */
  private record Call(String name, double[] args) { }

  /** The preset {@code s} names, or null when it is not one. */
  public static Algorithm algorithm(String s) {
    Call c = call(s);
    if (c == null || !ALGORITHMS.contains(c.name()) || c.args().length > 1) {
      return null;
    }
    if (c.args().length == 1) {
      double a = c.args()[0];
      if (List.of("fedsgd", "fedavg", "federated").contains(c.name()) || a < 0
          || (!c.name().equals("fedprox") && a == 0)) {
        return null;
      }
    }
    return new Algorithm(c.name(), c.args().length == 0 ? Double.NaN : c.args()[0]);
  }

  /** The silo setting {@code s} names, or null when it is not one. */
  public static Silos silos(String s) {
    Call c = call(s);
    if (c == null) {
      return null;
    }
    double[] a = c.args();
    boolean ok = switch (c.name()) {
      case "iid", "partitions", "paths", "column" -> a.length == 0;
      case "dirichlet", "quantity" -> a.length <= 1 && (a.length == 0 || a[0] > 0);
      case "shards" -> a.length <= 1 && (a.length == 0 || (a[0] >= 1 && a[0] == Math.rint(a[0])));
      case "synthetic" -> a.length == 0 || (a.length == 2 && a[0] >= 0 && a[1] >= 0);
      default -> false;
    };
    return ok ? new Silos(c.name(), a) : null;
  }

  private static Call call(String s) {
    Matcher m = CALL.matcher(s.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return null;
    }
    double[] args = new double[0];
    if (m.group(2) != null) {
      String[] parts = m.group(2).split(",");
      args = new double[parts.length];
      try {
        for (int i = 0; i < parts.length; i++) args[i] = Double.parseDouble(parts[i].trim());
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return new Call(m.group(1), args);
  }
}
