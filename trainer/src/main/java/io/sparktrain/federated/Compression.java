package io.sparktrain.federated;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a sampled silo compresses its upload ({@code federated.compression}): none (float32),
 * b-bit stochastic quantization ({@link QuantizedUpdate}, b = 8, 4, 2), scaled sign
 * ({@link SignUpdate}) or top-k sparsification ({@link TopKUpdate}), each optionally with error
 * feedback ({@link ErrorFeedback}: the silo keeps what compression lost and adds it to its next
 * upload; the residuals stay on the executors, {@link SiloResiduals}).
 *
 * <p>Spelled in configuration as {@code none}, {@code int8}, {@code int4}, {@code int2},
 * {@code sign}, {@code topk(k)} with k the fraction of values kept (0 < k <= 1), each but none with
 * an optional {@code _error_feedback} suffix ({@code int8_error_feedback}, {@code
 * topk(0.01)_error_feedback}); {@link #parse} reads it and {@link #toString} writes it back.
 * Quantization and sign work in chunks of {@link #CHUNK} values. Immutable value type.
 */
public final class Compression implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Values per chunk of quantization and sign compression: one (min, step) or one scale per chunk. */
  public static final int CHUNK = 4096;

  /** The compression method. */
  public enum Kind { NONE, QUANTIZE, SIGN, TOP_K }

  /** What {@link #parse} accepts, for error messages. */
  public static final String FORMS = "none, int8, int4, int2, sign, topk(k) with 0 < k <= 1; each but none"
      + " optionally with the suffix _error_feedback";

  private static final String EF_SUFFIX = "_error_feedback";
  private static final Pattern TOPK = Pattern.compile("topk\\(([^)]*)\\)");
  private static final Compression NONE = new Compression(Kind.NONE, 32, Double.NaN, false);

  private final Kind kind;
  private final int bits;
  private final double fraction;
  private final boolean errorFeedback;

  private Compression(Kind kind, int bits, double fraction, boolean errorFeedback) {
    this.kind = kind;
    this.bits = bits;
    this.fraction = fraction;
    this.errorFeedback = errorFeedback;
  }

  /** float32 uploads. */
  public static Compression none() {
    return NONE;
  }

  /** Unbiased stochastic quantization to {@code bits} bits (8, 4 or 2) per value. */
  public static Compression quantized(int bits) {
    if (bits != 8 && bits != 4 && bits != 2) {
      throw new IllegalArgumentException("federated.compression: expected int8, int4 or int2, found " + bits
          + " bits");
    }
    return new Compression(Kind.QUANTIZE, bits, Double.NaN, false);
  }

  /** Scaled sign: one bit per value and one scale (mean |x|) per chunk. */
  public static Compression sign() {
    return new Compression(Kind.SIGN, 1, Double.NaN, false);
  }

  /** Top-k sparsification keeping a {@code fraction} of the values (0 < fraction <= 1). */
  public static Compression topK(double fraction) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("federated.compression: expected topk(k) with 0 < k <= 1, found topk("
          + fraction + ")");
    }
    return new Compression(Kind.TOP_K, 0, fraction, false);
  }

  /**
   * This method with error feedback on or off. Error feedback without compression is representable
   * (so that {@link FederatedConfig.Builder#build()} can name it) but never valid.
   */
  public Compression withErrorFeedback(boolean v) {
    return v == errorFeedback ? this : new Compression(kind, bits, fraction, v);
  }

  /** Reads the configuration spelling ({@link #FORMS}); a bad value names the key, the forms and the value. */
  public static Compression parse(String s) {
    String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    boolean ef = v.endsWith(EF_SUFFIX);
    String method = ef ? v.substring(0, v.length() - EF_SUFFIX.length()) : v;
    Compression c = null;
    switch (method) {
      case "none": c = ef ? null : NONE; break;
      case "int8": c = quantized(8); break;
      case "int4": c = quantized(4); break;
      case "int2": c = quantized(2); break;
      case "sign": c = sign(); break;
      default: {
        Matcher m = TOPK.matcher(method);
        if (m.matches()) {
          double f;
          try {
            f = Double.parseDouble(m.group(1).trim());
          } catch (NumberFormatException e) {
            f = Double.NaN;
          }
          if (f > 0 && f <= 1) {
            c = topK(f);
          }
        }
      }
    }
    if (c == null) {
      throw new IllegalArgumentException("federated.compression: expected one of " + FORMS + ", found " + s);
    }
    return c.withErrorFeedback(ef);
  }

  public Kind kind() { return kind; }
  /** True unless uploads are float32. */
  public boolean compresses() { return kind != Kind.NONE; }
  public boolean errorFeedback() { return errorFeedback; }
  /** Quantization: bits per value. */
  public int bits() { return bits; }
  /** Top-k: the fraction of values kept (NaN for the other methods). */
  public double fraction() { return fraction; }

  /**
   * Compresses {@code x} (not modified); {@code seed} keys quantization's random rounding (sign and
   * top-k are deterministic). Not for {@link Kind#NONE}.
   */
  public CompressedUpdate compress(float[] x, long seed) {
    switch (kind) {
      case QUANTIZE: return QuantizedUpdate.quantize(x, bits, CHUNK, seed);
      case SIGN: return SignUpdate.compress(x, CHUNK);
      case TOP_K: return TopKUpdate.compress(x, fraction);
      default: throw new IllegalStateException("compression none: nothing to compress");
    }
  }

  /** The payload bytes of one upload of {@code length} values (float32 for none: 4 per value). */
  public long payloadBytes(int length) {
    switch (kind) {
      case QUANTIZE: return QuantizedUpdate.payloadBytes(length, bits, CHUNK);
      case SIGN: return SignUpdate.payloadBytes(length, CHUNK);
      case TOP_K: return length == 0 ? 0 : 8L * TopKUpdate.k(length, fraction);
      default: return 4L * length;
    }
  }

  private String method() {
    switch (kind) {
      case QUANTIZE: return "int" + bits;
      case SIGN: return "sign";
      case TOP_K: return "topk(" + trim(fraction) + ")";
      default: return "none";
    }
  }

  /** The configuration spelling: e.g. int8, topk(0.01)_error_feedback. */
  @Override
  public String toString() {
    return method() + (errorFeedback ? EF_SUFFIX : "");
  }

  /** As reported in the run's configuration map (and checkpoints): e.g. int8, int8+error_feedback. */
  public String reportName() {
    return method() + (errorFeedback ? "+error_feedback" : "");
  }

  /** Short label for tables and plots: e.g. int8, int8+EF, topk(0.01)+EF; none = float32. */
  public String label() {
    return kind == Kind.NONE ? "float32" : method() + (errorFeedback ? "+EF" : "");
  }

  private static String trim(double d) {
    String s = Double.toString(d);
    return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Compression)) {
      return false;
    }
    Compression c = (Compression) o;
    return kind == c.kind && bits == c.bits && Double.compare(fraction, c.fraction) == 0
        && errorFeedback == c.errorFeedback;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, bits, fraction, errorFeedback);
  }
}
