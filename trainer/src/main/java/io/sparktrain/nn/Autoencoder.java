package io.sparktrain.nn;

import java.util.Arrays;

/**
 * The autoencoder of a network's hidden layers, for self-supervised pretraining: the encoder is the
 * network's hidden layers (same units and activations, no dropout), the decoder mirrors them back to
 * the input width, and an identity output layer reconstructs the D features under mean squared error.
 * A 784-256-128-10 classifier gives 784-256 relu-128 relu-256 relu-784 identity.
 *
 * <p>The encoder's parameters are laid out exactly as the network's first layers (kernel, bias, layer
 * by layer, from offset 0), so {@link #initialParams} copies them across as one block. With the same
 * seed the autoencoder's encoder starts where the network's hidden layers would.
 */
public final class Autoencoder {
  private Autoencoder() {
  }

  /**
   * The mirrored autoencoder of {@code network}'s hidden layers.
   *
   * @throws IllegalArgumentException when the network has no hidden layer or has embedding tables
   */
  public static Network of(Network network) {
    int hidden = network.depth() - 1;
    if (hidden < 1) {
      throw new IllegalArgumentException("pretraining: expected a network with at least one hidden layer (the"
          + " encoder), found " + network);
    }
    if (network.categorical() > 0) {
      throw new IllegalArgumentException("pretraining: expected numeric features only, found " + network.categorical()
          + " categorical columns (embedding tables are not pretrained) in " + network);
    }
    Network.Builder b = Network.builder(network.inputs());
    for (int l = 0; l < hidden; l++) {
      b.dense(network.layer(l).units(), network.layer(l).activation());
    }
    for (int l = hidden - 2; l >= 0; l--) {
      b.dense(network.layer(l).units(), network.layer(l).activation());
    }
    return b.dense(network.inputs(), Activation.IDENTITY).loss(Loss.MSE).build();
  }

  /** How many floats of {@code network}'s parameters the encoder covers: its hidden layers' kernels and biases. */
  public static int encoderSize(Network network) {
    return network.layout().kernel(network.depth() - 1).offset();
  }

  /**
   * {@code network}'s starting parameters after pretraining: its hidden layers from the autoencoder's
   * encoder ({@code autoencoderParams}, of {@link #of}(network)), its output layer fresh from
   * {@code seed} ({@link Network#initParameters}), as a new array.
   */
  public static float[] initialParams(Network network, float[] autoencoderParams, long seed) {
    Network ae = of(network);
    ae.layout().check(autoencoderParams, "autoencoder parameters");
    int n = encoderSize(network);
    if (encoderSize(ae) < n) {
      throw new IllegalStateException("autoencoder " + ae + ": its encoder is smaller than " + network + "'s");
    }
    float[] p = network.initParameters(seed);
    System.arraycopy(autoencoderParams, 0, p, 0, n);
    return p;
  }

  /** The encoder's part of {@code params} of {@code network} (its hidden layers), as a new array. */
  public static float[] encoder(Network network, float[] params) {
    return Arrays.copyOf(params, encoderSize(network));
  }
}
