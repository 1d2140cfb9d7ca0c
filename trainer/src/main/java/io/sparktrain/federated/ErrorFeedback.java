package io.sparktrain.federated;

/**
 * Error feedback for compressed updates (Seide, Fu, Droppo, Li, Yu 2014, "1-Bit Stochastic Gradient
 * Descent and its Application to Data-Parallel Distributed Training of Speech DNNs", Interspeech;
 * Karimireddy, Rebjock, Stich, Jaggi 2019, "Error Feedback Fixes SignSGD and other Gradient
 * Compression Schemes", ICML): what compression lost in one round is added to the next round's
 * delta, so the sum of everything sent tracks the sum of the true deltas to within the current
 * residual, instead of drifting.
 *
 * <p>Per round: corrected = delta + residual; sent = C(corrected); residual = corrected - decode(sent),
 * for any {@link Compression} C. So, over the rounds a silo is sampled in, the sum of what it sent
 * plus its current residual equals the sum of its true deltas exactly (up to float rounding). For
 * unbiased quantization this only reduces the drift of the sum; for the biased compressors (scaled
 * sign, top-k) it is what makes them converge (Karimireddy et al. 2019; Stich et al. 2018). One
 * instance per silo, kept across rounds (its residual is silo state, like an optimizer's). Not
 * thread-safe.
 */
public final class ErrorFeedback {
  private final float[] residual;
  private final int chunkSize;

  /** Error feedback for vectors of {@code length} values, quantized in chunks of {@code chunkSize}. */
  public ErrorFeedback(int length, int chunkSize) {
    if (length < 0 || chunkSize <= 0) {
      throw new IllegalArgumentException("error feedback: expected length >= 0 and chunk size > 0, found "
          + length + " and " + chunkSize);
    }
    this.residual = new float[length];
    this.chunkSize = chunkSize;
  }

  /** Quantizes delta + residual with {@code seed} and keeps the new residual; {@code delta} is not modified. */
  public QuantizedUpdate compress(float[] delta, long seed) {
    return compress(delta, residual, chunkSize, seed);
  }

  /**
   * One step of error feedback on a residual held elsewhere (a silo's, kept on its executor by
   * {@link SiloResiduals}): quantizes delta + residual with {@code seed} and overwrites
   * {@code residual} with delta + residual - dequantize(sent). {@code delta} is not modified. The
   * result is a function of (delta, residual, chunkSize, seed) only, so a retried task that starts
   * from the same residual sends the same bytes and leaves the same residual.
   */
  public static QuantizedUpdate compress(float[] delta, float[] residual, int chunkSize, long seed) {
    if (delta.length != residual.length) {
      throw new IllegalArgumentException("error feedback: expected a delta of " + residual.length
          + " values, found " + delta.length);
    }
    float[] corrected = new float[delta.length];
    for (int i = 0; i < delta.length; i++) corrected[i] = delta[i] + residual[i];
    QuantizedUpdate q = QuantizedUpdate.quantize(corrected, chunkSize, seed);
    float[] sent = q.dequantize();
    for (int i = 0; i < delta.length; i++) residual[i] = corrected[i] - sent[i];
    return q;
  }

  /**
   * As {@link #compress(float[], float[], int, long)} with any compression method {@code c} (its
   * error-feedback flag is not read): sends c(delta + residual) and overwrites {@code residual} with
   * delta + residual - decode(sent). For int8 the same bytes as the int8 form with chunk
   * {@link Compression#CHUNK}.
   */
  public static CompressedUpdate compress(float[] delta, float[] residual, Compression c, long seed) {
    if (delta.length != residual.length) {
      throw new IllegalArgumentException("error feedback: expected a delta of " + residual.length
          + " values, found " + delta.length);
    }
    float[] corrected = new float[delta.length];
    for (int i = 0; i < delta.length; i++) corrected[i] = delta[i] + residual[i];
    CompressedUpdate q = c.compress(corrected, seed);
    float[] sent = q.decode();
    for (int i = 0; i < delta.length; i++) residual[i] = corrected[i] - sent[i];
    return q;
  }

  /** The current residual (a copy). */
  public float[] residual() {
    return residual.clone();
  }
}
