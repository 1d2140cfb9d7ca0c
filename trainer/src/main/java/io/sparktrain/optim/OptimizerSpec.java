package io.sparktrain.optim;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * An immutable optimizer configuration: kind and hyper-parameters, defaults stated once here (as
 * in PyTorch and Keras), validated in {@link Builder#build()}. Serializable, so the driver ships
 * it to executors, which {@link #create} fresh optimizers from it.
 */
public final class OptimizerSpec implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The optimizers of the core. */
  public enum Kind { SGD, ADAM, ADAMW, LAZY_ADAM }

  public static final double DEFAULT_ADAM_LR = 1e-3;
  public static final double DEFAULT_SGD_LR = 1e-2;
  public static final double DEFAULT_BETA1 = 0.9;
  public static final double DEFAULT_BETA2 = 0.999;
  public static final double DEFAULT_EPSILON = 1e-8;
  public static final double DEFAULT_ADAMW_WEIGHT_DECAY = 1e-2;

  private final Kind kind;
  private final double learningRate;
  private final double momentum;
  private final boolean nesterov;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final double clipNorm;
  private final LearningRateSchedule schedule;

  private OptimizerSpec(Builder b) {
    this.kind = b.kind;
    this.learningRate = b.learningRate;
    this.momentum = b.momentum;
    this.nesterov = b.nesterov;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.epsilon = b.epsilon;
    this.weightDecay = b.weightDecay;
    this.clipNorm = b.clipNorm;
    this.schedule = b.schedule;
  }

  public static Builder sgd() {
    return new Builder(Kind.SGD);
  }

  public static Builder adam() {
    return new Builder(Kind.ADAM);
  }

  public static Builder adamW() {
    return new Builder(Kind.ADAMW);
  }

  /** Adam that steps only the touched rows of a sparse first layer ({@link LazyAdam}). */
  public static Builder lazyAdam() {
    return new Builder(Kind.LAZY_ADAM);
  }

  /** A builder for {@code kind} by name: sgd, adam, adamw, lazy_adam. */
  public static Builder builder(String kind) {
    switch (kind.trim().toLowerCase(Locale.ROOT)) {
      case "sgd": return sgd();
      case "adam": return adam();
      case "adamw": return adamW();
      case "lazy_adam": return lazyAdam();
      default:
        throw new IllegalArgumentException("optimizer '" + kind + "': expected one of sgd, adam, adamw, lazy_adam");
    }
  }

  /** A fresh optimizer (zero state) for vectors of {@code size} parameters. */
  public Optimizer create(int size) {
    switch (kind) {
      case SGD: return new Sgd(this, size);
      case ADAM: return new Adam(this, size);
      case ADAMW: return new AdamW(this, size);
      case LAZY_ADAM: return new LazyAdam(this, size);
      default: throw new AssertionError(kind);
    }
  }

  public Kind kind() { return kind; }
  public double learningRate() { return learningRate; }
  public double momentum() { return momentum; }
  public boolean nesterov() { return nesterov; }
  public double beta1() { return beta1; }
  public double beta2() { return beta2; }
  public double epsilon() { return epsilon; }
  public double weightDecay() { return weightDecay; }
  /** Global-norm clipping threshold; 0 = no clipping. */
  public double clipNorm() { return clipNorm; }
  public LearningRateSchedule schedule() { return schedule; }

  /** A builder initialised from this spec. */
  public Builder toBuilder() {
    Builder b = new Builder(kind);
    b.learningRate = learningRate;
    b.momentum = momentum;
    b.nesterov = nesterov;
    b.beta1 = beta1;
    b.beta2 = beta2;
    b.epsilon = epsilon;
    b.weightDecay = weightDecay;
    b.clipNorm = clipNorm;
    b.schedule = schedule;
    return b;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(kind.name().toLowerCase(Locale.ROOT)).append("(lr=").append(learningRate);
    if (kind == Kind.SGD) {
      sb.append(", momentum=").append(momentum).append(", nesterov=").append(nesterov);
    } else {
      sb.append(", beta1=").append(beta1).append(", beta2=").append(beta2).append(", eps=").append(epsilon);
    }
    if (weightDecay != 0) sb.append(", weight_decay=").append(weightDecay);
    if (clipNorm > 0) sb.append(", clip_norm=").append(clipNorm);
    return sb.append(", schedule=").append(schedule).append(')').toString();
  }

  /** Hyper-parameters with their defaults; {@link #build()} validates them. */
  public static final class Builder {
    private final Kind kind;
    private double learningRate;
    private double momentum = 0;
    private boolean nesterov = false;
    private double beta1 = DEFAULT_BETA1;
    private double beta2 = DEFAULT_BETA2;
    private double epsilon = DEFAULT_EPSILON;
    private double weightDecay;
    private double clipNorm = 0;
    private LearningRateSchedule schedule = LearningRateSchedule.constant();

    private Builder(Kind kind) {
      this.kind = kind;
      this.learningRate = kind == Kind.SGD ? DEFAULT_SGD_LR : DEFAULT_ADAM_LR;
      this.weightDecay = kind == Kind.ADAMW ? DEFAULT_ADAMW_WEIGHT_DECAY : 0;
    }

    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder momentum(double v) { momentum = v; return this; }
    public Builder nesterov(boolean v) { nesterov = v; return this; }
    public Builder beta1(double v) { beta1 = v; return this; }
    public Builder beta2(double v) { beta2 = v; return this; }
    public Builder epsilon(double v) { epsilon = v; return this; }
    /** SGD and Adam: L2 added to the gradient (coupled); AdamW: decoupled decay. */
    public Builder weightDecay(double v) { weightDecay = v; return this; }
    public Builder clipNorm(double v) { clipNorm = v; return this; }
    public Builder schedule(LearningRateSchedule v) { schedule = Objects.requireNonNull(v); return this; }

    public OptimizerSpec build() {
      String k = kind.name().toLowerCase(Locale.ROOT);
      require(learningRate > 0 && Double.isFinite(learningRate), k + ".learning_rate", "> 0", learningRate);
      require(momentum >= 0 && momentum < 1, k + ".momentum", "0 <= momentum < 1", momentum);
      require(!nesterov || momentum > 0, k + ".nesterov", "momentum > 0 with nesterov", momentum);
      require(beta1 >= 0 && beta1 < 1, k + ".beta1", "0 <= beta1 < 1", beta1);
      require(beta2 >= 0 && beta2 < 1, k + ".beta2", "0 <= beta2 < 1", beta2);
      require(epsilon > 0, k + ".epsilon", "> 0", epsilon);
      require(weightDecay >= 0, k + ".weight_decay", ">= 0", weightDecay);
      require(clipNorm >= 0, k + ".clip_norm", ">= 0 (0 = off)", clipNorm);
      return new OptimizerSpec(this);
    }

    private static void require(boolean ok, String key, String expected, double found) {
      if (!ok) {
        throw new IllegalArgumentException(key + ": expected " + expected + ", found " + found);
      }
    }
  }
}
