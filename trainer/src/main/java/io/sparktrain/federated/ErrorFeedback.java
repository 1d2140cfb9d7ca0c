package io.sparktrain.federated;

/**
 * Error feedback for compressed updates (Seide, Fu, Droppo, Li, Yu 2014, "1-Bit Stochastic Gradient
 * Descent and its Application to Data-Parallel Distributed Training of Speech DNNs", Interspeech;
 * Karimireddy, Rebjock, Stich, Jaggi 2019, "Error Feedback Fixes SignSGD and other Gradient
 * Compression Schemes", ICML): what compression lost in one round is added to the next round's
 * delta, so the sum of everything sent tracks the sum of the true deltas to within the current
 * residual, instead of drifting.
 *
 * <p>Per round: corrected = delta + residual; sent = quantize(corrected);
 * residual = corrected - dequantize(sent). One instance per silo, kept across rounds (its residual
 * is silo state, like an optimizer's). Not thread-safe.
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

  /** The current residual (a copy). */
  public float[] residual() {
    return residual.clone();
  }
}
