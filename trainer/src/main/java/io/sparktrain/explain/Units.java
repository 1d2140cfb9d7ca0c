package io.sparktrain.explain;

import io.sparktrain.data.InvalidInputException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What results are reported for: every feature on its own, or named groups of features (a group's
 * attribution for a row is the sum of its features' attributions; permutation shuffles a group's
 * features together, with the same row order).
 */
final class Units implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String[] names;
  private final int[][] members;
  private final boolean perFeature;

  private Units(String[] names, int[][] members, boolean perFeature) {
    this.names = names;
    this.members = members;
    this.perFeature = perFeature;
  }

  /** One unit per feature (named by {@code featureNames}), or the groups when there are any. */
  static Units of(List<String> featureNames, Map<String, int[]> groups) {
    int d = featureNames.size();
    if (groups.isEmpty()) {
      int[][] m = new int[d][];
      for (int j = 0; j < d; j++) m[j] = new int[] {j};
      return new Units(featureNames.toArray(new String[0]), m, true);
    }
    List<String> names = new ArrayList<>();
    List<int[]> members = new ArrayList<>();
    for (Map.Entry<String, int[]> g : groups.entrySet()) {
      int[] f = g.getValue().clone();
      Arrays.sort(f);
      for (int i = 0; i < f.length; i++) {
        if (f[i] < 0 || f[i] >= d) {
          throw new InvalidInputException("group '" + g.getKey() + "': expected feature indices in 0.." + (d - 1)
              + " (the model's " + d + " features), found " + f[i]);
        }
        if (i > 0 && f[i] == f[i - 1]) {
          throw new InvalidInputException("group '" + g.getKey() + "': feature " + f[i] + " listed twice");
        }
      }
      names.add(g.getKey());
      members.add(f);
    }
    return new Units(names.toArray(new String[0]), members.toArray(new int[0][]), false);
  }

  int size() {
    return names.length;
  }

  String name(int u) {
    return names[u];
  }

  /** The features of unit {@code u}, ascending; shared, do not modify. */
  int[] members(int u) {
    return members[u];
  }

  /** Whether every unit is one feature (unit u = feature u). */
  boolean perFeature() {
    return perFeature;
  }

  /** The sum of {@code v[base + j]} over the features j of each unit, into {@code out[0, size())}. */
  void sum(double[] v, int base, double[] out) {
    for (int u = 0; u < members.length; u++) {
      double s = 0;
      for (int j : members[u]) s += v[base + j];
      out[u] = s;
    }
  }
}
