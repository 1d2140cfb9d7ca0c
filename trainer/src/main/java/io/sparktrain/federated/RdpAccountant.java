package io.sparktrain.federated;

/**
 * Rényi-DP accountant for the Sampled Gaussian Mechanism: each round samples every silo
 * independently with probability {@code q} (Poisson sampling), sums the clipped updates (L2
 * sensitivity S) and adds N(0, (z S)^2) noise. The accountant tracks the RDP of all rounds at a
 * fixed list of orders alpha and converts it to (epsilon, delta)-DP on request.
 *
 * <p>Per order, one round costs:
 * <ul>
 *   <li>q = 1 (no sampling): alpha / (2 z^2), the RDP of the Gaussian mechanism (Mironov 2017,
 *       "Rényi Differential Privacy", IEEE CSF 2017);
 *   <li>0 &lt; q &lt; 1: log(A_alpha) / (alpha - 1), with A_alpha from Mironov, Talwar, Zhang 2019,
 *       "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (arXiv:1908.10530, Sec. 3.3):
 *       the binomial series for integer alpha and the two-sided series with erfc terms for
 *       fractional alpha, summed in log space. This is the computation of TensorFlow Privacy's
 *       {@code compute_rdp} and Opacus' {@code opacus/accountants/analysis/rdp.py}
 *       ({@code _compute_log_a_for_int_alpha}, {@code _compute_log_a_for_frac_alpha}), including
 *       its stopping rule (the fractional series stops once both terms fall below e^-30).
 * </ul>
 * RDP composes additively over rounds. The conversion to (epsilon, delta) minimises over the orders
 * either
 * <ul>
 *   <li>{@link Conversion#BALLE_2020} (the default, as Opacus' {@code get_privacy_spent}): Balle,
 *       Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis Testing Interpretations and Rényi Differential
 *       Privacy", AISTATS 2020, Theorem 21 of arXiv:1905.09982: eps = rdp + log((alpha-1)/alpha)
 *       - (log delta + log alpha) / (alpha - 1); or
 *   <li>{@link Conversion#CLASSIC} (Mironov 2017, Prop. 3; TF Privacy before 2020 and its published
 *       tutorial numbers): eps = rdp - log(delta) / (alpha - 1).
 * </ul>
 * Both are valid upper bounds; Balle et al.'s is never larger. Negative values (only possible for
 * delta close to 1) are reported as 0.
 *
 * <p>Not thread-safe. Cost per {@link #step} with a new (q, z): a few thousand log/exp per
 * fractional order; a repeated (q, z) reuses the previous per-round values.
 */
public final class RdpAccountant {
  private static final double[] TF_PRIVACY_ORDERS = buildTfPrivacyOrders();
  private static final double[] OPACUS_ORDERS = buildOpacusOrders();

  /** How RDP is turned into (epsilon, delta)-DP. */
  public enum Conversion {
    /** eps = rdp - log(delta) / (alpha - 1) (Mironov 2017, Prop. 3). */
    CLASSIC,
    /** Balle et al. 2020, Thm. 21, as Opacus' {@code get_privacy_spent}. */
    BALLE_2020
  }

  /** An epsilon and the order that attains it. */
  public record PrivacySpent(double epsilon, double order) {
  }

  private final double[] orders;
  private final double[] rdp;
  private double lastQ = Double.NaN;
  private double lastZ = Double.NaN;
  private double[] lastRdp;

  /** An accountant over {@link #tfPrivacyOrders()}. */
  public RdpAccountant() {
    this(TF_PRIVACY_ORDERS);
  }

  /**
   * TF Privacy's orders ({@code compute_dp_sgd_privacy_lib}): 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3,
   * 3.5, 4, 4.5, 5 .. 63, 128, 256, 512 (a copy). The default.
   */
  public static double[] tfPrivacyOrders() {
    return TF_PRIVACY_ORDERS.clone();
  }

  /** Opacus' {@code RDPAccountant.DEFAULT_ALPHAS}: 1.1, 1.2, .., 10.9, then 12 .. 63 (a copy). */
  public static double[] opacusOrders() {
    return OPACUS_ORDERS.clone();
  }

  /** An accountant over the given orders (each &gt; 1, finite). */
  public RdpAccountant(double... orders) {
    if (orders.length == 0) {
      throw new IllegalArgumentException("RDP orders: expected at least one, found none");
    }
    for (int k = 0; k < orders.length; k++) {
      if (!(orders[k] > 1) || Double.isInfinite(orders[k])) {
        throw new IllegalArgumentException("RDP order " + k + ": expected a finite value > 1, found " + orders[k]);
      }
    }
    this.orders = orders.clone();
    this.rdp = new double[orders.length];
  }

  /**
   * Accounts for {@code steps} rounds with sampling rate {@code q} and noise multiplier {@code z}
   * (noise standard deviation / L2 sensitivity). z = 0 with q &gt; 0 makes epsilon infinite.
   */
  public RdpAccountant step(double q, double z, int steps) {
    if (!(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("sampling rate q: expected in [0, 1], found " + q);
    }
    if (!(z >= 0) || Double.isInfinite(z)) {
      throw new IllegalArgumentException("noise multiplier z: expected finite and >= 0, found " + z);
    }
    if (steps < 0) {
      throw new IllegalArgumentException("steps: expected >= 0, found " + steps);
    }
    if (steps == 0) {
      return this;
    }
    if (q != lastQ || z != lastZ) {
      lastRdp = new double[orders.length];
      for (int k = 0; k < orders.length; k++) lastRdp[k] = rdp(q, z, orders[k]);
      lastQ = q;
      lastZ = z;
    }
    for (int k = 0; k < orders.length; k++) rdp[k] += steps * lastRdp[k];
    return this;
  }

  /** Epsilon at {@code delta} with the {@link Conversion#BALLE_2020} conversion. */
  public double epsilon(double delta) {
    return privacySpent(delta, Conversion.BALLE_2020).epsilon();
  }

  /** The order attaining {@link #epsilon(double)} at {@code delta}. */
  public double bestOrder(double delta) {
    return privacySpent(delta, Conversion.BALLE_2020).order();
  }

  /**
   * The smallest epsilon over the orders at {@code delta} and its order; epsilon is infinite (order
   * NaN) when every order's RDP is.
   */
  public PrivacySpent privacySpent(double delta, Conversion conversion) {
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("delta: expected in (0, 1), found " + delta);
    }
    double best = Double.POSITIVE_INFINITY;
    double bestOrder = Double.NaN;
    double logDelta = Math.log(delta);
    for (int k = 0; k < orders.length; k++) {
      double a = orders[k];
      double eps = conversion == Conversion.CLASSIC
          ? rdp[k] - logDelta / (a - 1)
          : rdp[k] - (logDelta + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
      if (eps < best) {
        best = eps;
        bestOrder = a;
      }
    }
    return new PrivacySpent(Math.max(0, best), bestOrder);
  }

  /** The accumulated RDP per order (a copy), in the order of {@link #orders()}. */
  public double[] rdp() {
    return rdp.clone();
  }

  /** The orders (a copy). */
  public double[] orders() {
    return orders.clone();
  }

  /**
   * Replaces the accumulated RDP with {@code accumulated} (as {@link #rdp()} returned it, for
   * example from a checkpoint), so that epsilon continues where an earlier run stopped.
   */
  public RdpAccountant restore(double[] accumulated) {
    if (accumulated.length != orders.length) {
      throw new IllegalArgumentException("accumulated RDP: expected one value per order (" + orders.length
          + "), found " + accumulated.length);
    }
    for (int k = 0; k < accumulated.length; k++) {
      if (!(accumulated[k] >= 0)) {
        throw new IllegalArgumentException("accumulated RDP at order " + orders[k] + ": expected >= 0, found "
            + accumulated[k]);
      }
    }
    System.arraycopy(accumulated, 0, rdp, 0, rdp.length);
    return this;
  }

  // ----------------------------------------------------------------------------------------------
  // One round of the Sampled Gaussian Mechanism.

  /** RDP of one round at order {@code alpha}: 0 for q = 0, infinite for z = 0, else as above. */
  static double rdp(double q, double z, double alpha) {
    if (q == 0) {
      return 0;
    }
    if (z == 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (q == 1) {
      return alpha / (2 * z * z);
    }
    double logA = alpha == Math.rint(alpha) && alpha < Integer.MAX_VALUE
        ? logAInt(q, z, (int) alpha) : logAFrac(q, z, alpha);
    return logA / (alpha - 1);
  }

  /** log A_alpha = log sum_i C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 z^2)). */
  static double logAInt(double q, double z, int alpha) {
    double logQ = Math.log(q);
    double log1mQ = Math.log1p(-q);
    double twoZ2 = 2 * z * z;
    double acc = Double.NEGATIVE_INFINITY;
    double logBinom = 0; // log C(alpha, i), updated incrementally
    for (int i = 0; i <= alpha; i++) {
      if (i > 0) {
        logBinom += Math.log((double) (alpha - i + 1) / i);
      }
      double term = logBinom + i * logQ + (alpha - i) * log1mQ + ((double) i * i - i) / twoZ2;
      acc = logAdd(acc, term);
    }
    return acc;
  }

  /**
   * log A_alpha for fractional alpha: the two halves of the integral, split at
   * z0 = z^2 log(1/q - 1) + 1/2, each a series over i with generalised binomial coefficients
   * (alternating in sign once i &gt; alpha + 1).
   */
  static double logAFrac(double q, double z, double alpha) {
    double logQ = Math.log(q);
    double log1mQ = Math.log1p(-q);
    double twoZ2 = 2 * z * z;
    double sqrt2Z = Math.sqrt(2) * z;
    double z0 = z * z * Math.log(1 / q - 1) + 0.5;
    double logHalf = Math.log(0.5);
    double a0 = Double.NEGATIVE_INFINITY;
    double a1 = Double.NEGATIVE_INFINITY;
    double logAbsBinom = 0; // log |C(alpha, i)|
    boolean positive = true; // sign of C(alpha, i)
    for (int i = 0; ; i++) {
      if (i > 0) {
        double factor = (alpha - i + 1) / i;
        logAbsBinom += Math.log(Math.abs(factor));
        if (factor < 0) {
          positive = !positive;
        }
      }
      double j = alpha - i;
      double t0 = logAbsBinom + i * logQ + j * log1mQ;
      double t1 = logAbsBinom + j * logQ + i * log1mQ;
      double e0 = logHalf + logErfc((i - z0) / sqrt2Z);
      double e1 = logHalf + logErfc((z0 - j) / sqrt2Z);
      double s0 = t0 + ((double) i * i - i) / twoZ2 + e0;
      double s1 = t1 + (j * j - j) / twoZ2 + e1;
      if (positive) {
        a0 = logAdd(a0, s0);
        a1 = logAdd(a1, s1);
      } else {
        a0 = logSub(a0, s0);
        a1 = logSub(a1, s1);
      }
      if (Math.max(s0, s1) < -30) {
        return logAdd(a0, a1);
      }
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Log-space arithmetic and log(erfc).

  /** log(e^a + e^b). */
  static double logAdd(double a, double b) {
    double lo = Math.min(a, b);
    double hi = Math.max(a, b);
    if (lo == Double.NEGATIVE_INFINITY) {
      return hi;
    }
    return hi + Math.log1p(Math.exp(lo - hi));
  }

  /** log(e^a - e^b) for a &gt;= b (-infinity when equal). */
  static double logSub(double a, double b) {
    if (a < b) {
      throw new ArithmeticException("RDP series: log-space subtraction would be negative (" + a + " - " + b + ")");
    }
    if (b == Double.NEGATIVE_INFINITY) {
      return a;
    }
    if (a == b) {
      return Double.NEGATIVE_INFINITY;
    }
    return b + Math.log(Math.expm1(a - b));
  }

  private static final double LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

  /**
   * log(erfc(x)) to near double precision for all x: for x &lt; 0, log(2 - erfc(-x)); for
   * 0 &lt;= x &lt; 2, log(1 - erf(x)) with erf from its everywhere-positive series
   * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*..*(2n+1)); for x &gt;= 2, the
   * continued fraction erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ..)))),
   * kept in log space so it never underflows.
   */
  static double logErfc(double x) {
    if (Double.isNaN(x)) {
      return Double.NaN;
    }
    if (x < 0) {
      return Math.log(2 - erfcNonNegative(-x));
    }
    if (x < 2) {
      return Math.log1p(-erfSeries(x));
    }
    return -x * x - LOG_SQRT_PI + Math.log(erfcContinuedFraction(x));
  }

  /** erfc(x) for x &gt;= 0 (may underflow to 0 for x &gt; 27). */
  private static double erfcNonNegative(double x) {
    if (x < 2) {
      return 1 - erfSeries(x);
    }
    return Math.exp(-x * x - LOG_SQRT_PI) * erfcContinuedFraction(x);
  }

  /** erf(x) for 0 &lt;= x &lt; 2 (about 40 terms at x = 2). */
  private static double erfSeries(double x) {
    double x2 = x * x;
    double term = x;
    double sum = x;
    for (int n = 1; n < 200; n++) {
      term *= 2 * x2 / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) {
        break;
      }
    }
    return 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
  }

  /**
   * The continued fraction 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ..)))) for x &gt;= 2, by the
   * modified Lentz method; erfc(x) = e^{-x^2}/sqrt(pi) times this.
   */
  private static double erfcContinuedFraction(double x) {
    final double tiny = 1e-300;
    double f = x;
    double c = x;
    double d = 0;
    for (int n = 1; n < 500; n++) {
      double a = n / 2.0;
      d = x + a * d;
      d = d == 0 ? tiny : d;
      c = x + a / c;
      c = c == 0 ? tiny : c;
      d = 1 / d;
      double delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) {
        break;
      }
    }
    return 1 / f;
  }

  private static double[] buildTfPrivacyOrders() {
    double[] head = {1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5};
    double[] o = new double[head.length + 59 + 3];
    System.arraycopy(head, 0, o, 0, head.length);
    int k = head.length;
    for (int a = 5; a < 64; a++) o[k++] = a;
    o[k++] = 128;
    o[k++] = 256;
    o[k] = 512;
    return o;
  }

  private static double[] buildOpacusOrders() {
    double[] o = new double[99 + 52];
    int k = 0;
    for (int x = 1; x < 100; x++) o[k++] = 1 + x / 10.0;
    for (int a = 12; a < 64; a++) o[k++] = a;
    return o;
  }

  @Override
  public String toString() {
    return "RdpAccountant(" + orders.length + " orders from " + orders[0] + " to " + orders[orders.length - 1] + ")";
  }
}
