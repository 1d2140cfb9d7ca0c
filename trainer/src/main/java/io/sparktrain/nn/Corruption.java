package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The noise of a denoising autoencoder (Vincent et al. 2008): what is done to a row's features
 * before the network tries to reconstruct the clean row from them. Immutable; {@link #parse} reads
 * the forms configs use, {@code masking(p)} and {@code gaussian(s)}.
 *
 * <ul>
 *   <li>{@code masking(p)}: each value is set to 0 with probability p (kept as it is otherwise, not
 *       rescaled). On standardized features 0 is the feature's mean.
 *   <li>{@code gaussian(s)}: N(0, s^2) is added to each value.
 * </ul>
 * The draws come from a seed only ({@link #apply}), so a mini-batch corrupted twice with the same
 * seed is corrupted identically: a retried task computes the same update.
 */
public final class Corruption implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The kinds of noise. */
  public enum Kind { MASKING, GAUSSIAN }

  /** What {@link #parse} accepts, for messages. */
  public static final String FORMS = "masking(p) with 0 <= p < 1, or gaussian(s) with s >= 0";

  private final Kind kind;
  private final float level;

  private Corruption(Kind kind, float level) {
    this.kind = kind;
    this.level = level;
  }

  /** Masking noise: each value becomes 0 with probability {@code p} (0 <= p < 1). */
  public static Corruption masking(double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("masking noise: expected a probability 0 <= p < 1, found " + p);
    }
    return new Corruption(Kind.MASKING, (float) p);
  }

  /** Additive Gaussian noise of standard deviation {@code s} (s >= 0, finite). */
  public static Corruption gaussian(double s) {
    if (!(s >= 0 && Double.isFinite(s))) {
      throw new IllegalArgumentException("gaussian noise: expected a standard deviation s >= 0, found " + s);
    }
    return new Corruption(Kind.GAUSSIAN, (float) s);
  }

  /** Parses {@code masking(0.25)} or {@code gaussian(0.5)} (case-insensitive, spaces allowed). */
  public static Corruption parse(String text) {
    String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
    int open = s.indexOf('(');
    if (open > 0 && s.endsWith(")")) {
      String name = s.substring(0, open);
      double v;
      try {
        v = Double.parseDouble(s.substring(open + 1, s.length() - 1));
      } catch (NumberFormatException e) {
        v = Double.NaN;
      }
      if (name.equals("masking") && v >= 0 && v < 1) {
        return masking(v);
      }
      if (name.equals("gaussian") && v >= 0 && Double.isFinite(v)) {
        return gaussian(v);
      }
    }
    throw new IllegalArgumentException("noise: expected " + FORMS + ", found '" + text + "'");
  }

  public Kind kind() { return kind; }
  /** p of masking, s of gaussian. */
  public float level() { return level; }

  /** Corrupts {@code x[0, n)} in place with draws from {@code seed} alone. */
  public void apply(float[] x, int n, long seed) {
    if (level == 0f) {
      return;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    if (kind == Kind.MASKING) {
      for (int i = 0; i < n; i++) {
        if (rnd.nextFloat() < level) {
          x[i] = 0f;
        }
      }
    } else {
      for (int i = 0; i < n; i++) x[i] += (float) (level * rnd.nextGaussian());
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Corruption && ((Corruption) o).kind == kind && ((Corruption) o).level == level;
  }

  @Override
  public int hashCode() {
    return kind.hashCode() * 31 + Float.hashCode(level);
  }

  /** The form {@link #parse} reads: {@code masking(0.25)}. */
  @Override
  public String toString() {
    return kind.name().toLowerCase(Locale.ROOT) + "(" + level + ")";
  }
}
