package io.sparktrain.federated;

import java.io.Serializable;

/**
 * A silo's compressed upload: what travels to the server instead of the float32 delta.
 *
 * <p>Made by a {@link Compression} (which one, and whether with error feedback, is configuration:
 * {@code federated.compression}) in the silo's task, serialized into the task result, and decoded
 * on the driver by {@link FederatedTrainer}. Three families, each immutable:
 * <ul>
 *   <li>{@link QuantizedUpdate}: b-bit unbiased stochastic quantization, b in {8, 4, 2}, codes
 *       bit-packed, one (min, step) per chunk;</li>
 *   <li>{@link SignUpdate}: the sign of each value and one scale (mean |x|) per chunk; biased, meant
 *       with error feedback (Karimireddy et al. 2019);</li>
 *   <li>{@link TopKUpdate}: the k largest values by magnitude with their indices; biased.</li>
 * </ul>
 * A compressed update is a function of the input vector and a seed only, so a retried task sends
 * the identical bytes. {@link #payloadBytes()} is what the encoding needs on the wire (the length of
 * the vector and the method are known to the server from the configuration);
 * {@link #float32Bytes()} is the size it replaces.
 */
public interface CompressedUpdate extends Serializable {
  /** The number of values of the vector it encodes. */
  int length();

  /** The decoded vector (a fresh array the caller may modify). */
  float[] decode();

  /** Payload size in bytes: codes (bit-packed), per-chunk headers, indices and values, as the method needs. */
  long payloadBytes();

  /** The size of the uncompressed float32 vector: 4 bytes per value. */
  default long float32Bytes() {
    return 4L * length();
  }
}
