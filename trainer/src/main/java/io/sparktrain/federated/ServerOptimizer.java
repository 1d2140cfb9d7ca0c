package io.sparktrain.federated;

import io.sparktrain.optim.OptimizerState;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * The server side of the FedAvg family: applies the round's mean client delta D (a
 * pseudo-gradient with the sign of a step) to the global model x.
 *
 * <ul>
 *   <li>FedAvg (McMahan et al. 2017): x += lr D (lr = 1 is plain averaging);
 *   <li>FedAvgM (Hsu et al. 2019): v = momentum v + D; x += lr v;
 *   <li>FedAdagrad, FedAdam, FedYogi (Reddi et al., "Adaptive Federated Optimization", ICLR 2021,
 *       Algorithm 2): m = b1 m + (1-b1) D; v = v + D^2 (Adagrad), b2 v + (1-b2) D^2 (Adam),
 *       v - (1-b2) D^2 sign(v - D^2) (Yogi); x += lr m / (sqrt(v) + tau). No bias correction, as
 *       in the paper; v starts at tau^2 for Yogi and Adagrad (and Adam), per the paper's setup.
 * </ul>
 * State (slots and step count) is explicit so that checkpoints restore it exactly.
 */
public final class ServerOptimizer implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The server rules. */
  public enum Kind { FEDAVG, FEDAVGM, FEDADAGRAD, FEDADAM, FEDYOGI }

  private final Kind kind;
  private final double lr;
  private final double momentum;
  private final double beta1;
  private final double beta2;
  private final double tau;
  private float[] m;
  private float[] v;
  private long steps;

  /** Defaults of Reddi et al.: beta1 0.9, beta2 0.99, tau 1e-3; FedAvgM momentum 0.9. */
  public ServerOptimizer(Kind kind, double lr, double momentum, double beta1, double beta2, double tau) {
    if (!(lr > 0)) {
      throw new IllegalArgumentException("federated.server_lr: expected > 0, found " + lr);
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("federated.server_momentum: expected 0 <= momentum < 1, found " + momentum);
    }
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("federated.beta1/beta2: expected values in [0, 1), found " + beta1 + ", "
          + beta2);
    }
    if (!(tau > 0)) {
      throw new IllegalArgumentException("federated.tau: expected > 0, found " + tau);
    }
    this.kind = kind;
    this.lr = lr;
    this.momentum = momentum;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.tau = tau;
  }

  /** Parses fedavg, fedavgm, fedadagrad, fedadam, fedyogi. */
  public static Kind kind(String name) {
    try {
      return Kind.valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("federated.server: expected one of fedavg, fedavgm, fedadagrad, fedadam,"
          + " fedyogi, found " + name);
    }
  }

  public Kind kindOf() {
    return kind;
  }

  /** x += the rule applied to the mean delta {@code d}. */
  public void apply(float[] x, float[] d) {
    steps++;
    switch (kind) {
      case FEDAVG:
        for (int i = 0; i < x.length; i++) x[i] += (float) lr * d[i];
        return;
      case FEDAVGM: {
        float[] vel = slot(0, x.length, 0f);
        float mu = (float) momentum;
        for (int i = 0; i < x.length; i++) {
          vel[i] = mu * vel[i] + d[i];
          x[i] += (float) lr * vel[i];
        }
        return;
      }
      default: {
        float[] mm = slot(0, x.length, 0f);
        float[] vv = slot(1, x.length, (float) (tau * tau));
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float t = (float) tau;
        for (int i = 0; i < x.length; i++) {
          float di = d[i];
          float d2 = di * di;
          mm[i] = b1 * mm[i] + (1 - b1) * di;
          if (kind == Kind.FEDADAGRAD) {
            vv[i] = vv[i] + d2;
          } else if (kind == Kind.FEDADAM) {
            vv[i] = b2 * vv[i] + (1 - b2) * d2;
          } else {
            vv[i] = vv[i] - (1 - b2) * d2 * Math.signum(vv[i] - d2);
          }
          x[i] += (float) lr * mm[i] / ((float) Math.sqrt(vv[i]) + t);
        }
      }
    }
  }

  private float[] slot(int i, int n, float init) {
    if (i == 0 && m == null) {
      m = new float[n];
      Arrays.fill(m, init);
    }
    if (i == 1 && v == null) {
      v = new float[n];
      Arrays.fill(v, init);
    }
    return i == 0 ? m : v;
  }

  /** A snapshot for checkpoints (deep copies of the slots that exist so far: momentum, or m and v). */
  public OptimizerState state() {
    int n = (m != null ? 1 : 0) + (v != null ? 1 : 0);
    float[][] s = new float[n][];
    if (m != null) s[0] = m;
    if (v != null) s[n - 1] = v;
    return new OptimizerState(steps, s);
  }

  /**
   * Continues from a {@link #state()} snapshot of an optimizer of the same kind: its slots (none,
   * the momentum, or the two moments, in the parameter layout) and step count.
   */
  public void restore(OptimizerState s) {
    int most = kind == Kind.FEDAVG ? 0 : kind == Kind.FEDAVGM ? 1 : 2;
    if (s.slotCount() > most) {
      throw new IllegalArgumentException("server optimizer state: expected at most " + most + " slot(s) for "
          + kind.name().toLowerCase(Locale.ROOT) + ", found " + s.slotCount());
    }
    if (s.slotCount() == 2 && s.slot(0).length != s.slot(1).length) {
      throw new IllegalArgumentException("server optimizer state: expected two slots of the same length, found "
          + s.slot(0).length + " and " + s.slot(1).length);
    }
    steps = s.steps();
    m = s.slotCount() > 0 ? s.slot(0) : null;
    v = s.slotCount() > 1 ? s.slot(1) : null;
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(Locale.ROOT) + "(lr=" + lr + (kind == Kind.FEDAVGM ? ", momentum=" + momentum : "")
        + (kind.ordinal() >= Kind.FEDADAGRAD.ordinal() ? ", beta1=" + beta1 + ", beta2=" + beta2 + ", tau=" + tau : "")
        + ")";
  }
}
