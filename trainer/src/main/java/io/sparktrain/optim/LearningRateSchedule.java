package io.sparktrain.optim;

import java.io.Serializable;
import java.util.Locale;

/**
 * The learning rate as a function of the step index t = 0, 1, 2, ... (the number of steps taken
 * before this one): {@code rate(t) = baseRate * factor(t)}.
 *
 * <ul>
 *   <li>constant: factor 1;
 *   <li>step(every, gamma): gamma^floor(t / every) (PyTorch StepLR);
 *   <li>exponential(gamma): gamma^t (PyTorch ExponentialLR);
 *   <li>cosine(warmup, total, minFactor): linear warm-up from 1/warmup to 1 over the first
 *       {@code warmup} steps, then cosine decay from 1 to {@code minFactor} at step {@code total},
 *       constant after.
 * </ul>
 */
public final class LearningRateSchedule implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The kinds of schedule. */
  public enum Kind { CONSTANT, STEP, EXPONENTIAL, COSINE }

  private final Kind kind;
  private final long every;
  private final double gamma;
  private final long warmup;
  private final long total;
  private final double minFactor;

  private LearningRateSchedule(Kind kind, long every, double gamma, long warmup, long total, double minFactor) {
    this.kind = kind;
    this.every = every;
    this.gamma = gamma;
    this.warmup = warmup;
    this.total = total;
    this.minFactor = minFactor;
  }

  public static LearningRateSchedule constant() {
    return new LearningRateSchedule(Kind.CONSTANT, 0, 1, 0, 0, 0);
  }

  /** Multiplies the rate by {@code gamma} every {@code every} steps. */
  public static LearningRateSchedule step(long every, double gamma) {
    if (every <= 0) {
      throw new IllegalArgumentException("schedule step: expected every > 0, found " + every);
    }
    checkGamma(gamma);
    return new LearningRateSchedule(Kind.STEP, every, gamma, 0, 0, 0);
  }

  /** Multiplies the rate by {@code gamma} every step. */
  public static LearningRateSchedule exponential(double gamma) {
    checkGamma(gamma);
    return new LearningRateSchedule(Kind.EXPONENTIAL, 1, gamma, 0, 0, 0);
  }

  /** Linear warm-up for {@code warmup} steps, then cosine decay to {@code minFactor} at {@code total}. */
  public static LearningRateSchedule cosine(long warmup, long total, double minFactor) {
    if (warmup < 0 || total <= warmup) {
      throw new IllegalArgumentException("schedule cosine: expected 0 <= warmup < total, found warmup="
          + warmup + " total=" + total);
    }
    if (!(minFactor >= 0 && minFactor <= 1)) {
      throw new IllegalArgumentException("schedule cosine: expected 0 <= min_factor <= 1, found " + minFactor);
    }
    return new LearningRateSchedule(Kind.COSINE, 0, 1, warmup, total, minFactor);
  }

  private static void checkGamma(double gamma) {
    if (!(gamma > 0 && gamma <= 1)) {
      throw new IllegalArgumentException("schedule gamma: expected 0 < gamma <= 1, found " + gamma);
    }
  }

  /** The factor applied to the base rate at step index {@code t}. */
  public double factor(long t) {
    switch (kind) {
      case CONSTANT:
        return 1;
      case STEP:
        return Math.pow(gamma, t / every);
      case EXPONENTIAL:
        return Math.pow(gamma, t);
      case COSINE:
        if (t < warmup) {
          return (t + 1.0) / warmup;
        }
        if (t >= total) {
          return minFactor;
        }
        double progress = (double) (t - warmup) / (total - warmup);
        return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
      default:
        throw new AssertionError(kind);
    }
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public String toString() {
    switch (kind) {
      case STEP: return "step(every=" + every + ", gamma=" + gamma + ")";
      case EXPONENTIAL: return "exponential(gamma=" + gamma + ")";
      case COSINE: return "cosine(warmup=" + warmup + ", total=" + total + ", min_factor=" + minFactor + ")";
      default: return kind.name().toLowerCase(Locale.ROOT);
    }
  }
}
